"""`attrition review` / `attrition compare` end to end: two models trained with the CLI.

One module-scoped SQLite MLflow store: generated data, two `attrition train` runs
(in parallel, to keep the module short), version 1 promoted to Production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from attrition.cli import app
from attrition.commands.models import models_app
from attrition.commands.review import review_app
from attrition.config import GateThresholds
from attrition.registry.transitions import evaluate_gates, transition
from attrition.registry.versions import get_version

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("review-cli")]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
THRESHOLDS = GateThresholds()


@dataclass
class Trained:
    """The store with two trained versions; version 1 is the champion."""

    folder: Path
    uri: str
    runs: dict[str, str]

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    folder = tmp_path_factory.mktemp("review-cli")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    artifacts = folder / "mlartifacts"
    experiment = f"test-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_ARTIFACT_LOCATION", str(artifacts))
        mp.setenv("ATTRITION_EXPERIMENT", experiment)
        mp.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        mp.setenv("COLUMNS", "200")
        mp.delenv("ATTRITION_GATES_CONFIG", raising=False)
        mp.delenv("ATTRITION_MODEL_NAME", raising=False)
        data = folder / "gen.csv"
        result = CliRunner().invoke(
            app, ["data", "generate", "--rows", "1500", "--out", str(data), "--seed", "3"]
        )
        assert result.exit_code == 0, result.output

        # Created up front so that the two parallel trainings do not race to create them.
        from attrition.tracking import ensure_experiment

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        ensure_experiment(client, experiment, str(artifacts))
        client.create_registered_model("employee_attrition_model")
        trainings = [
            subprocess.Popen(
                [
                    *(str(VENV_BIN / "attrition"), "train", "--data", str(data)),
                    *("--trials", "2", "--no-profile", "--seed", str(seed)),
                ],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for seed in (1, 2)
        ]
        try:
            for process in trainings:
                output, _ = process.communicate(timeout=600)
                assert process.returncode == 0, output[-2000:]
        finally:
            for process in trainings:
                if process.poll() is None:
                    process.kill()

        runs = {
            str(mv.version): str(mv.run_id)
            for mv in client.search_model_versions("name='employee_attrition_model'")
        }
        assert sorted(runs) == ["1", "2"]
        for stage in ("Staging", "Production"):
            transition(
                client,
                "employee_attrition_model",
                "1",
                stage,
                thresholds=THRESHOLDS,
                actor="tester",
                force=True,  # synthetic data may miss a fairness gate; the review shows it
                reason="test champion",
                first_deployment=True,
            )
        yield Trained(folder, uri, runs)


def invoke(typer_app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(typer_app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_review_report_follows_the_checklist_and_is_logged(trained: Trained) -> None:
    out = trained.folder / "reports" / "review_v2.html"

    code, stdout, _ = invoke(review_app, "review", "--version", "2", "--out", str(out))

    assert code == 0
    assert f"Review report written to {out}" in stdout
    html = out.read_text(encoding="utf-8")
    client = trained.client
    metrics = client.get_run(trained.runs["2"]).data.metrics
    assert "Staging review: employee_attrition_model version 2" in html
    assert f"<td>{metrics['test_roc_auc']:.3f}</td>" in html
    gates = evaluate_gates(
        client, get_version(client, "employee_attrition_model", "2"), "Staging", THRESHOLDS
    )
    for gate in gates:
        assert gate.name in html
    assert '<span class="pass">PASS</span>' in html
    assert "FAIL" in html or all(g.passed is not False for g in gates)
    assert html.count("data:image/png;base64,") >= 6
    assert "A/B vs champion v1" in html and "95% interval" in html
    for section in ("1. Initial check", "2. Performance", "3. Fairness", "4. Data quality"):
        assert section in html
    assert "5. Documentation and artifacts" in html and "6. Decision so far" in html
    tags = client.get_run(trained.runs["2"]).data.tags
    assert tags["attrition.git_commit"] in html and tags["mlflow.user"] in html

    top = {a.path for a in client.list_artifacts(trained.runs["2"])}
    dated = [a.path for a in client.list_artifacts(trained.runs["2"], "reviews")]
    assert "review_report.html" in top
    assert len(dated) == 1 and dated[0].endswith("_review_report.html")


def test_review_writes_to_the_current_folder_by_default(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained.folder)
    code, _, _ = invoke(review_app, "review", "--version", "1")
    assert code == 0
    html = (trained.folder / "review_report.html").read_text(encoding="utf-8")
    assert "This version is the current champion" in html


def test_approve_and_reject_are_recorded_and_reject_blocks_production(trained: Trained) -> None:
    out = str(trained.folder / "decision.html")
    client = trained.client
    code, stdout, _ = invoke(
        review_app, "review", "--version", "2", "--approve", "--reason", "ok", "--out", out
    )
    assert code == 0 and "approved (ok)" in stdout
    assert get_version(client, "employee_attrition_model", "2").tags["attrition.review"] == (
        "approved"
    )

    code, _, _ = invoke(
        review_app, "review", "--version", "2", "--reject", "--reason", "AgeBand gap", "--out", out
    )
    assert code == 0
    tags = get_version(client, "employee_attrition_model", "2").tags
    assert tags["attrition.review"] == "rejected"
    assert tags["attrition.review.reason"] == "AgeBand gap"
    assert "AgeBand gap" in Path(out).read_text(encoding="utf-8")

    move = ["transition-stage", "--model-name", "employee_attrition_model", "--version", "2"]
    code, _, _ = invoke(models_app, *move, "--stage", "Staging", "--force", "--reason", "test")
    assert code == 0
    code, _, stderr = invoke(models_app, *move, "--stage", "Production")
    assert code == 1
    assert "refused: production.review = rejected" in stderr
    assert get_version(client, "employee_attrition_model", "2").current_stage == "Staging"


def test_compare_report_puts_runs_side_by_side(trained: Trained) -> None:
    out = trained.folder / "comparison.html"
    ids = f"{trained.runs['1']},{trained.runs['2']}"

    code, stdout, _ = invoke(review_app, "compare", "--run-ids", ids, "--out", str(out))

    assert code == 0 and f"written to {out}" in stdout
    html = out.read_text(encoding="utf-8")
    client = trained.client
    for run_id in trained.runs.values():
        assert run_id in html
        auc = client.get_run(run_id).data.metrics["test_roc_auc"]
        # 3 decimals, more only where both runs would print the same
        assert any(f"{auc:.{places}f}" in html for places in (3, 4, 5, 6))
    seeds = [client.get_run(trained.runs[v]).data.params["seed"] for v in ("1", "2")]
    assert sorted(seeds) == ["1", "2"]  # trained in parallel: either may be version 1
    assert f'<tr class="diff"><td>seed</td><td>{seeds[0]}</td><td>{seeds[1]}</td></tr>' in html
    for metric in ("test_roc_auc", "cv_roc_auc", "fairness.Gender.", "dq_missing_rate"):
        assert metric in html
    assert "ROC curves (each run&#x27;s own test split)" in html
    assert html.count("data:image/png;base64,") == 1
    assert "<td>roc_curve.png</td>" in html


def test_the_seed_script_wraps_compare(trained: Trained) -> None:
    ids = f"{trained.runs['1']},{trained.runs['2']}"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_comparison_report.py"), "--run-ids", ids],
        cwd=trained.folder,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "comparison_report.html" in done.stdout
    assert trained.runs["2"] in (trained.folder / "comparison_report.html").read_text("utf-8")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["review", "--version", "99"], "has no version '99'"),
        (["review", "--version", "1", "--name", "nope"], "no registered model named 'nope'"),
        (["review", "--version", "1", "--model-name", "nope"], "no registered model named 'nope'"),
        (["review", "--version", "1", "--approve"], "--approve needs --reason"),
        (["review", "--version", "1", "--approve", "--reject", "--reason", "x"], "choose one"),
        (["compare", "--run-ids", "RUN1,deadbeef"], "unknown run id(s): deadbeef"),
        (["compare", "--run-ids", "RUN1"], "at least two distinct run ids"),
    ],
)
def test_errors_are_one_line(trained: Trained, args: list[str], expected: str) -> None:
    args = [a.replace("RUN1", trained.runs["1"]) for a in args]
    code, stdout, stderr = invoke(review_app, *args)
    assert code == 1
    assert expected in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stdout + stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["review"], "Missing option '--version'"),
        (["compare"], "Missing option '--run-ids'"),
    ],
)
def test_missing_required_options_are_one_line_usage_errors(args: list[str], expected: str) -> None:
    code, stdout, stderr = invoke(review_app, *args)
    assert code == 2
    assert expected in stderr and len(stderr.strip().splitlines()) == 1
    assert "Usage:" not in stdout + stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--accept-inconclusive", "performance.roc_auc", "--reason", "why"),
        ("--reject", "--accept-inconclusive", "performance.roc_auc", "--reason", "why"),
    ],
)
def test_sign_offs_go_with_an_approval(args: tuple[str, ...]) -> None:
    code, _, stderr = invoke(review_app, "review", "--version", "1", *args)
    assert code == 1
    assert "--accept-inconclusive goes with --approve" in stderr or "--reason goes with" in stderr
