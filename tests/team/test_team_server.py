"""A team through `attrition server`: roles hold against plain MLflow calls and the CLI,
the gated lifecycle works end to end as the right members, artifacts land in S3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from tests.team.conftest import BUCKET, TeamServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("team_server")]

MODEL = "employee_attrition_model"
POLICY = "assistive"


def client_as(server: TeamServer, user: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    for key, value in server.env(user).items():
        if key.startswith(("MLFLOW_", "AWS_")):
            monkeypatch.setenv(key, value)
    return MlflowClient(tracking_uri=server.url)


@pytest.fixture(scope="module")
def released(team_server: TeamServer) -> dict[str, Any]:
    """Train as the trainer, Staging as the releaser, review as the reviewer, Production as
    the releaser; each step's result, and the trainer's refused attempt at Staging."""
    steps: dict[str, Any] = {}
    run = team_server.run
    made = run("tina", "data", "generate", "--rows", "1500", "--seed", "7", "--out", "emp.csv")
    assert made.returncode == 0, made.stderr
    trained = run(
        "tina", "train", "--data", "emp.csv", "--trials", "2", "--model-family", "logreg",
        "--no-profile", "--experiment", "team", "--fairness-policy", POLICY,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    stage = ("models", "transition-stage", "--model-name", MODEL, "--version", "1")
    steps["trainer_staging"] = run(
        "tina", *stage, "--stage", "Staging", "--fairness-policy", POLICY
    )
    staged = run("rex", *stage, "--stage", "Staging", "--fairness-policy", POLICY)
    assert staged.returncode == 0, staged.stderr
    client = MlflowClient(tracking_uri=team_server.url)
    import os

    os.environ.update({k: v for k, v in team_server.env("rita").items() if k.startswith("MLFLOW_")})
    report = json.loads(client.get_model_version(MODEL, "1").tags["attrition.gate_report.Staging"])
    inconclusive = [r["name"] for r in report["results"] if r.get("verdict") == "inconclusive"]
    review = ["review", "--model-name", MODEL, "--version", "1", "--fairness-policy", POLICY]
    review += ["--approve", "--reason", "team review through the shared server", "--out", "r.html"]
    if inconclusive:
        review += ["--accept-inconclusive", ",".join(inconclusive)]
    steps["trainer_review"] = run("tina", *review)
    reviewed = run("rita", *review)
    assert reviewed.returncode == 0, reviewed.stderr
    steps["reviewer_production"] = run(
        "rita", *stage, "--stage", "Production", "--first-deployment", "--fairness-policy", POLICY
    )
    produced = run(
        "rex", *stage, "--stage", "Production", "--first-deployment", "--fairness-policy", POLICY
    )
    assert produced.returncode == 0, produced.stderr
    steps["describe"] = run("rex", "models", "describe", "--name", MODEL)
    return steps


def test_the_gated_lifecycle_runs_through_the_server(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_as(team_server, "rex", monkeypatch)
    version = client.get_model_version(MODEL, "1")
    assert version.current_stage == "Production"
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert version.tags["attrition.review"]
    # The audit trail names the signed-in members, not the machine's user.
    described = released["describe"].stdout
    assert "rex" in described and "rita" in described


def test_only_the_roles_that_may_are_let_through_the_cli(released: dict[str, Any]) -> None:
    for step in ("trainer_staging", "trainer_review", "reviewer_production"):
        result = released[step]
        assert result.returncode == 1, (step, result.stdout)
        assert "the tracking server refused" in result.stderr, (step, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_trainer_cannot_move_champion_or_stages(
    team_server: TeamServer, released: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tina = client_as(team_server, "tina", monkeypatch)
    # tina registered the model, so MLflow alone would let her (its creator) move the alias.
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
