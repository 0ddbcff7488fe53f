"""The monitoring webhook against a real local HTTP server: sent, refused, dead, slow, malformed."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime

import pytest
from tests.monitor.conftest import Receiver

from attrition.monitor.webhook import post_webhook


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_summary_is_posted_as_json(receiver: Receiver) -> None:
    when = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    payload = {"decision": "alert", "exit_code": 2, "when": when}
    result = post_webhook(receiver.url("/ok"), payload, timeout=5)
    assert result == {"host": receiver.host, "sent": True, "status": 204, "error": None}
    ((path, headers, body),) = receiver.received
    assert path == "/ok"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "attrition-monitor"
    sent = json.loads(body)
    assert sent["decision"] == "alert" and sent["exit_code"] == 2
    assert sent["when"] == str(when)  # not JSON-native: sent as its text


def test_an_error_status_is_reported_not_raised(receiver: Receiver) -> None:
    result = post_webhook(receiver.url("/fail"), {"decision": "alert"}, timeout=5)
    assert result == {"host": receiver.host, "sent": False, "status": 500, "error": "HTTP 500"}


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    started = time.perf_counter()
    result = post_webhook(receiver.url("/slow"), {"decision": "alert"}, timeout=0.2)
    assert time.perf_counter() - started < 0.9
    assert result["sent"] is False and result["status"] is None
    assert "timed out" in result["error"]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:{closed}/hook", "127.0.0.1:"),
        ("not a url", "not a url"),
        ("ftp://example.invalid/hook", "example.invalid"),
    ],
    ids=["refused", "no scheme", "other scheme"],
)
def test_an_unreachable_or_malformed_url_is_reported(url: str, host: str) -> None:
    result = post_webhook(url.format(closed=_closed_port()), {"decision": "alert"}, timeout=2)
    assert result["sent"] is False and result["status"] is None
    assert result["host"].startswith(host)
    assert result["error"]
