"""`attrition models verify`: is every version's stage and alias backed by its audit trail?

Thin layer over `attrition.registry.governance.model_verdict`; mounted under
`attrition models` beside the other registry commands.
"""

from __future__ import annotations

import typer

from attrition.commands.common import (
    ModelNameOption,
    OneLineUsageGroup,
    fail,
    one_line_errors,
    out,
    registry_client,
    settings,
)

verify_app = typer.Typer(cls=OneLineUsageGroup)


@verify_app.command("verify")
def verify_command(name: ModelNameOption = None) -> None:
    """Check every version's stage and aliases against its audit trail, and the trail itself.

    Prints one line per version; exit 1 on any mismatch, naming the version and what is wrong.
    """
    with one_line_errors():
        from attrition.registry.governance import model_verdict

        conf = settings()
        model = name or conf.model_name
        verdict = model_verdict(registry_client(conf), model)
        for number, found in sorted(verdict.versions.items(), key=lambda kv: int(kv[0])):
            mark = "ok  " if found.verified else "FAIL"
            out.print(f"{mark} version {number}: {found.summary()}", highlight=False, markup=False)
        for finding in verdict.findings:
            out.print(f"FAIL model {model}: {finding}", highlight=False, markup=False)
        problems = verdict.problems()
        if problems:
            more = f" (and {len(problems) - 1} more above)" if len(problems) > 1 else ""
            raise fail(f"{model} does not verify: {problems[0]}{more}")
        out.print(f"{model}: every version is backed by its audit trail", highlight=False)
