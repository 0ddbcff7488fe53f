"""The staging review report (`review_report.html`): the review checklist on one page.

`review_context` turns a version's `ReviewFacts` into what each checklist section shows;
`templates/review_report.html.j2` lays it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrition.registry.gates import GateResult
from attrition.registry.notes import addresses_of, reasons_of
from attrition.registry.review import (
    EXPLANATION_IMAGES,
    PERFORMANCE_IMAGES,
    ReviewFacts,
)
from attrition.registry.versions import REVIEW_TAG
from attrition.reports.format import number, png_aspect, stamp
from attrition.reports.render import Footer, render
from attrition.reports.review_banner import artifact_link, card_html, exceptions, refusal_reason
from attrition.reports.review_fairness import fairness_section
from attrition.stats import METRIC_NAMES

WIDE = 1.6  # figures wider than this (width / height) get a full row
SUMMARY_GROUPS = (
    ("performance", "Performance (test split)"),
    ("fairness", "Fairness"),
    ("data_quality", "Data quality"),
    ("documentation", "Documentation"),
)


def render_review_report(facts: ReviewFacts, generated: datetime | None = None) -> str:
    """The HTML review report of one version."""
    return render("review_report.html.j2", review_context(facts, generated))


def review_context(facts: ReviewFacts, generated: datetime | None = None) -> dict[str, Any]:
    """What each section of the review checklist shows about `facts`."""
    runs = (facts.run_id,) if facts.run_id else ()
    footer = Footer.now(generated, model=facts.model_name, version=facts.version, runs=runs)
    return {
        "title": f"Staging review: {facts.model_name} version {facts.version}",
        "subtitle": f"Stage {facts.stage}; generated {stamp(footer.generated)}.",
        "footer": footer,
        "exceptions": exceptions(facts, _when),
        "summary": _summary(facts),
        "initial": _initial(facts),
        "performance": _performance(facts),
        "fairness": fairness_section(facts, _gates, _figures, _link),
        "data_quality": _data_quality(facts),
        "documentation": _documentation(facts),
        "decision": _decision(facts),
    }


# --- small helpers ------------------------------------------------------------------


def _when(value: int | str | None) -> str:
    if value in (None, "", 0):
        return ""
    if isinstance(value, int):
        return stamp(value, "%Y-%m-%d %H:%M:%S UTC")
    return str(value)[:19].replace("T", " ") + " UTC"


def _num(value: object, spec: str = ".3f") -> str:
    return number(value, spec, missing="")


def _gates(results: Sequence[GateResult]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "value": _num(r.value),
            "threshold": f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip(),
            "passed": r.passed,
            "verdict": (r.verdict or "").replace("_", " "),
            "interval": _interval(r.interval),
            "message": r.message,
        }
        for r in results
    ]


def _interval(interval: Sequence[float] | None) -> str:
    if not interval:
        return ""
    return f"{interval[0]:.3f} to {interval[1]:.3f}"


def _figures(facts: ReviewFacts, names: Sequence[str]) -> dict[str, Any]:
    """The run's PNGs of `names` (wide ones take a whole row) and the names it lacks."""
    return {
        "figures": [
            {"name": n, "png": facts.images[n], "wide": png_aspect(facts.images[n]) > WIDE}
            for n in names
            if n in facts.images
        ],
        "absent": [n for n in names if n not in facts.images],
    }


def _link(facts: ReviewFacts, path: str) -> dict[str, Any]:
    """An artifact of the run, linked relative to the run's artifact folder."""
    return {
        "path": path,
        "present": path in facts.artifact_paths,
        "href": artifact_link(path),
        "run_id": facts.run_id or "",
    }


def _count(results: Sequence[GateResult]) -> tuple[int, int]:
    gated = [r for r in results if r.passed is not None]
    return sum(1 for r in gated if r.passed), len(gated)


# --- sections ------------------------------------------------------------------------


def _summary(facts: ReviewFacts) -> dict[str, Any]:
    rows = []
    for group, label in SUMMARY_GROUPS:
        results = facts.gates_in(group)
        ok, total = _count(results)
        failing = ", ".join(r.name for r in results if r.failed) or "none"
        rows.append(
            {"check": label, "count": f"{ok}/{total}", "passed": ok == total, "reading": failing}
        )
    if facts.champion is not None:
        gate = facts.champion.gate
        rows.append(
            {
                "check": f"A/B vs champion v{facts.champion.version}",
                "count": "",
                "passed": gate.passed,
                "reading": gate.message,
            }
        )
    ok, total = _count(facts.gates)
    return {
        "passed": ok,
        "total": total,
        "decision": facts.decision or "not reviewed yet",
        "rows": rows,
    }


