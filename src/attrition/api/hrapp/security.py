"""Access and safety of the HR app: sign-in sessions, CSRF tokens and security headers.

With `ATTRITION_API_KEY` set, a person signs in by entering the key once and gets
a signed, time-limited session cookie (HttpOnly, SameSite=Strict); every server
process derives the same signing secret from the key, so no extra secret is
configured. Every form and every JSON call that changes or computes something
carries a CSRF token that must match the token cookie (double submit). Every
answer under `/app` carries a strict Content-Security-Policy: scripts and styles
come only from the app's own static files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from fastapi import HTTPException, Request, Response, status
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "attrition_session"
CSRF_COOKIE = "attrition_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 8 * 3600
PREFIX = "/app"

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        b"object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
NO_STORE = (b"cache-control", b"no-store")


def _serializer(api_key: str) -> URLSafeTimedSerializer:
    secret = hashlib.sha256(b"attrition-app-session\0" + api_key.encode()).hexdigest()
    return URLSafeTimedSerializer(secret, salt="attrition-app")


def key_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of an entered key with the configured one."""
    return hmac.compare_digest(given.encode(), expected.encode())


def session_token(api_key: str) -> str:
    """A signed session token for a person who entered the right key."""
    return str(_serializer(api_key).dumps({"signed_in": True}))


def signed_in(request: Request, api_key: str | None) -> bool:
    """Whether the request may see the app: no key configured, or a valid session cookie."""
    if not api_key:
        return True
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False
    try:
        data = _serializer(api_key).loads(token, max_age=SESSION_SECONDS)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(data, dict) and data.get("signed_in") is True


def set_session(response: Response, request: Request, api_key: str) -> None:
    """Give the browser its session cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        session_token(api_key),
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one the response must set."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) == 64:
        return token
    token = getattr(request.state, "new_csrf", None) or secrets.token_hex(32)
    request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie on `response` when this request created the token."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def check_csrf(request: Request, sent: str | None) -> None:
    """403 unless `sent` (form field or header) equals the CSRF cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="the form's security token is missing or stale: reload the page and retry",
        )


Scope = MutableMapping[str, Any]


class SecurityHeaders:
    """Adds the security headers to every answer under `/app` (pages are also not cached)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if not static:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
