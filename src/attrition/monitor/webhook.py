"""POST the monitoring summary to a webhook: a failure is reported, never raised.

A dead or slow receiver must not turn an alert into a failed job, so every
outcome, sent or not, comes back as a small JSON-safe record for the summary.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx

USER_AGENT = "attrition-monitor"


def post_webhook(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST `payload` as JSON; returns host, whether it was sent, the HTTP status and any error.

    A response outside 2xx counts as not sent (`error` is `HTTP <status>`); an
    unreachable host, a timeout or a malformed URL gives `status` None and the
    reason as `error`. Redirects are not followed.
    """
    host = urllib.parse.urlsplit(url).netloc or url
    body = json.dumps(payload, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return {
            "host": host,
            "sent": False,
            "status": None,
            "error": str(exc) or type(exc).__name__,
        }
    if not response.is_success:
        code = response.status_code
        return {"host": host, "sent": False, "status": code, "error": f"HTTP {code}"}
    return {"host": host, "sent": True, "status": response.status_code, "error": None}
