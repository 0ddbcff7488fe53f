"""A team through `attrition server`: roles hold against plain MLflow calls and the CLI,
the gated lifecycle works end to end as the right members, artifacts land in S3."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from tests.team.conftest import BUCKET, READER, TeamServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.xdist_group("team_server"),
    pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning"),
]

MODEL = "employee_attrition_model"
POLICY = "assistive"


def client_as(server: TeamServer, user: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    for key, value in server.env(user).items():
        if key.startswith(("MLFLOW_", "AWS_")):
            monkeypatch.setenv(key, value)
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


@pytest.fixture(scope="module")
def released(team_server: TeamServer) -> dict[str, Any]:
    """Train as the trainer, Staging as the releaser, review as the reviewer, Production as
    the releaser; each step's wall time, and the trainer's refused attempt at Staging."""
    from attrition.data.generate import generate_employees

    steps: dict[str, Any] = {"seconds": {}}
    generate_employees(1500, seed=7).to_csv(team_server.workdir / "emp.csv", index=False)

    def run(step: str, user: str, *args: str) -> Any:
        started = time.monotonic()
        result = team_server.run(user, *args)
        steps["seconds"][step] = round(time.monotonic() - started, 1)
        steps[step] = result
        return result

    trained = run(
        "train", "tina", "train", "--data", "emp.csv", "--trials", "2", "--model-family", "logreg",
        "--no-profile", "--experiment", "team", "--fairness-policy", POLICY,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    stage = ("models", "transition-stage", "--model-name", MODEL, "--version", "1")
    run("trainer_staging", "tina", *stage, "--stage", "Staging", "--fairness-policy", POLICY)
    staged = run("staging", "rex", *stage, "--stage", "Staging", "--fairness-policy", POLICY)
    assert staged.returncode == 0, staged.stderr
    tags = MlflowClient(tracking_uri=team_server.url, registry_uri=team_server.url)
    with _signed_in(team_server, "rita"):
        report = json.loads(
            tags.get_model_version(MODEL, "1").tags["attrition.gate_report.Staging"]
        )
    inconclusive = [r["name"] for r in report["results"] if r.get("verdict") == "inconclusive"]
    review = ["review", "--model-name", MODEL, "--version", "1", "--fairness-policy", POLICY]
    review += ["--approve", "--reason", "team review through the shared server", "--out", "r.html"]
    if inconclusive:
        review += ["--accept-inconclusive", ",".join(inconclusive)]
    reviewed = run("review", "rita", *review)
    assert reviewed.returncode == 0, reviewed.stderr
    produced = run(
        "production", "rex", *stage, "--stage", "Production", "--first-deployment",
        "--fairness-policy", POLICY,
    )  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    print(f"team server lifecycle, seconds per step: {steps['seconds']}")
    return steps


@contextmanager
def _signed_in(server: TeamServer, user: str) -> Iterator[None]:
    """MLflow's credential variables set to `user` for the block."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update({k: server.env(user)[k] for k in saved})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_the_gated_lifecycle_runs_through_the_server(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_as(team_server, "rex", monkeypatch)
    version = client.get_model_version(MODEL, "1")
    assert version.current_stage == "Production"
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert version.tags["attrition.review"]
    # The audit trail names the signed-in members, not the machine's user.
    from attrition.registry.audit import read_trail

    trail = read_trail(client, MODEL)
    by_action = {(e.action, e.to_stage): e.actor for e in trail}
    assert by_action[("transition", "Staging")] == "rex"
    assert by_action[("transition", "Production")] == "rex"
    assert by_action[("review:approved", "Staging")] == "rita"
    assert {e.actor for e in trail} == {"rex", "rita"}  # nothing written by the trainer


def test_a_trainer_is_refused_staging_in_one_line(released: dict[str, Any]) -> None:
    result = released["trainer_staging"]
    assert result.returncode == 1, result.stdout
    assert "the tracking server refused: tina may not call" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_reviews_need_a_reviewer_and_production_a_releaser(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tina = client_as(team_server, "tina", monkeypatch)
    with pytest.raises(MlflowException, match="403"):
        tina.set_model_version_tag(MODEL, "1", "attrition.review", "approved")
    rita = client_as(team_server, "rita", monkeypatch)
    with pytest.raises(MlflowException, match="403"):
        rita.transition_model_version_stage(MODEL, "1", "Archived")
    with pytest.raises(MlflowException, match="403"):
        rita.set_registered_model_alias(MODEL, "champion", "1")


def test_a_trainer_cannot_move_champion_or_stages(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client_as(team_server, "admin", monkeypatch)
    from mlflow.server.auth.client import AuthServiceClient

    # tina registered the model: MLflow alone grants her update on it, all an alias needs.
    granted = AuthServiceClient(team_server.url).get_user_permission(
        "tina", "registered_model", MODEL
    )
    assert granted.permission in ("EDIT", "MANAGE")
    tina = client_as(team_server, "tina", monkeypatch)
    for attempt in (
        lambda: tina.set_registered_model_alias(MODEL, "champion", "1"),
        lambda: tina.delete_registered_model_alias(MODEL, "champion"),
        lambda: tina.transition_model_version_stage(MODEL, "1", "Archived"),
        lambda: tina.set_model_version_tag(MODEL, "1", "attrition.stage_gate", "passed"),
        lambda: tina.delete_model_version(MODEL, "1"),
    ):
        with pytest.raises(MlflowException, match="403"):
            attempt()
    assert tina.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert tina.get_model_version(MODEL, "1").current_stage == "Production"
    tina.set_model_version_tag(MODEL, "1", "team.note", "trainers still tag their versions")


def test_a_releaser_can_move_champion(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rex = client_as(team_server, "rex", monkeypatch)
    rex.set_registered_model_alias(MODEL, "candidate", "1")
    rex.delete_registered_model_alias(MODEL, "candidate")
    rex.set_registered_model_alias(MODEL, "champion", "1")
    assert rex.get_model_version_by_alias(MODEL, "champion").version == "1"
    with pytest.raises(MlflowException):
        rex.get_model_version_by_alias(MODEL, "candidate")


def test_no_sign_in_no_access(team_server: TeamServer) -> None:
    import httpx

    answer = httpx.get(f"{team_server.url}/api/2.0/mlflow/registered-models/get?name={MODEL}")
    assert answer.status_code == 401


def test_artifacts_land_in_the_bucket(
    s3: Any, team_server: TeamServer, released: dict[str, Any]
) -> None:
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="mlflow/").get("Contents", [])
    ]
    assert any(k.endswith("/MLmodel") for k in keys), keys[:20]
    assert any(k.endswith("model_card.md") for k in keys), keys[:20]
    assert any("/reviews/" in k and k.endswith("review_report.html") for k in keys), keys[:20]


def test_a_member_without_a_role_scores_with_the_champion_and_changes_nothing(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    scored = team_server.run(READER, "predict", "--input", "emp.csv", "--output", "scores.csv")
    assert scored.returncode == 0, scored.stderr
    assert len((team_server.workdir / "scores.csv").read_text().splitlines()) == 1501
    reader = client_as(team_server, READER, monkeypatch)
    with pytest.raises(MlflowException, match="403"):
        reader.set_model_version_tag(MODEL, "1", "team.note", "readers only read")