def _initial(facts: ReviewFacts) -> dict[str, Any]:
    tags = facts.run_tags
    items = [
        ("model name", facts.model_name),
        ("version", facts.version),
        ("semantic version", facts.version_tags.get("semver")),
        ("current stage", facts.stage),
        ("aliases", ", ".join(facts.aliases) or None),
        ("registered (created)", _when(facts.created) or None),
        ("run id", facts.run_id),
        ("run started", _when(facts.run_start) or None),
        ("git commit", tags.get("attrition.git_commit")),
        ("author", tags.get("mlflow.user")),
        ("model kind", tags.get("attrition.model_kind")),
        ("dataset", tags.get("attrition.dataset")),
        ("data source", tags.get("attrition.source")),
        (
            "data hash",
            tags.get("attrition.data_hash") or facts.version_tags.get("attrition.data_hash"),
        ),
        ("decision threshold", _num(facts.metrics.get("threshold")) or None),
    ]
    answers = addresses_of(facts.version_tags)
    if answers:
        items.append(("addresses", _addresses_text(answers)))
    notes = []
    absent = [k for k, v in items if not v and k != "aliases"]
    if absent:
        notes.append(f"Missing: {', '.join(absent)}.")
    if tags.get("attrition.git_commit", "").endswith("-dirty"):
        notes.append(
            "The git commit ends in -dirty: the model was trained from uncommitted "
            "changes, so the code cannot be reproduced exactly from the commit."
        )
    if facts.champion_version == facts.version:
        notes.append("This version is the current champion (Production).")
    elif facts.champion_version is None:
        notes.append("There is no champion yet: promoting this version is a first deployment.")
    return {"rows": items, "notes": notes}


def _performance(facts: ReviewFacts) -> dict[str, Any]:
    metrics = []
    for name in METRIC_NAMES:
        cv, test = facts.metrics.get(f"cv_{name}"), facts.metrics.get(f"test_{name}")
        if cv is not None or test is not None:
            metrics.append((name, _num(cv), _num(test)))
    return {
        "average": facts.thresholds.average,
        "gates": _gates(facts.gates_in("performance")),
        "metrics": metrics,
        "champion": _champion(facts),
        "figures": _figures(facts, PERFORMANCE_IMAGES),
    }


def _champion(facts: ReviewFacts) -> dict[str, Any]:
    """The A/B comparison with the champion, or why there is none."""
    check = facts.champion
    if check is None:
        return {"kind": "is_champion" if facts.champion_version == facts.version else "first"}
    c = check.comparison
    if c is None:
        return {"kind": "gate", "gate": _gates([check.gate])[0]}
    margin = facts.thresholds.non_inferiority_margin
    conclusion = "not worse than" if check.gate.passed else "possibly worse than"
    reading = (
        f"Paired bootstrap ({c.resamples} resamples) on the candidate's {c.rows_text()}, "
        "both models scoring the same employees, none of whom either model trained on. "
        "Non-inferior when the lower end of the 95% "
        f"interval is above -{margin:g}: it is {c.low:+.3f}, so the candidate is {conclusion} "
        "the champion."
    )
    return {
        "kind": "comparison",
        "c": c,
        "candidate": facts.version,
        "margin": margin,
        "passed": check.gate.passed,
        "reading": reading,
    }


def _data_quality(facts: ReviewFacts) -> dict[str, Any]:
    dq = facts.data_quality or {}
    notes = []
    raw = dq.get("raw_pair")
    if raw:
        notes.append(
            f"Most associated raw inputs (before encoding): {' and '.join(map(str, raw))}, "
            f"{_num(dq.get('raw_association'), '.2f')} ({dq.get('raw_method', '')})."
        )
    for group in dq.get("linked_inputs") or []:
        notes.append(f"Explained as one factor: {' + '.join(group)}.")
    handled = facts.run_tags.get("attrition.associated_inputs")
    if handled:
        notes.append(
            f"Strongly associated inputs, handled as CV chose: {handled} "
            "(model card; association_handling.json)."
        )
    pair = dq.get("most_correlated_pair")
    if pair:
        notes.append(
            f"Most correlated pair of encoded model inputs: {' and '.join(map(str, pair))}."
        )
    outliers = dq.get("outliers_by_column")
    if outliers:
        listed = ", ".join(f"{k}: {v}" for k, v in sorted(outliers.items()))
        notes.append(f"Outlying values by column: {listed}.")
    return {"gates": _gates(facts.gates_in("data_quality")), "notes": notes}


