"""A plain ASGI middleware: request-size limit plus request count and latency metrics.

Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs a task and
a stream per request: here the per-request overhead is a few microseconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from attrition.serving.metrics import ServingMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body exceeded the configured limit while streaming in."""


class ServingMiddleware:
    """Reject bodies over `max_body_bytes` with 413; count and time every request.

    Args:
        app: the wrapped ASGI app.
        metrics: where counts and latencies go.
        max_body_bytes: largest accepted request body.
        paths: route paths reported as themselves; any other path is reported as `other`
            (keeps the metric's label set small whatever clients send).
        limits: other body limits for particular paths (e.g. a file upload).
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServingMetrics,
        max_body_bytes: int,
        paths: frozenset[str],
        limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.paths = paths
        self.limits = limits or {}
        self._children: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"] if scope["path"] in self.paths else "other"
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        limit = self.limits.get(scope["path"], self.max_body_bytes)
        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await self._too_large(send_wrapper, limit)
                return
            received = 0

            async def receive_wrapper() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge()
                return message

            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except BodyTooLarge:
                if response_started:
                    raise
                await self._too_large(send_wrapper, limit)
        finally:
            self._observe(scope["method"], path, status, time.perf_counter() - started)

    async def _too_large(self, send: Send, limit: int) -> None:
        body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _observe(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        counter = self._children.get(key)
        if counter is None:
            counter = self.metrics.requests.labels(method, path, str(status))
            self._children[key] = counter
        counter.inc()
        histogram = self._latency.get(path)
        if histogram is None:
            histogram = self.metrics.latency.labels(path)
            self._latency[path] = histogram
        histogram.observe(seconds)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
