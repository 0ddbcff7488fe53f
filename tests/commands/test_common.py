"""What every command shares: one-line errors, the option choices, and where helpers come from."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from mlflow.exceptions import MlflowException

from attrition import errors
from attrition.commands.common import LogLevel, Mitigation, Period, Stage, one_line_errors
from attrition.mitigation import CONSTRAINTS
from attrition.monitor.segments import PERIODS
from attrition.registry.transitions import TransitionRefused
from attrition.registry.versions import STAGES
from attrition.serving.model import ModelLoadError

COMMANDS = Path(__file__).resolve().parents[2] / "src" / "attrition" / "commands"


def test_choices_are_the_cores() -> None:
    assert tuple(Stage) == STAGES
    assert tuple(Mitigation) == CONSTRAINTS
    assert tuple(Period) == tuple(PERIODS)
    assert [level.value for level in LogLevel] == ["debug", "info", "warning", "error"]


def every_error_type() -> list[type[errors.AttritionError]]:
    found: list[type[errors.AttritionError]] = []
    pending = [errors.AttritionError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_domain_errors_outside_errors_module_are_attrition_errors() -> None:
    kinds = set(every_error_type())
    assert {ModelLoadError, TransitionRefused, errors.ServingError} <= kinds


@pytest.mark.parametrize(
    "kind",
    [k for k in every_error_type() if k is not TransitionRefused],  # needs a gate report
    ids=lambda k: k.__name__,
)
def test_every_domain_error_is_one_line_and_exit_1(
    kind: type[errors.AttritionError], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as exited, one_line_errors():
        raise kind("column 'Age': wrong type\nsecond line of detail")
    assert exited.value.exit_code == 1
    assert capsys.readouterr().err.strip() == "error: column 'Age': wrong type"


@pytest.mark.parametrize(
    ("raised", "line"),
    [
        (FileNotFoundError("x.csv: file not found"), "error: x.csv: file not found"),
        (MlflowException("store is locked"), "error: MLflow: store is locked"),
        (KeyboardInterrupt(), "error: interrupted"),
        (
            ZeroDivisionError("division by zero"),
            "error: ZeroDivisionError: division by zero (set ATTRITION_DEBUG=1 for details)",
        ),
    ],
)
def test_other_failures_are_one_line_and_exit_1(
    raised: BaseException,
    line: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ATTRITION_DEBUG", raising=False)
    with pytest.raises(typer.Exit) as exited, one_line_errors():
        raise raised
    assert exited.value.exit_code == 1
    assert capsys.readouterr().err.strip() == line


def test_debug_shows_the_real_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRITION_DEBUG", "1")
    with pytest.raises(ZeroDivisionError), one_line_errors():
        raise ZeroDivisionError("division by zero")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(COMMANDS.glob("*.py")), ids=lambda p: p.name)
def test_commands_take_helpers_only_from_common(path: Path) -> None:
    own = {"attrition.commands.common"} if path.name != "common.py" else set()
    wrong = {
        name
        for name in imported_modules(path)
        if name == "attrition.cli" or name.startswith("attrition.commands")
    }
    assert wrong <= own


def test_the_actor_is_the_signed_in_mlflow_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from attrition.commands.common import current_actor

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    assert current_actor() == getpass.getuser()
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "rita")
    assert current_actor() == "rita"


def test_a_refused_request_names_the_user_and_the_call(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "tina")
    refused = MlflowException(
        "API request to endpoint /api/2.0/mlflow/registered-models/alias failed with error "
        "code 403 != 200. Response body: 'Permission denied'"
    )
    with pytest.raises(typer.Exit) as exited, one_line_errors():
        raise refused
    assert exited.value.exit_code == 1
    assert capsys.readouterr().err.strip() == (
        "error: the tracking server refused: tina may not call "
        "/api/2.0/mlflow/registered-models/alias (its team role does not cover it)"
    )
