"""Derive `src/attrition/data/calibration/` from the real IBM HR file.

Only statistics leave the real file: marginal and conditional frequency tables, Beta
parameters, log-income regressions and logistic-regression coefficients. No row is
written. Run from the repository root:

    .venv/bin/python benchmarks/calibrate_generator.py [--data PATH] [--check]

Without `--check` the script rewrites the calibration modules (formatted with ruff) and then
verifies the generator against it. The attrition model is fitted on the real rows;
its coefficients are then shrunk, on generated rows, until the model-implied ROC AUC
matches `TARGET_IMPLIED_AUC`, so that a model trained on synthetic data scores in the
real data's range (about 0.80-0.90) instead of near 1.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ibm_hr_attrition.csv"
TARGET = REPO / "src" / "attrition" / "data" / "calibration"
sys.path.insert(0, str(REPO / "src"))

AGE_BAND_UPPERS = [25, 30, 35, 40, 45, 50]
WORKING_YEARS_BAND_UPPERS = [2, 5, 8, 10, 12, 15, 20, 25, 30]
TARGET_IMPLIED_AUC = 0.87
CALIBRATION_ROWS = 200_000
CATEGORICAL = [
    "BusinessTravel",
    "Department",
    "EducationField",
    "Gender",
    "JobRole",
    "MaritalStatus",
]
SURVEY = [
    "EnvironmentSatisfaction",
    "JobInvolvement",
    "JobSatisfaction",
    "RelationshipSatisfaction",
    "TrainingTimesLastYear",
    "WorkLifeBalance",
]
TENURE = ["YearsInCurrentRole", "YearsWithCurrManager", "YearsSinceLastPromotion"]


def pmf(values: pd.Series) -> dict[Any, float]:
    """Relative frequencies keyed by value (plain Python types), sorted by key."""
    freq = values.value_counts(normalize=True).sort_index()
    return {_plain(k): round(float(v), 5) for k, v in freq.items()}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def conditional(
    frame: pd.DataFrame, by: str | pd.Series, column: str
) -> dict[Any, dict[Any, float]]:
    """One pmf of `column` per group of `by`."""
    return {_plain(k): pmf(g[column]) for k, g in frame.groupby(by, observed=True)}


def beta_moments(share: pd.Series) -> tuple[float, float]:
    """Beta(a, b) with the sample mean and variance of `share` (values in (0, 1))."""
    mean, var = float(share.mean()), float(share.var())
    common = mean * (1 - mean) / var - 1
    return round(mean * common, 4), round((1 - mean) * common, 4)


def band(values: pd.Series, uppers: list[int]) -> pd.Series:
    """Band index per value, bands given by inclusive upper bounds (as the generator does)."""
    return pd.Series(np.searchsorted(uppers, values.to_numpy(), side="left"), index=values.index)


def tables(real: pd.DataFrame) -> dict[str, Any]:
    """Every marginal and conditional table the generator draws from."""
    age_band = band(real["Age"], AGE_BAND_UPPERS)
    career_band = band(real["TotalWorkingYears"], WORKING_YEARS_BAND_UPPERS)
    out: dict[str, Any] = {
        "LEAVER_RATE": round(float((real["Attrition"] == "Yes").mean()), 5),
        "CATEGORY_LEVELS": {c: sorted(real[c].unique().tolist()) for c in CATEGORICAL},
        "AGE_PMF": pmf(real["Age"]),
        "AGE_BAND_UPPERS": AGE_BAND_UPPERS,
        "GENDER_PMF": pmf(real["Gender"]),
        "MARITAL_BY_AGE_BAND": list(conditional(real, age_band, "MaritalStatus").values()),
        "EDUCATION_BY_AGE_BAND": list(conditional(real, age_band, "Education").values()),
        "BUSINESS_TRAVEL_PMF": pmf(real["BusinessTravel"]),
        "DISTANCE_FROM_HOME_PMF": pmf(real["DistanceFromHome"]),
    }
    share = (real["TotalWorkingYears"] + 0.5) / (real["Age"] - 17)
    out["WORKING_YEARS_SHARE_BETA_BY_AGE_BAND"] = [
        beta_moments(s) for _, s in share.groupby(age_band)
    ]
    out["WORKING_YEARS_BAND_UPPERS"] = WORKING_YEARS_BAND_UPPERS
    out["JOB_LEVEL_BY_WORKING_YEARS_BAND"] = list(
        conditional(real, career_band, "JobLevel").values()
    )
    out["DEPARTMENT_BY_JOB_LEVEL"] = conditional(real, "JobLevel", "Department")
    out["JOB_ROLE_BY_DEPARTMENT_LEVEL"] = {
        dep: conditional(g, "JobLevel", "JobRole") for dep, g in real.groupby("Department")
    }
    out["EDUCATION_FIELD_BY_DEPARTMENT"] = conditional(real, "Department", "EducationField")

    income: dict[int, tuple[float, ...]] = {}
    for _, g in real.groupby("JobLevel"):
        log_income = np.log(g["MonthlyIncome"].to_numpy(dtype=float))
        slope, intercept = np.polyfit(g["TotalWorkingYears"], log_income, 1)
        resid = log_income - (intercept + slope * g["TotalWorkingYears"].to_numpy())
        income[int(g["JobLevel"].iloc[0])] = (
            round(float(intercept), 5),
            round(float(slope), 5),
            round(float(resid.std()), 5),
            float(g["MonthlyIncome"].min()),
            float(g["MonthlyIncome"].max()),
        )
    out["INCOME_BY_JOB_LEVEL"] = income
    out["NUM_COMPANIES_BY_WORKING_YEARS_BAND"] = list(
        conditional(real, career_band, "NumCompaniesWorked").values()
    )

    one_company = real["NumCompaniesWorked"] == 1
    whole = one_company & (real["YearsAtCompany"] == real["TotalWorkingYears"])
    out["WHOLE_CAREER_AT_COMPANY_RATE"] = round(float(whole.sum() / one_company.sum()), 5)
    rest = real[~whole & (real["TotalWorkingYears"] > 0)]
    share = (rest["YearsAtCompany"] + 0.5) / (rest["TotalWorkingYears"] + 1)
    out["YEARS_AT_COMPANY_SHARE_BETA_BY_WORKING_YEARS_BAND"] = [
        beta_moments(s) for _, s in share.groupby(career_band[rest.index])
    ]
    # Time in role, with the manager and since promotion never exceeds the real maxima:
    # the share applies to min(YearsAtCompany, max), which keeps long tenures plausible.
    tenured = real[real["YearsAtCompany"] > 0]
    out["TENURE_MAX"] = {c: int(real[c].max()) for c in TENURE}
    out["TENURE_SHARE_BETA"] = {
        c: beta_moments(
            (tenured[c] + 0.5) / (tenured["YearsAtCompany"].clip(upper=real[c].max()) + 1)
        )
        for c in TENURE
    }
    out["STOCK_OPTION_BY_MARITAL"] = conditional(real, "MaritalStatus", "StockOptionLevel")
    out["PERCENT_SALARY_HIKE_PMF"] = pmf(real["PercentSalaryHike"])
    out["OUTSTANDING_HIKE_MIN"] = int(
        real.loc[real["PerformanceRating"] == 4, "PercentSalaryHike"].min()
    )
    out["OVERTIME_RATE"] = round(float((real["OverTime"] == "Yes").mean()), 5)
    out["UNIFORM_RANGES"] = {
        c: (int(real[c].min()), int(real[c].max()))
        for c in ["DailyRate", "HourlyRate", "MonthlyRate"]
    }
    out["SURVEY_PMFS"] = {c: pmf(real[c]) for c in SURVEY}
    return out


def fit_attrition(real: pd.DataFrame, features: Callable[[pd.DataFrame], Any]) -> dict[str, float]:
    """Ridge logistic regression on the real rows; coefficients per raw unit of each term."""
    design = pd.DataFrame(dict(features(real)))
    y = (real["Attrition"] == "Yes").to_numpy()
    scale = design.std().replace(0, 1.0)
    x = (design - design.mean()) / scale
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = {
        c: cross_val_score(
            LogisticRegression(C=c, max_iter=5000), x, y, cv=folds, scoring="roc_auc"
        ).mean()
        for c in np.logspace(-2, 1, 13)
    }
    best = max(scores, key=lambda c: scores[c])
    model = LogisticRegression(C=best, max_iter=5000).fit(x, y)
    summary = f"C={best:.3g}, CV ROC AUC {scores[best]:.3f}, {design.shape[1]} terms"
    print(f"attrition fit on real rows: {summary}")
    return {
        name: float(c) / float(scale[name])
        for name, c in zip(design.columns, model.coef_[0], strict=True)
    }


def implied_auc(logit: np.ndarray) -> float:
    """Expected ROC AUC of the true probabilities when labels are drawn from them."""
    order = np.argsort(logit, kind="stable")
    p = 1.0 / (1.0 + np.exp(-logit[order]))
    negatives_below = np.cumsum(1.0 - p) - (1.0 - p)
    pairs = p.sum() * (1.0 - p).sum() - (p * (1.0 - p)).sum()
    return float((p * negatives_below).sum() / pairs)


def intercept_for_rate(logit: np.ndarray, rate: float) -> float:
    """Intercept shift that makes the mean probability equal `rate` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if (1.0 / (1.0 + np.exp(-(logit + mid)))).mean() < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def shrink_to_target(logit: np.ndarray, rate: float, target_auc: float) -> tuple[float, float]:
    """Shrink factor and intercept with implied AUC `target_auc` and leaver rate `rate`."""
    low, high = 0.0, 3.0
    for _ in range(40):
        mid = (low + high) / 2
        if implied_auc(mid * logit + intercept_for_rate(mid * logit, rate)) < target_auc:
            low = mid
        else:
            high = mid
    factor = (low + high) / 2
    return factor, intercept_for_rate(factor * logit, rate)


