"""Registry webhooks: MLflow's signature checked as MLflow signs, events sorted, webhooks kept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from mlflow.webhooks.delivery import _generate_hmac_signature

from attrition.serving.registry_events import (
    EVENT_PATH,
    RegistryEventError,
    concerns,
    delivers_webhooks,
    endpoint,
    register,
    signature,
    unregister,
    verify,
)

SECRET = "webhook-secret"


def signed(event: dict[str, Any], secret: str = SECRET, sent: float | None = None) -> tuple:
    """Headers and body as MLflow's delivery builds them (its own signing function)."""
    body = json.dumps(event)
    stamp = str(int(time.time() if sent is None else sent))
    headers = {
        "X-MLflow-Delivery-Id": "d-1",
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": _generate_hmac_signature(secret, "d-1", stamp, body),
    }
    return headers, body.encode()


def alias_event(name: str = "m", alias: str = "champion", action: str = "created") -> dict:
    return {
        "entity": "model_version_alias",
        "action": action,
        "timestamp": "2026-11-30T00:00:00+00:00",
        "data": {"name": name, "alias": alias, "version": "2"},
    }


def test_our_signature_is_mlflows() -> None:
    body = b'{"a": 1}'
    assert signature(SECRET, "id", "123", body) == _generate_hmac_signature(
        SECRET, "id", "123", body.decode()
    )


def test_a_signed_event_is_read() -> None:
    headers, body = signed(alias_event())
    assert verify(SECRET, headers, body, time.time()) == alias_event()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, b: (h, b.replace(b"champion", b"challenger")), "does not match"),
        (lambda h, b: ({**h, "X-MLflow-Signature": "v1,AAAA"}, b), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if "Signature" not in k}, b), "unsigned"),
        (lambda h, b: ({**h, "X-MLflow-Timestamp": "soon"}, b), "unreadable timestamp"),
    ],
)
def test_a_tampered_or_unsigned_event_is_refused(change: Any, message: str) -> None:
    headers, body = change(*signed(alias_event()))
    with pytest.raises(RegistryEventError, match=message):
        verify(SECRET, headers, body, time.time())


def test_an_event_signed_with_another_secret_is_refused() -> None:
    headers, body = signed(alias_event(), secret="other")
    with pytest.raises(RegistryEventError, match="does not match"):
        verify(SECRET, headers, body, time.time())


def test_an_old_delivery_is_refused_as_a_replay() -> None:
    headers, body = signed(alias_event(), sent=time.time() - 3600)
    with pytest.raises(RegistryEventError, match="replay"):
        verify(SECRET, headers, body, time.time())


@pytest.mark.parametrize(
    ("event", "wanted"),
    [
        (alias_event(), True),
        (alias_event(action="deleted"), True),
        (alias_event(name="other"), False),
        (alias_event(alias="challenger"), False),
        ({**alias_event(), "entity": "model_version_tag"}, False),
        ({"entity": "model_version_alias", "data": "x"}, False),
    ],
)
def test_only_the_served_alias_concerns_a_replica(event: dict, wanted: bool) -> None:
    assert concerns(event, "m", "champion") is wanted


@pytest.mark.parametrize(
    ("uri", "delivers"),
    [
        ("http://mlflow:5000", True),
        ("https://mlflow.example.com", True),
        ("sqlite:///mlflow.db", False),
        ("postgresql://u@h/db", False),
        ("file:///tmp/mlruns", False),
    ],
)
def test_only_a_tracking_server_delivers_webhooks(uri: str, delivers: bool) -> None:
    assert delivers_webhooks(uri) is delivers


def test_a_bare_address_gets_the_event_path() -> None:
    assert endpoint("http://10.0.0.5:8000") == f"http://10.0.0.5:8000{EVENT_PATH}"
    assert endpoint("https://a.example/hooks/x") == "https://a.example/hooks/x"
    with pytest.raises(RegistryEventError, match="http"):
        endpoint("10.0.0.5:8000")


def test_a_replica_keeps_one_webhook_per_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    url = "http://127.0.0.1:8000/admin/registry-event"
    first = register(client, url, "one")
    again = register(client, url, "two")  # a restart: same address, new secret
    other = register(client, "http://127.0.0.1:8001/admin/registry-event", "three")
    hooks = {h.webhook_id: h for h in client.list_webhooks()}
    assert first == again and set(hooks) == {first, other}
    assert {e.entity.value for e in hooks[first].events} == {"model_version_alias"}
    assert {e.action.value for e in hooks[first].events} == {"created", "deleted"}
    unregister(client, first)
    assert [h.webhook_id for h in client.list_webhooks()] == [other]
