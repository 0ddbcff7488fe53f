"""`train --model-family` and `--fairness-policy`: the choices, and where the policy comes from."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from attrition.cli import app
from attrition.commands.common import ModelFamily, PolicyName
from attrition.commands.train import policy_choice
from attrition.fairness.policy import POLICIES
from attrition.pipeline import KINDS, family_kinds

runner = CliRunner()


def test_the_choices_are_the_families_and_policies_the_core_knows() -> None:
    assert [f.value for f in ModelFamily] == ["auto", *KINDS]
    assert [p.value for p in PolicyName] == list(POLICIES)
    assert family_kinds("auto") == KINDS
    assert family_kinds("lightgbm") == ("lightgbm",)
    with pytest.raises(ValueError, match="unknown model family"):
        family_kinds("forest")


@pytest.mark.parametrize("option", ["--model-family", "--fairness-policy"])
def test_unknown_values_are_usage_errors(option: str, mlflow_store: str) -> None:
    result = runner.invoke(app, ["train", option, "magic"])
    assert result.exit_code == 2 and option in result.output


def test_the_flag_beats_the_gates_file_which_beats_the_default() -> None:
    assert policy_choice(PolicyName.PUNITIVE, "assistive") == (
        "punitive",
        "train --fairness-policy",
    )
    assert policy_choice(None, "assistive") == ("assistive", "gates file")
    assert policy_choice(None, None) == (None, "default")


def test_an_unknown_policy_in_the_gates_file_is_one_line(mlflow_store: str, tmp_path) -> None:
    gates = tmp_path / "gates.yaml"
    gates.write_text("fairness_policy: lenient\n")
    result = runner.invoke(app, ["train", "--gates", str(gates), "--trials", "1"])
    assert result.exit_code == 1
    assert "Unknown fairness policy 'lenient'" in result.output