def annotation(value: Any) -> str:
    """Type annotation of a literal built from dicts, lists, tuples and scalars."""
    if isinstance(value, dict) and not value:
        return "dict[str, float]"
    if isinstance(value, dict):
        return f"dict[{_union(value.keys())}, {_union(value.values())}]"
    if isinstance(value, list):
        return f"list[{_union(value)}]"
    if isinstance(value, tuple):
        return f"tuple[{_union(value)}, ...]"
    return type(value).__name__


def _union(items: Any) -> str:
    return " | ".join(sorted({annotation(item) for item in items}))


# One generated module per stage of the generator: (docstring, names it holds).
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "demographics": (
        "Who the employees are: age, gender, marital status, education, travel, commute.",
        (
            "CATEGORY_LEVELS",
            "AGE_PMF",
            "AGE_BAND_UPPERS",
            "GENDER_PMF",
            "MARITAL_BY_AGE_BAND",
            "EDUCATION_BY_AGE_BAND",
            "BUSINESS_TRAVEL_PMF",
            "DISTANCE_FROM_HOME_PMF",
        ),
    ),
    "careers": (
        "Careers: working years, job level, department, role, field, income, employers, tenure.",
        (
            "WORKING_YEARS_SHARE_BETA_BY_AGE_BAND",
            "WORKING_YEARS_BAND_UPPERS",
            "JOB_LEVEL_BY_WORKING_YEARS_BAND",
            "DEPARTMENT_BY_JOB_LEVEL",
            "JOB_ROLE_BY_DEPARTMENT_LEVEL",
            "EDUCATION_FIELD_BY_DEPARTMENT",
            "INCOME_BY_JOB_LEVEL",
            "NUM_COMPANIES_BY_WORKING_YEARS_BAND",
            "WHOLE_CAREER_AT_COMPANY_RATE",
            "YEARS_AT_COMPANY_SHARE_BETA_BY_WORKING_YEARS_BAND",
            "TENURE_MAX",
            "TENURE_SHARE_BETA",
        ),
    ),
    "pay_and_survey": (
        "Pay and survey answers: stock options, raises, overtime, pay rates, satisfaction.",
        (
            "STOCK_OPTION_BY_MARITAL",
            "PERCENT_SALARY_HIKE_PMF",
            "OUTSTANDING_HIKE_MIN",
            "OVERTIME_RATE",
            "UNIFORM_RANGES",
            "SURVEY_PMFS",
        ),
    ),
    "leaving": (
        "Who leaves: the leaver rate and the attrition model's coefficients.",
        ("LEAVER_RATE", "ATTRITION_SHRINK", "ATTRITION_INTERCEPT", "ATTRITION_COEFFICIENTS"),
    ),
}


