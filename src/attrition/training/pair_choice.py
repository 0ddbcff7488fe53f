"""Choose, by cross-validation, what the pipeline does with each strongly associated pair.

Every option of `pair_options.pair_candidates` is scored by the caller's `score`
(the search's folds, metric and seed, with a quick estimator), pair by pair, the
earlier pairs' choices in place. The choice follows the one-standard-error rule: of
the options whose mean fold ROC AUC is within one standard error of the best, the
simplest wins (an input fewer, then one combined input, then both), so a handling is
adopted only when the data do not speak against it.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from attrition.config import DatasetConfig
from attrition.data.association import Association, associations
from attrition.data.pair_handling import KEEP, PairHandling, handling_spec
from attrition.pipeline import DEFAULT_MAX_CORRELATION, DEFAULT_PARAMS, build_pipeline
from attrition.training.pair_options import SIMPLICITY, PairCandidates, pair_candidates
from attrition.training.search import cv_proba, search_problem

# Fold ROC AUCs of a pipeline whose strong pairs are handled as the spec says.
Scorer = Callable[[str], list[float]]


@dataclass(frozen=True)
class OptionScore:
    """One handling's fold ROC AUCs (same folds for every option of a pair)."""

    handling: PairHandling
    fold_auc: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_auc))

    @property
    def sd(self) -> float:
        return float(np.std(self.fold_auc))

    @property
    def se(self) -> float:
        return self.sd / math.sqrt(len(self.fold_auc))

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.handling.text(),
            "action": self.handling.action,
            "columns": list(self.handling.columns),
            "cv_roc_auc": round(self.mean, 4),
            "cv_roc_auc_sd": round(self.sd, 4),
            "fold_roc_auc": [round(a, 4) for a in self.fold_auc],
        }


