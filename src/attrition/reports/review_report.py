"""The staging review report (`review_report.html`): the seed's review checklist on one page."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from attrition.registry.compare import artifact_href
from attrition.registry.gates import FAIRNESS_METRICS, GateResult
from attrition.registry.review import (
    EXPLANATION_IMAGES,
    FAIRNESS_IMAGES,
    PERFORMANCE_IMAGES,
    ReviewFacts,
)
from attrition.registry.versions import REVIEW_TAG
from attrition.reports.html import Section, escape, image, note, page, paragraph, verdict
from attrition.stats import METRIC_NAMES

EXTRA_STYLE = """<style>
.text td,.text th{text-align:left;vertical-align:top}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1rem;align-items:start}
figure{margin:0}figcaption{font-size:.85rem;color:#52606d}
pre{background:#f8fafc;border:1px solid #e4e7eb;padding:.6rem;white-space:pre-wrap;
font-size:.82rem}
.missing{color:#9aa5b1}
</style>"""
CARD_PREVIEW_LINES = 18
WIDE = 1.6  # figures wider than this (width / height) get a full row


def render_review_report(facts: ReviewFacts, generated: datetime | None = None) -> str:
    """The HTML review report of one version."""
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        Section("Summary", EXTRA_STYLE + _summary(facts)),
        Section("1. Initial check", _initial(facts)),
        Section("2. Performance", _performance(facts)),
        Section("3. Fairness", _fairness(facts)),
        Section("4. Data quality", _data_quality(facts)),
        Section("5. Documentation and artifacts", _documentation(facts)),
        Section("6. Decision so far", _decision(facts)),
    ]
    title = f"Staging review: {facts.model_name} version {facts.version}"
    return page(title, sections, subtitle=f"Stage {facts.stage}; generated {when}.")


# --- small helpers ------------------------------------------------------------------


def _when(value: int | str | None) -> str:
    if value in (None, "", 0):
        return ""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)[:19].replace("T", " ") + " UTC"


def _num(value: object, spec: str = ".3f") -> str:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else format(value, spec)
    return "" if value is None else str(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "text") -> str:
    """A table whose cells are already HTML (escape text before passing it)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _missing(text: str = "missing") -> str:
    return f'<span class="missing">{escape(text)}</span>'


def _gate_rows(results: Sequence[GateResult]) -> list[list[str]]:
    rows = []
    for r in results:
        threshold = f"{r.comparison or ''} {_num(r.threshold, 'g')}".strip()
        value = _num(r.value) or _missing()
        rows.append(
            [escape(r.name), value, escape(threshold), verdict(r.passed), escape(r.message)]
        )
    return rows


def _gate_table(results: Sequence[GateResult]) -> str:
    if not results:
        return paragraph("No gates in this group.")
    return _table(["gate", "value", "threshold", "result", "reading"], _gate_rows(results))


def _aspect(png: bytes) -> float:
    """Width / height of a PNG, read from its header (1.0 when unreadable)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return 1.0
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return width / height if height else 1.0


def _figures(facts: ReviewFacts, names: Sequence[str]) -> str:
    """The run's PNGs of `names` in two columns; wide figures take a whole row."""
    shown = []
    for n in names:
        if n not in facts.images:
            continue
        png = facts.images[n]
        wide = ' style="grid-column:1/-1"' if _aspect(png) > WIDE else ""
        shown.append(f"<figure{wide}>{image(png, n)}<figcaption>{escape(n)}</figcaption></figure>")
    absent = [n for n in names if n not in facts.images]
    parts = [f'<div class="grid">{"".join(shown)}</div>'] if shown else []
    if absent:
        parts.append(note(f"Not in the run: {', '.join(absent)}."))
    return "".join(parts)


def _link(facts: ReviewFacts, path: str) -> str:
    if path not in facts.artifact_paths:
        return f"<code>{escape(path)}</code> {_missing()}"
    href = artifact_href(facts.artifact_uri, path) if facts.artifact_uri else None
    if href is None:
        return f"<code>{escape(path)}</code> (run {escape(facts.run_id or '')}, MLflow UI)"
    return f'<a href="{escape(href)}"><code>{escape(path)}</code></a>'


def _count(results: Sequence[GateResult]) -> tuple[int, int]:
    gated = [r for r in results if r.passed is not None]
    return sum(1 for r in gated if r.passed), len(gated)


# --- sections ------------------------------------------------------------------------


def _summary(facts: ReviewFacts) -> str:
    rows = []
    for group, label in (
        ("performance", "Performance (test split)"),
        ("fairness", "Fairness"),
        ("data_quality", "Data quality"),
        ("documentation", "Documentation"),
    ):
        results = facts.gates_in(group)
        ok, total = _count(results)
        failing = ", ".join(r.name for r in results if r.failed) or "none"
        rows.append([escape(label), f"{ok}/{total}", verdict(ok == total), escape(failing)])
    if facts.champion is not None:
        gate = facts.champion.gate
        rows.append(
            [
                escape(f"A/B vs champion v{facts.champion.version}"),
                "",
                verdict(gate.passed),
                escape(gate.message),
            ]
        )
    ok, total = _count(facts.gates)
    decision = facts.decision or "not reviewed yet"
    head = paragraph(
        f"Staging gates: {ok}/{total} passed. Review decision: {decision}. "
        "Each section below follows the review checklist."
    )
    return head + _table(["check", "passed", "result", "failing gates / reading"], rows)


def _initial(facts: ReviewFacts) -> str:
    tags = facts.run_tags
    items = [
        ("model name", facts.model_name),
        ("version", facts.version),
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
    rows = [[escape(k), escape(v) if v else _missing()] for k, v in items]
    notes = []
    absent = [k for k, v in items if not v and k != "aliases"]
    if absent:
        notes.append(note(f"Missing: {', '.join(absent)}."))
    commit = tags.get("attrition.git_commit", "")
    if commit.endswith("-dirty"):
        notes.append(
            note(
                "The git commit ends in -dirty: the model was trained from uncommitted "
                "changes, so the code cannot be reproduced exactly from the commit."
            )
        )
    champion = facts.champion_version
    if champion == facts.version:
        notes.append(note("This version is the current champion (Production)."))
    elif champion is None:
        notes.append(
            note("There is no champion yet: promoting this version is a first deployment.")
        )
    return _table(["item", "value"], rows) + "".join(notes)


def _performance(facts: ReviewFacts) -> str:
    t = facts.thresholds
    parts = [
        paragraph(
            f"Gated on the test split; F1, precision and recall use the '{t.average}' "
            "average, the attrition-class values are reported beside them (not gated)."
        ),
        _gate_table(facts.gates_in("performance")),
    ]
    metric_rows = []
    for name in METRIC_NAMES:
        cv, test = facts.metrics.get(f"cv_{name}"), facts.metrics.get(f"test_{name}")
        if cv is None and test is None:
            continue
        metric_rows.append([escape(name), _num(cv) or _missing(), _num(test) or _missing()])
    if metric_rows:
        parts.append("<h3>All metrics: cross-validation (out-of-fold) vs test</h3>")
        parts.append(_table(["metric", "CV", "test"], metric_rows))
    parts.append("<h3>Against the current champion</h3>")
    parts.append(champion_of(facts))
    parts.append(_figures(facts, PERFORMANCE_IMAGES))
    return "".join(parts)


def champion_of(facts: ReviewFacts) -> str:
    check = facts.champion
    if check is None:
        if facts.champion_version == facts.version:
            return paragraph("This version is the champion: there is nothing to compare against.")
        return paragraph("No champion yet (first deployment): no A/B comparison.")
    c = check.comparison
    if c is None:
        return _gate_table([check.gate])
    rows = [
        [
            escape(f"v{facts.version}"),
            escape(f"v{c.champion_version}"),
            f"{c.candidate_auc:.3f}",
            f"{c.champion_auc:.3f}",
            f"{c.difference:+.3f}",
            f"[{c.low:+.3f}, {c.high:+.3f}]",
            escape(f"> -{facts.thresholds.non_inferiority_margin:g}"),
            verdict(check.gate.passed),
        ]
    ]
    table = _table(
        [
            "candidate",
            "champion",
            "candidate ROC AUC",
            "champion ROC AUC",
            "difference",
            "95% interval",
            "lower end needs",
            "non-inferior",
        ],
        rows,
    )
    margin = facts.thresholds.non_inferiority_margin
    conclusion = "not worse than" if check.gate.passed else "possibly worse than"
    return table + note(
        f"Paired bootstrap ({c.resamples} resamples) on the candidate's {c.rows} test rows, "
        "both models scoring the same employees. Non-inferior when the lower end of the 95% "
        f"interval is above -{margin:g}: it is {c.low:+.3f}, so the candidate is {conclusion} "
        "the champion."
    )


def _fairness(facts: ReviewFacts) -> str:
    results = {r.name: r for r in facts.gates_in("fairness")}
    t = facts.thresholds
    attributes = sorted({name.split(".")[1] for name in results if name.count(".") == 2})
    parts = []
    if attributes:
        headers = ["attribute"] + [
            f"{m.replace('_', ' ')} (|d| < {getattr(t, m):g})" for m in FAIRNESS_METRICS
        ]
        rows = []
        for attribute in attributes:
            row = [escape(attribute)]
            for metric in FAIRNESS_METRICS:
                r = results.get(f"fairness.{attribute}.{metric}")
                if r is None:
                    row.append(_missing("not logged"))
                elif r.value is None:
                    row.append(f"{_missing('undefined')} {verdict(None)}")
                else:
                    row.append(f"{_num(r.value, '+.3f')} {verdict(r.passed)}")
            rows.append(row)
        parts.append(_table(headers, rows))
        parts.append(
            note(
                "Differences between the groups of each attribute on the test split; "
                f"groups under {t.min_group_size} employees are reported, not gated."
            )
        )
        parts.append(
            "<details><summary>Every fairness gate with its reading</summary>"
            f"{_gate_table(list(results.values()))}</details>"
        )
    else:
        parts.append(_gate_table(list(results.values())))
    parts.append(_groups(facts))
    parts.append(_figures(facts, FAIRNESS_IMAGES))
    parts.append(paragraph("Full assessment:") + f"<p>{_link(facts, 'fairness_report.html')}</p>")
    return "".join(parts)


def _groups(facts: ReviewFacts) -> str:
    if not facts.fairness:
        return ""
    rows = []
    for attribute in facts.fairness.get("attributes", []):
        for group in attribute.get("groups", []):
            rows.append(
                [
                    escape(attribute.get("name", "")),
                    escape(group.get("group", "")),
                    _num(group.get("count")),
                    _num(group.get("leavers")),
                    _num(group.get("selection_rate")),
                    _num(group.get("tpr")),
                    _num(group.get("precision")),
                    "below minimum size: not gated" if group.get("small") else "",
                ]
            )
    if not rows:
        return ""
    if not any(row[-1] for row in rows):
        rows = [row[:-1] for row in rows]
    headers = [
        "attribute",
        "group",
        "employees",
        "leavers",
        "flagged rate",
        "true positive rate",
        "precision",
        "note",
    ]
    return "<h3>Groups (test split)</h3>" + _table(headers[: len(rows[0])], rows)


def _data_quality(facts: ReviewFacts) -> str:
    parts = [_gate_table(facts.gates_in("data_quality"))]
    dq = facts.data_quality or {}
    pair = dq.get("most_correlated_pair")
    if pair:
        parts.append(note(f"Most correlated pair of model inputs: {' and '.join(map(str, pair))}."))
    outliers = dq.get("outliers_by_column")
    if outliers:
        listed = ", ".join(f"{k}: {v}" for k, v in sorted(outliers.items()))
        parts.append(note(f"Outlying values by column: {listed}."))
    return "".join(parts)


def _documentation(facts: ReviewFacts) -> str:
    parts = [_gate_table(facts.gates_in("documentation"))]
    if facts.model_card:
        lines = facts.model_card.splitlines()
        preview = "\n".join(lines[:CARD_PREVIEW_LINES])
        parts.append(f"<h3>Model card ({_link(facts, 'model_card.md')})</h3>")
        parts.append(f"<pre>{escape(preview)}</pre>")
        if len(lines) > CARD_PREVIEW_LINES:
            parts.append(
                f"<details><summary>The whole model card ({len(lines)} lines)</summary>"
                f"<pre>{escape(facts.model_card)}</pre></details>"
            )
    else:
        parts.append(note("No model card in the run."))
    parts.append("<h3>Explanations</h3>")
    parts.append(_figures(facts, EXPLANATION_IMAGES))
    html_files = [e.path for e in facts.artifacts if e.path.endswith(".html")]
    parts.append("<h3>HTML reports in the run</h3>")
    if html_files:
        parts.append("<ul>" + "".join(f"<li>{_link(facts, p)}</li>" for p in html_files) + "</ul>")
    else:
        parts.append(paragraph("None."))
    rows = [
        [escape(e.path), _num(round(e.size / 1024, 1)) + " KB" if e.size is not None else "folder"]
        for e in facts.artifacts
    ]
    parts.append(
        f"<details><summary>All {len(rows)} artifacts of the run</summary>"
        f"{_table(['artifact', 'size'], rows)}</details>"
    )
    return "".join(parts)


def _decision(facts: ReviewFacts) -> str:
    tags = facts.version_tags
    parts = []
    if facts.decision:
        rows = [
            ["decision", escape(facts.decision)],
            ["reason", escape(tags.get(REVIEW_TAG + ".reason", ""))],
            ["by", escape(tags.get(REVIEW_TAG + ".actor", ""))],
            ["when", escape(_when(tags.get(REVIEW_TAG + ".at")))],
        ]
        parts.append(_table(["review", ""], rows))
        if facts.decision == "rejected":
            parts.append(note("Rejected: the registry refuses this version for Production."))
    else:
        parts.append(paragraph("No review decision recorded yet."))
    records = facts.gate_records
    if records:
        rows = []
        for stage, report in sorted(records.items()):
            results = report.get("results", [])
            gated = [r for r in results if r.get("passed") is not None]
            ok = sum(1 for r in gated if r.get("passed"))
            failing = ", ".join(r["name"] for r in results if r.get("passed") is False)
            rows.append(
                [
                    escape(stage),
                    escape(_when(report.get("timestamp"))),
                    escape(report.get("outcome", "")),
                    f"{ok}/{len(gated)}",
                    escape(failing or "none"),
                ]
            )
        parts.append("<h3>Gate records (latest attempt per target stage)</h3>")
        parts.append(_table(["to", "when", "outcome", "gates passed", "failing"], rows))
    else:
        parts.append(paragraph("No transition has been attempted yet."))
    if facts.audit:
        rows = [
            [
                escape(_when(e.at)),
                escape(e.actor),
                escape(f"{e.action}: {e.from_stage} -> {e.to_stage}"),
                escape(e.outcome + (" (forced)" if e.forced else "")),
                escape(e.reason or ""),
            ]
            for e in facts.audit
        ]
        parts.append("<h3>Audit trail of this version</h3>")
        parts.append(_table(["when", "who", "change", "outcome", "why"], rows))
    parts.append(note(_next_step(facts)))
    return "".join(parts)


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
        if facts.decision:
            return f"Next: {promote}."
        return (
            f"Next: record a decision (attrition review --version {facts.version} "
            f"--approve|--reject --reason '...'), then {promote}."
        )
    return f"The version is in {facts.stage}."
