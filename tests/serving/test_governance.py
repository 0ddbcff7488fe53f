"""Governance where models are used: the four bypasses with plain MLflow, against the real
manager in the app, `attrition models verify`, `rollback`, `predict` and `monitor`.

Every version here is real (SQLite store, loadable models); the bypasses use a plain
`MlflowClient`, as someone with write access to the store would.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient
from tests.api.helpers import make_app
from tests.serving.fixtures import ServingStore, employee_rows, promote_to_champion
from typer.testing import CliRunner

from attrition.cli import app as cli_app
from attrition.registry.audit import SUMMARY_TAG, TRAIL_ARTIFACT

pytestmark = [
    pytest.mark.xdist_group("serving-store"),
    pytest.mark.filterwarnings("ignore:.*transition_model_version_stage:FutureWarning"),
]


@dataclass
class Lifecycle:
    """v1 and v2 went through the gates (v2 is the champion, v1 its rollback target);
    v3 was never gated."""

    name: str
    v1: str
    v2: str
    v3: str
    uri: str

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


@pytest.fixture
def lifecycle(store: ServingStore) -> Lifecycle:
    name, v = store.copy_model(("good", "other"))
    source, run_id = store.source(store.versions["good"])
    v3 = store.client.create_model_version(
        name, source=source, run_id=run_id, tags={"attrition.run_id": run_id or ""}
    )
    promote_to_champion(store.client, name, v["good"])
    promote_to_champion(store.client, name, v["other"])
    return Lifecycle(name, v["good"], v["other"], str(v3.version), store.uri)


@pytest.fixture
def cli(store: ServingStore, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def attrition(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(cli_app, list(args))
    return result.exit_code, result.stdout + result.stderr


def edit_trail(lc: Lifecycle, version: str, change: Callable[[dict], dict | None]) -> None:
    """Rewrite one version's records in its run's trail artifact (None drops a record)."""
    run_id = lc.client.get_model_version(lc.name, version).run_id
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(lc.client.download_artifacts(run_id, TRAIL_ARTIFACT, tmp)).read_text()
    kept = []
    for line in lines.splitlines():
        record = json.loads(line)
        if record["model"] == lc.name and record["version"] == version:
            record = change(record)
        if record is not None:
            kept.append(json.dumps(record, sort_keys=True))
    lc.client.log_text(run_id, "\n".join(kept) + "\n", TRAIL_ARTIFACT)


def alias_bypass(lc: Lifecycle) -> str:
    lc.client.set_registered_model_alias(lc.name, "champion", lc.v3)
    return f"version {lc.v3}: @champion is on it but it is in None"


def stage_bypass(lc: Lifecycle) -> str:
    lc.client.transition_model_version_stage(lc.name, lc.v3, "Production")
    return f"version {lc.v3}: stage Production is not backed"


def tag_bypass(lc: Lifecycle) -> str:
    c = lc.client
    c.set_model_version_tag(lc.name, lc.v2, "attrition.review", "approved")
    c.set_model_version_tag(lc.name, lc.v2, "attrition.rollback_target", lc.v3)
    c.transition_model_version_stage(lc.name, lc.v3, "Archived")
    for tag, value in {
        "attrition.stage_gate": "passed",
        "attrition.production_gate": "passed",
        "attrition.left_production_at": "2099-01-01T00:00:00+00:00",
    }.items():
        c.set_model_version_tag(lc.name, lc.v3, tag, value)
    return f"version {lc.v2}: tag attrition.review=approved contradicts the trail"


def trail_bypass(lc: Lifecycle) -> str:
    lc.client.delete_model_version_tag(lc.name, lc.v2, SUMMARY_TAG)
    edit_trail(lc, lc.v1, lambda r: {**r, "reason": "nothing to see"} if r["seq"] == 1 else r)
    return f"version {lc.v2}: the summary tag attrition.audit has no chain head"


BYPASSES = {"alias": alias_bypass, "stage": stage_bypass, "tag": tag_bypass, "trail": trail_bypass}
# Whom `rollback` must refuse, and why, right after each bypass (None: it restores v1).
REFUSED = {
    "alias": None,
    "stage": None,
    "tag": ("v3", "stage Archived is not backed"),
    "trail": ("v1", "record 1 was edited"),
}


@pytest.fixture
def serving(lifecycle: Lifecycle, store: ServingStore, tmp_path: Path) -> Iterator[TestClient]:
    app, _ = make_app(store, lifecycle.name, tmp_path)
    with TestClient(app) as client:
        assert client.get("/ready").json()["model_version"] == lifecycle.v2
        yield client


@pytest.mark.parametrize("bypass", sorted(BYPASSES))
def test_a_bypass_is_not_served_is_reported_and_is_not_restored(
    bypass: str, lifecycle: Lifecycle, serving: TestClient, cli: CliRunner
) -> None:
    lc = lifecycle
    code, text = attrition(cli, "models", "verify", "--name", lc.name)
    assert code == 0, text

    finding = BYPASSES[bypass](lc)

    assert serving.post("/admin/reload").json()["outcome"] in ("refused", "unchanged")
    ready = serving.get("/ready").json()
    assert ready["ready"] is True and ready["model_version"] == lc.v2
    assert ready["governance"]["verified"] is False or ready["governance"]["registry_findings"]
    assert ready["reason"] and ready["reason"] != "verified"
    info = serving.get("/model-info").json()
    assert info["version"] == lc.v2 and info["governance"]["served_reason"] == ready["reason"]
    assert serving.post("/predict", json=employee_rows(1)[0]).json()["model_version"] == lc.v2
    assert "attrition_governance_alerts_total 1.0" in serving.get("/metrics").text

    code, text = attrition(cli, "models", "verify", "--model-name", lc.name)
    assert code == 1 and finding in text, text
    code, text = attrition(cli, "models", "describe", "--name", lc.name)
    assert code == 0 and "UNVERIFIED" in text, text

    code, text = attrition(cli, "models", "rollback", "--name", lc.name, "--reason", "incident")
    refused = REFUSED[bypass]
    if refused is None:
        assert code == 0 and f"version {lc.v1} is back in Production" in text, text
    else:
        who, why = refused
        number = getattr(lc, who)
        assert code == 1 and f"refusing to restore version {number}" in text and why in text
        stages = {
            str(mv.version): mv.current_stage
            for mv in lc.client.search_model_versions(f"name='{lc.name}'")
        }
        assert stages[lc.v2] == "Production"  # nothing moved


def test_rollback_after_a_second_production_version_never_restores_it(
    lifecycle: Lifecycle, cli: CliRunner
) -> None:
    lc = lifecycle
    stage_bypass(lc)
    code, text = attrition(cli, "models", "rollback", "--name", lc.name, "--reason", "one")
    assert code == 0 and f"version {lc.v1} is back in Production" in text, text
    code, text = attrition(cli, "models", "rollback", "--name", lc.name, "--reason", "two")
    assert code == 1, text
    assert f"refusing to restore version {lc.v3}" in text
    assert "no applied Production transition" in text


def test_at_startup_an_unverified_champion_is_not_loaded_unless_the_hatch_is_open(
    lifecycle: Lifecycle, store: ServingStore, tmp_path: Path
) -> None:
    alias_bypass(lifecycle)
    app, _ = make_app(store, lifecycle.name, tmp_path / "strict")
    with TestClient(app) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["reason"].startswith(f"not loaded: version {lifecycle.v3} is not")
    app, _ = make_app(store, lifecycle.name, tmp_path / "hatch", serve_unverified=True)
    with TestClient(app) as client:
        ready = client.get("/ready").json()
        assert ready["model_version"] == lifecycle.v3
        assert ready["governance"]["enforced"] is False
        assert f"version {lifecycle.v3} is not verified" in ready["reason"]


def test_a_hand_set_stage_gate_does_not_pass_the_production_gate(
    lifecycle: Lifecycle, cli: CliRunner
) -> None:
    lc = lifecycle
    lc.client.transition_model_version_stage(lc.name, lc.v3, "Staging")
    lc.client.set_model_version_tag(lc.name, lc.v3, "attrition.stage_gate", "passed")
    code, text = attrition(
        cli,
        "models",
        "transition-stage",
        "--name",
        lc.name,
        "--version",
        lc.v3,
        "--stage",
        "Production",
    )
    assert code == 1 and "refused: production.staging_record" in text, text
    assert "Staging/unverified" in text


def test_predict_and_monitor_refuse_an_unverified_champion(
    lifecycle: Lifecycle, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attrition.config import Settings
    from attrition.errors import RegistryError
    from attrition.monitor.checks import open_champion

    lc = lifecycle
    monkeypatch.setenv("ATTRITION_MODEL_NAME", lc.name)
    rows = tmp_path / "rows.csv"
    pd.DataFrame(employee_rows(5)).to_csv(rows, index=False)
    code, text = attrition(
        cli, "predict", "--input", str(rows), "--output", str(tmp_path / "a.csv")
    )
    assert code == 0, text
    alias_bypass(lc)
    code, text = attrition(
        cli, "predict", "--input", str(rows), "--output", str(tmp_path / "b.csv")
    )
    assert code == 1 and f"refusing to score with the champion: version {lc.v3}" in text, text
    assert len(text.strip().splitlines()) == 1
    code, text = attrition(
        cli,
        "predict",
        "--input",
        str(rows),
        "--output",
        str(tmp_path / "c.csv"),
        "--version",
        lc.v3,
    )
    assert code == 0 and "scoring it because --version asked for it" in text, text
    with pytest.raises(RegistryError, match=f"refusing to monitor the champion: version {lc.v3}"):
        open_champion(Settings())
    code, text = attrition(cli, "doctor")
    assert code == 1 and "champion governance" in text, text


def test_the_cli_lifecycle_verifies_clean(lifecycle: Lifecycle, cli: CliRunner) -> None:
    """Staging, Production, forced with a reason, review, rollback: all through the CLI."""
    lc = lifecycle
    first = lc.client.get_model_version(lc.name, lc.v1)
    source, run_id = first.source, first.run_id
    v4 = str(
        lc.client.create_model_version(
            lc.name, source=source, run_id=run_id, tags={"attrition.run_id": run_id or ""}
        ).version
    )
    base = ("--name", lc.name, "--version", v4)
    for stage in ("Staging", "Production"):
        code, text = attrition(
            cli,
            "models",
            "transition-stage",
            *base,
            "--stage",
            stage,
            "--force",
            "--reason",
            "pilot",
        )
        assert code == 0, text
    code, text = attrition(cli, "models", "rollback", "--name", lc.name, "--reason", "drill")
    assert code == 0 and f"version {lc.v2} is back" in text, text
    code, text = attrition(cli, "models", "verify", "--name", lc.name)
    assert code == 0, text
    assert f"ok   version {v4}: verified" in text and "FAIL" not in text
    code, text = attrition(cli, "models", "describe", "--name", lc.name)
    assert code == 0 and "UNVERIFIED" not in text and "verified" in text, text