def render(doc: str, values: Mapping[str, Any]) -> str:
    """Python source of one calibration module holding `values`."""
    header = (
        f'"""{doc}\n\nGenerated by `benchmarks/calibrate_generator.py`; '
        'do not edit by hand, re-run it.\n"""\n\n'
    )
    body = "\n".join(f"{name}: {annotation(value)} = {value!r}" for name, value in values.items())
    return header + body + "\n"


def write(values: Mapping[str, Any]) -> None:
    """Write and format the calibration modules, each with its share of `values`."""
    placed = {name for _, names in MODULES.values() for name in names}
    if placed != set(values):
        raise SystemExit(f"calibration names without a module: {sorted(set(values) - placed)}")
    for module, (doc, names) in MODULES.items():
        path = TARGET / f"{module}.py"
        path.write_text(render(doc, {name: values[name] for name in names}), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(TARGET)], check=False)


def verify(rows: int = 20_000) -> None:
    """Generate fresh rows and report leaver rate, timing and hold-out AUC of a plain model."""
    from attrition.data.generate import generate_employees

    start = time.perf_counter()
    frame = generate_employees(1_000_000, seed=1)
    print(f"generate_employees(1_000_000): {time.perf_counter() - start:.2f} s")
    frame = generate_employees(rows, seed=7)
    y = (frame["Attrition"] == "Yes").to_numpy()
    x = frame.drop(
        columns=["Attrition", "EmployeeNumber", "EmployeeCount", "StandardHours", "Over18"]
    )
    cats = x.select_dtypes(object).columns.tolist()
    nums = [c for c in x.columns if c not in cats]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), cats), (StandardScaler(), nums)
        ),
        LogisticRegression(max_iter=2000),
    )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    model.fit(x_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    print(f"leaver rate {y.mean():.3f}; plain logistic regression hold-out ROC AUC {auc:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--check", action="store_true", help="only verify the committed calibration"
    )
    args = parser.parse_args()
    if args.check:
        verify()
        return

    real = pd.read_csv(args.data, encoding="utf-8-sig")
    values = tables(real)
    # The generator reads the calibration at import, so write the tables first (no
    # attrition effect yet), then fit and shrink the attrition model on generated rows.
    write(
        {
            **values,
            "ATTRITION_SHRINK": 1.0,
            "ATTRITION_INTERCEPT": 0.0,
            "ATTRITION_COEFFICIENTS": {},
        }
    )
    generate = importlib.import_module("attrition.data.generate")

    raw = fit_attrition(real, generate.attrition_features)
    real_auc = roc_auc_score(real["Attrition"] == "Yes", generate.attrition_logit(real, raw, 0.0))
    print(f"in-sample ROC AUC on real rows: {real_auc:.3f}")
    synthetic = generate.generate_employees(CALIBRATION_ROWS, seed=12345)
    logit = generate.attrition_logit(synthetic, raw, 0.0)
    unshrunk = implied_auc(logit + intercept_for_rate(logit, values["LEAVER_RATE"]))
    print(f"implied ROC AUC on generated rows before shrinking: {unshrunk:.3f}")
    factor, intercept = shrink_to_target(logit, values["LEAVER_RATE"], TARGET_IMPLIED_AUC)
    print(f"shrink factor {factor:.3f}, intercept {intercept:.3f}")
    values["ATTRITION_SHRINK"] = round(factor, 4)
    values["ATTRITION_INTERCEPT"] = round(intercept, 4)
    values["ATTRITION_COEFFICIENTS"] = {k: round(v * factor, 5) for k, v in raw.items()}
    write(values)
    print(f"wrote {TARGET.relative_to(REPO)}")
    for module in MODULES:
        importlib.reload(sys.modules[f"attrition.data.calibration.{module}"])
    importlib.reload(generate)
    verify()


if __name__ == "__main__":
    main()
