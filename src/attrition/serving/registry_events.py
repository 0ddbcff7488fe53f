"""Registry webhooks: MLflow tells each server replica at once that the champion moved.

An MLflow tracking server (not a client writing straight to a database: delivery
happens in the server's request handlers) POSTs a signed event to every active
webhook when a model version alias is set or removed. A replica registers its own
address for those events, checks each delivery's HMAC signature and re-checks the
registry right away instead of at its next poll. The poll stays: it covers stores
that deliver nothing, failed deliveries and the server's cached webhook list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attrition.errors import ServingError

EVENT_PATH = "/admin/registry-event"
MAX_AGE_S = 300  # older deliveries (or clocks further apart) are refused as replays
ALIAS_ENTITY = "model_version_alias"
DELIVERING_SCHEMES = ("http", "https")


class RegistryEventError(ServingError):
    """A registry event that cannot be trusted or read."""


def delivers_webhooks(tracking_uri: str) -> bool:
    """Whether the registry at `tracking_uri` sends webhooks (only a tracking server does)."""
    return urlsplit(tracking_uri).scheme.lower() in DELIVERING_SCHEMES


def endpoint(url: str) -> str:
    """The event URL for `url`: a bare server address gets `/admin/registry-event`."""
    parts = urlsplit(url)
    if parts.scheme not in DELIVERING_SCHEMES or not parts.hostname:
        raise RegistryEventError(f"webhook URL must be http(s)://HOST[:PORT][/PATH], got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=EVENT_PATH)
    return urlunsplit(parts)


def signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The `X-MLflow-Signature` value MLflow sends: `v1,` + base64 HMAC-SHA256 of id.time.body."""
    signed = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> dict[str, Any]:
    """The event in `body` once its signature and age check out; `RegistryEventError` if not."""
    from mlflow.webhooks.constants import (
        WEBHOOK_DELIVERY_ID_HEADER,
        WEBHOOK_SIGNATURE_HEADER,
        WEBHOOK_TIMESTAMP_HEADER,
    )

    delivery_id = headers.get(WEBHOOK_DELIVERY_ID_HEADER)
    timestamp = headers.get(WEBHOOK_TIMESTAMP_HEADER)
    sent = headers.get(WEBHOOK_SIGNATURE_HEADER)
    if not (delivery_id and timestamp and sent):
        raise RegistryEventError("unsigned registry event")
    try:
        age = now - int(timestamp)
    except ValueError:
        raise RegistryEventError("registry event with an unreadable timestamp") from None
    if abs(age) > MAX_AGE_S:
        raise RegistryEventError(f"registry event sent {age:.0f} s ago: refused as a replay")
    expected = signature(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise RegistryEventError("registry event signature does not match the webhook secret")
    try:
        event = json.loads(body)
    except ValueError:
        raise RegistryEventError("registry event body is not JSON") from None
    if not isinstance(event, dict):
        raise RegistryEventError("registry event body is not a JSON object")
    return event


def concerns(event: Mapping[str, Any], model_name: str, alias: str) -> bool:
    """Whether `event` sets or removes `alias` of `model_name` (what a replica serves)."""
    data = event.get("data")
    return (
        event.get("entity") == ALIAS_ENTITY
        and isinstance(data, Mapping)
        and data.get("name") == model_name
        and data.get("alias") == alias
    )


def webhook_name(url: str) -> str:
    """A stable webhook name per replica address (MLflow allows 63 characters)."""
    return "attrition-serve-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def register(client: Any, url: str, secret: str) -> str:
    """Subscribe `url` to alias changes with `secret`, reusing its earlier webhook; the id."""
    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent, WebhookStatus

    events = [
        WebhookEvent(WebhookEntity.MODEL_VERSION_ALIAS, WebhookAction.CREATED),
        WebhookEvent(WebhookEntity.MODEL_VERSION_ALIAS, WebhookAction.DELETED),
    ]
    description = "attrition serve: re-check the served alias at once"
    for hook in _webhooks(client):
        if hook.url == url:
            client.update_webhook(
                hook.webhook_id,
                events=events,
                secret=secret,
                status=WebhookStatus.ACTIVE,
                description=description,
            )
            return str(hook.webhook_id)
    created = client.create_webhook(
        name=webhook_name(url), url=url, events=events, secret=secret, description=description
    )
    return str(created.webhook_id)


def unregister(client: Any, webhook_id: str) -> None:
    """Remove a replica's webhook (at shutdown: MLflow stops calling a server that is gone)."""
    client.delete_webhook(webhook_id)


def _webhooks(client: Any) -> list[Any]:
    found: list[Any] = []
    token = None
    while True:
        page = client.list_webhooks(max_results=100, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found