def _documentation(facts: ReviewFacts) -> dict[str, Any]:
    card = None
    if facts.model_card:
        lines = facts.model_card.splitlines()
        card = {
            "link": _link(facts, "model_card.md"),
            "lines": len(lines),
            "html": card_html(facts.model_card),
        }
    sizes = [
        (e.path, _num(round(e.size / 1024, 1)) + " KB" if e.size is not None else "folder")
        for e in facts.artifacts
    ]
    return {
        "gates": _gates(facts.gates_in("documentation")),
        "card": card,
        "figures": _figures(facts, EXPLANATION_IMAGES),
        "html_reports": [_link(facts, e.path) for e in facts.artifacts if e.path.endswith(".html")],
        "artifacts": sizes,
    }


def _addresses_text(answers: dict[str, Any]) -> str:
    """`version 3, rejected for: [fairness] parity gap; [performance] recall too low`."""
    reasons = "; ".join(
        f"[{r.get('category', 'other')}] {r.get('text', '')}" for r in answers["reasons"]
    )
    return f"version {answers['version']}, rejected for: {reasons or 'no recorded reasons'}"


def _decision(facts: ReviewFacts) -> dict[str, Any]:
    tags = facts.version_tags
    review = None
    if facts.decision:
        review = [
            ("decision", facts.decision),
            ("reason", tags.get(REVIEW_TAG + ".reason", "")),
            (
                "reason items",
                "; ".join(f"[{r['category']}] {r['text']}" for r in reasons_of(tags)),
            ),
            ("by", tags.get(REVIEW_TAG + ".actor", "")),
            ("when", _when(tags.get(REVIEW_TAG + ".at"))),
        ]
    records = []
    for stage, report in sorted(facts.gate_records.items()):
        results = report.get("results", [])
        gated = [r for r in results if r.get("passed") is not None]
        ok = sum(1 for r in gated if r.get("passed"))
        failing = ", ".join(r["name"] for r in results if r.get("passed") is False)
        records.append(
            (
                stage,
                _when(report.get("timestamp")),
                report.get("outcome", ""),
                f"{ok}/{len(gated)}",
                failing or "none",
            )
        )
    audit = [
        (
            _when(e.at),
            e.actor,
            f"{e.action}: {e.from_stage} -> {e.to_stage}",
            e.outcome + (" (forced)" if e.forced else ""),
            refusal_reason(e.failed_gates, e.reason) if e.outcome == "refused" else e.reason or "",
        )
        for e in facts.audit
    ]
    signoffs = [
        (gate, record.get("actor", ""), _when(record.get("at")), record.get("reason", ""))
        for gate, record in sorted(facts.signoffs.items())
    ]
    open_gates = [g.name for g in facts.inconclusive if g.passed is not True]
    return {
        "review": review,
        "signoffs": signoffs,
        "open_gates": open_gates,
        "rejected": facts.decision == "rejected",
        "records": records,
        "audit": audit,
        "next_step": _next_step(facts),
    }


def _next_step(facts: ReviewFacts) -> str:
    model = f"--model-name {facts.model_name} --version {facts.version}"
    ok, total = _count(facts.gates)
    if facts.decision == "rejected":
        return "Next: rejected versions stay out of Production; train and review a new candidate."
    if facts.stage == "None":
        if ok < total:
            return (
                f"Next: {total - ok} staging gate(s) fail; fix them or override with "
                f"attrition models transition-stage {model} --stage Staging --force --reason '...'."
            )
        return f"Next: attrition models transition-stage {model} --stage Staging."
    if facts.stage == "Staging":
        first = " --first-deployment" if facts.champion_version is None else ""
        promote = f"attrition models transition-stage {model} --stage Production{first}"
        unsigned = [g.name for g in facts.inconclusive if g.passed is not True]
        if unsigned:
            return (
                f"Next: {len(unsigned)} inconclusive gate(s) block Production until signed off: "
                f"attrition review --version {facts.version} --approve --accept-inconclusive "
                f"{','.join(unsigned)} --reason '...', then {promote}."
            )
        if facts.decision:
            return f"Next: {promote}."
        return (
            f"Next: record a decision (attrition review --version {facts.version} "
            f"--approve|--reject --reason '...'), then {promote}."
        )
    return f"The version is in {facts.stage}."