@dataclass(frozen=True)
class PairDecision:
    """What was tried for one pair, what was chosen and why."""

    candidates: PairCandidates
    scores: tuple[OptionScore, ...]
    chosen: PairHandling
    reason: str

    def to_dict(self) -> dict[str, Any]:
        pair = self.candidates.pair
        return {
            "pair": [pair.first, pair.second],
            "measure": pair.method,
            "association": round(pair.value, 4),
            "target_association": {
                k: round(v, 4) for k, v in self.candidates.target_association.items()
            },
            "missing_rate": self.candidates.missing_rate,
            "locked": list(self.candidates.locked),
            "options": [s.to_dict() for s in self.scores],
            "chosen": self.chosen.text(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AssociationChoice:
    """The handling of every strong pair, as chosen by CV on the training split."""

    bar: float
    estimator: str
    decisions: tuple[PairDecision, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The association table the pairs came from, with the columns it covers (not logged).
    table: tuple[Association, ...] = field(default=(), repr=False, compare=False)
    table_columns: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def handlings(self) -> list[PairHandling]:
        return [d.chosen for d in self.decisions if d.chosen.action != KEEP]

    @property
    def spec(self) -> str:
        """The pipeline parameter `associated_inputs` that applies the choice."""
        return handling_spec(self.handlings)

    def summary(self) -> str:
        """One line per run: "JobLevel and MonthlyIncome (0.95): drop JobLevel"."""
        if not self.decisions:
            return f"no pair of raw inputs associated at or over {self.bar:g}"
        return "; ".join(
            f"{d.candidates.pair.first} and {d.candidates.pair.second} "
            f"({d.candidates.pair.value:.2f}): {d.chosen.text()}"
            for d in self.decisions
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bar": self.bar,
            "estimator": self.estimator,
            "rule": (
                "mean fold ROC AUC on the search's folds; the simplest option within one "
                "standard error of the best (drop < combine < keep both)"
            ),
            "summary": self.summary(),
            "associated_inputs": self.spec,
            "pairs": [d.to_dict() for d in self.decisions],
            "notes": list(self.notes),
            "seconds": round(self.seconds, 2),
        }


def paired_se(a: OptionScore, b: OptionScore) -> float:
    """Standard error of the mean fold-wise difference between two options (same folds)."""
    diff = np.subtract(a.fold_auc, b.fold_auc)
    return float(np.std(diff, ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else 0.0


def pick(scores: list[OptionScore]) -> tuple[OptionScore, str]:
    """The simplest option within one standard error of the best mean, and why.

    The options share their folds, so the noise is that of the fold-wise difference
    to the best option (a paired standard error), not of one option's fold spread.

    Raises:
        ValueError: when there is nothing to pick from.
    """
    if not scores:
        raise ValueError("no handling options were scored")
    best = max(scores, key=lambda s: s.mean)
    eligible = [s for s in scores if best.mean - s.mean <= paired_se(best, s)]
    chosen = min(eligible, key=lambda s: (SIMPLICITY[s.handling.action], -s.mean))
    if chosen is best:
        return chosen, f"best CV ROC AUC ({best.mean:.3f}); no simpler option within noise"
    return chosen, (
        f"simplest option within one paired standard error ({paired_se(best, chosen):.4f}) "
        f"of the best CV ROC AUC ({best.handling.text()}, {best.mean:.3f}; "
        f"this option {chosen.mean:.3f})"
    )


def choose_handling(
    candidates: list[PairCandidates], score: Scorer, *, bar: float, estimator: str
) -> AssociationChoice:
    """Score every option of every pair with `score` and keep the one `pick` chooses.

    Pairs are taken strongest first with the earlier choices applied; a pair one of
    whose members an earlier choice already dropped or combined is left as it is.
    """
    chosen: list[PairHandling] = []
    decisions: list[PairDecision] = []
    notes: list[str] = []
    seen: dict[str, tuple[float, ...]] = {}

    def cached(spec: str) -> tuple[float, ...]:
        # "keep" of a later pair is the earlier pairs' choice, already scored.
        if spec not in seen:
            seen[spec] = tuple(score(spec))
        return seen[spec]

    for found in candidates:
        touched = {c for h in chosen if h.action != KEEP for c in h.columns}
        members = {found.pair.first, found.pair.second}
        if members & touched:
            notes.append(
                f"{found.pair.first} and {found.pair.second}: not scored, a member was "
                "already dropped or combined for a stronger pair"
            )
            continue
        scores = [
            OptionScore(option, cached(handling_spec([*chosen, option])))
            for option in found.options
        ]
        best, reason = pick(scores)
        chosen.append(best.handling)
        decisions.append(PairDecision(found, tuple(scores), best.handling, reason))
    return AssociationChoice(
        bar=bar, estimator=estimator, decisions=tuple(decisions), notes=tuple(notes)
    )


def choose_pairs(
    features: pd.DataFrame,
    labels: pd.Series,
    config: DatasetConfig,
    *,
    bar: float,
    kinds: tuple[str, ...],
    seed: int,
    groups: pd.Series | None = None,
    cv_folds: int = 5,
    n_jobs: int = 2,
) -> AssociationChoice:
    """Find the training inputs' pairs at or over `bar` and choose each one's handling by CV.

    The folds are the search's own (`search_problem` with the same seed, fold count and
    groups); the quick estimator is logistic regression's default configuration when
    the search tries logistic regression, else the first kind's. Monotone-constrained
    inputs are never dropped or combined.
    """
    started = time.perf_counter()
    task = search_problem(
        features,
        labels,
        config,
        seed=seed,
        cv_folds=cv_folds,
        trials=1,
        kinds=kinds,
        max_abs_correlation=DEFAULT_MAX_CORRELATION,
        groups=groups,
    )
    kind = "logreg" if "logreg" in kinds else kinds[0]
    y = pd.Series(task.y, index=task.X.index)
    table = associations(task.X)
    found = pair_candidates(task.X, y, table, bar, config.monotone_increasing)
    quick = {**DEFAULT_PARAMS[kind], **task.extra}
    with (
        warnings.catch_warnings(),
        threadpool_limits(limits=1),
        Parallel(n_jobs=n_jobs, prefer="threads") as parallel,
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)

        def score(spec: str) -> list[float]:
            params = {**quick, "associated_inputs": spec}
            model = build_pipeline(kind, params, task.column_kinds, config, seed)
            proba = cv_proba(model, task, parallel, n_jobs)
            return [float(roc_auc_score(task.y[v], proba[v])) for _, v in task.folds]

        choice = choose_handling(found, score, bar=bar, estimator=f"{kind}, default configuration")
    return replace(
        choice,
        seconds=time.perf_counter() - started,
        table=tuple(table),
        table_columns=tuple(str(c) for c in task.X.columns),
    )
