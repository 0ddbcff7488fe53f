"""Synthetic employees with the IBM HR schema, calibrated on the real table's statistics.

The generator draws columns in causal order (demographics, career, tenure, pay and
survey answers) from the conditional tables in `attrition.data.calibration`, then
draws `Attrition` from a logistic model fitted on the real file. Everything is
vectorised so a million rows take a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from attrition.data.calibration import careers, demographics, leaving, pay_and_survey

Frame = pd.DataFrame | Mapping[str, "pd.Series[Any]"]
"""An IBM-schema table: a DataFrame or a mapping of column name to Series."""

COLUMNS: tuple[str, ...] = (
    "Age",
    "Attrition",
    "BusinessTravel",
    "DailyRate",
    "Department",
    "DistanceFromHome",
    "Education",
    "EducationField",
    "EmployeeCount",
    "EmployeeNumber",
    "EnvironmentSatisfaction",
    "Gender",
    "HourlyRate",
    "JobInvolvement",
    "JobLevel",
    "JobRole",
    "JobSatisfaction",
    "MaritalStatus",
    "MonthlyIncome",
    "MonthlyRate",
    "NumCompaniesWorked",
    "Over18",
    "OverTime",
    "PercentSalaryHike",
    "PerformanceRating",
    "RelationshipSatisfaction",
    "StandardHours",
    "StockOptionLevel",
    "TotalWorkingYears",
    "TrainingTimesLastYear",
    "WorkLifeBalance",
    "YearsAtCompany",
    "YearsInCurrentRole",
    "YearsSinceLastPromotion",
    "YearsWithCurrManager",
)

CATEGORIES: dict[str, tuple[str, ...]] = {
    "Attrition": ("No", "Yes"),
    "Over18": ("Y",),
    "OverTime": ("No", "Yes"),
    **{column: tuple(levels) for column, levels in demographics.CATEGORY_LEVELS.items()},
}
"""The real table's categories; every generated value is one of these."""

# One-hot terms of the attrition model: column -> levels with their own coefficient
# (the remaining level is the reference). Ordinal survey answers are one-hot because
# their effect on leaving is not linear in the real data.
_ONE_HOT_TERMS: dict[str, tuple[str | int, ...]] = {
    "BusinessTravel": ("Travel_Frequently", "Travel_Rarely"),
    "Department": ("Research & Development", "Sales"),
    "EducationField": ("Life Sciences", "Marketing", "Medical", "Other", "Technical Degree"),
    "Gender": ("Male",),
    "JobRole": (
        "Human Resources",
        "Laboratory Technician",
        "Manager",
        "Manufacturing Director",
        "Research Director",
        "Research Scientist",
        "Sales Executive",
        "Sales Representative",
    ),
    "MaritalStatus": ("Divorced", "Single"),
    "OverTime": ("Yes",),
    "JobLevel": (2, 3, 4, 5),
    "StockOptionLevel": (1, 2, 3),
    "EnvironmentSatisfaction": (2, 3, 4),
    "JobSatisfaction": (2, 3, 4),
    "JobInvolvement": (2, 3, 4),
    "WorkLifeBalance": (2, 3, 4),
    "RelationshipSatisfaction": (2, 3, 4),
}
_NUMERIC_TERMS: tuple[str, ...] = (
    "Age",
    "DistanceFromHome",
    "NumCompaniesWorked",
    "TotalWorkingYears",
    "YearsAtCompany",
    "YearsInCurrentRole",
    "YearsSinceLastPromotion",
    "YearsWithCurrManager",
    "TrainingTimesLastYear",
)


def _cumulative(pmfs: Sequence[Mapping[Any, float]], levels: Sequence[Any]) -> np.ndarray:
    """Stack pmfs into a (groups, levels) array of normalised cumulative probabilities."""
    table = np.array([[pmf.get(level, 0.0) for level in levels] for pmf in pmfs], dtype=float)
    cum = np.cumsum(table, axis=1)
    return cum / cum[:, -1:]


def _draw(
    rng: np.random.Generator, cum: np.ndarray, group: np.ndarray | None, rows: int
) -> np.ndarray:
    """Draw level indices from cumulative tables, one row of `cum` per group."""
    u = rng.random(rows)
    levels = cum.shape[1]
    if group is None:
        codes = np.searchsorted(cum[0], u, side="right")
    else:
        # Shift group g's table and draws by g: one sorted search serves every group.
        offsets = np.arange(cum.shape[0])[:, None]
        codes = np.searchsorted((cum + offsets).ravel(), u + group, side="right") - group * levels
    return np.minimum(codes, levels - 1)


def _draw_values(
    rng: np.random.Generator,
    pmfs: Sequence[Mapping[int, float]],
    group: np.ndarray | None,
    rows: int,
) -> np.ndarray:
    """Draw integer values from (conditional) pmfs keyed by value."""
    values = sorted({v for pmf in pmfs for v in pmf})
    codes = _draw(rng, _cumulative(pmfs, values), group, rows)
    return np.asarray(values, dtype=np.int64)[codes]


def _draw_beta_share(rng: np.random.Generator, params: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Draw floor(Beta(a, b) * (span + 1)): an integer in [0, span] for each row."""
    share = rng.beta(params[..., 0], params[..., 1], size=span.shape)
    return np.minimum(np.floor(share * (span + 1)).astype(np.int64), span)


def _band(values: np.ndarray, uppers: Sequence[int]) -> np.ndarray:
    """Index of the band each value falls in, bands given by inclusive upper bounds."""
    return np.searchsorted(np.asarray(uppers), values, side="left")


def _demographics(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Age, gender, marital status, education, travel and commute."""
    age = _draw_values(rng, [demographics.AGE_PMF], None, rows)
    age_band = _band(age, demographics.AGE_BAND_UPPERS)
    marital = CATEGORIES["MaritalStatus"]
    return {
        "Age": age,
        "Gender": _draw(
            rng, _cumulative([demographics.GENDER_PMF], CATEGORIES["Gender"]), None, rows
        ),
        "MaritalStatus": _draw(
            rng, _cumulative(demographics.MARITAL_BY_AGE_BAND, marital), age_band, rows
        ),
        "Education": _draw_values(rng, demographics.EDUCATION_BY_AGE_BAND, age_band, rows),
        "BusinessTravel": _draw(
            rng,
            _cumulative([demographics.BUSINESS_TRAVEL_PMF], CATEGORIES["BusinessTravel"]),
            None,
            rows,
        ),
        "DistanceFromHome": _draw_values(rng, [demographics.DISTANCE_FROM_HOME_PMF], None, rows),
    }


def _career(rng: np.random.Generator, age: np.ndarray) -> dict[str, np.ndarray]:
    """Working years, job level, department, role, field of study, income, employers."""
    rows = len(age)
    beta = np.asarray(careers.WORKING_YEARS_SHARE_BETA_BY_AGE_BAND)[
        _band(age, demographics.AGE_BAND_UPPERS)
    ]
    working_years = _draw_beta_share(rng, beta, age - 18)
    career_band = _band(working_years, careers.WORKING_YEARS_BAND_UPPERS)
    level = _draw_values(rng, careers.JOB_LEVEL_BY_WORKING_YEARS_BAND, career_band, rows)

    departments = CATEGORIES["Department"]
    levels = sorted(careers.DEPARTMENT_BY_JOB_LEVEL)
    level_index = np.searchsorted(levels, level)
    department = _draw(
        rng,
        _cumulative([careers.DEPARTMENT_BY_JOB_LEVEL[lv] for lv in levels], departments),
        level_index,
        rows,
    )
    role_pmfs = [careers.JOB_ROLE_BY_DEPARTMENT_LEVEL[d][lv] for d in departments for lv in levels]
    role = _draw(
        rng,
        _cumulative(role_pmfs, CATEGORIES["JobRole"]),
        department * len(levels) + level_index,
        rows,
    )
    field_pmfs = [careers.EDUCATION_FIELD_BY_DEPARTMENT[d] for d in departments]
    field = _draw(rng, _cumulative(field_pmfs, CATEGORIES["EducationField"]), department, rows)

    income_model = np.array([careers.INCOME_BY_JOB_LEVEL[lv] for lv in levels])[level_index]
    log_income = (
        income_model[:, 0]
        + income_model[:, 1] * working_years
        + income_model[:, 2] * rng.standard_normal(rows)
    )
    income = np.clip(np.rint(np.exp(log_income)), income_model[:, 3], income_model[:, 4]).astype(
        np.int64
    )

    companies = _draw_values(rng, careers.NUM_COMPANIES_BY_WORKING_YEARS_BAND, career_band, rows)
    return {
        "TotalWorkingYears": working_years,
        "JobLevel": level,
        "Department": department,
        "JobRole": role,
        "EducationField": field,
        "MonthlyIncome": income,
        "NumCompaniesWorked": companies,
    }


def _tenure(
    rng: np.random.Generator, working_years: np.ndarray, companies: np.ndarray
) -> dict[str, np.ndarray]:
    """Years at the company, in the role, with the manager and since the last promotion."""
    rows = len(working_years)
    whole_career = (companies == 1) & (rng.random(rows) < careers.WHOLE_CAREER_AT_COMPANY_RATE)
    career_band = _band(working_years, careers.WORKING_YEARS_BAND_UPPERS)
    beta = np.asarray(careers.YEARS_AT_COMPANY_SHARE_BETA_BY_WORKING_YEARS_BAND)[career_band]
    at_company = np.where(whole_career, working_years, _draw_beta_share(rng, beta, working_years))
    return {
        "YearsAtCompany": at_company,
        **{
            column: _draw_beta_share(
                rng, np.asarray(params), np.minimum(at_company, careers.TENURE_MAX[column])
            )
            for column, params in careers.TENURE_SHARE_BETA.items()
        },
    }


def _pay_and_survey(rng: np.random.Generator, marital: np.ndarray) -> dict[str, np.ndarray]:
    """Stock options, raise and rating, pay rates, survey answers, training and overtime."""
    rows = len(marital)
    stock_pmfs = [pay_and_survey.STOCK_OPTION_BY_MARITAL[m] for m in CATEGORIES["MaritalStatus"]]
    hike = _draw_values(rng, [pay_and_survey.PERCENT_SALARY_HIKE_PMF], None, rows)
    columns: dict[str, np.ndarray] = {
        "StockOptionLevel": _draw_values(rng, stock_pmfs, marital, rows),
        "PercentSalaryHike": hike,
        # In the real table the rating is exactly "outstanding" when the raise is >= 20%.
        "PerformanceRating": np.where(hike >= pay_and_survey.OUTSTANDING_HIKE_MIN, 4, 3).astype(
            np.int64
        ),
        "OverTime": np.asarray(rng.random(rows) < pay_and_survey.OVERTIME_RATE, dtype=np.int64),
    }
    for column, (low, high) in pay_and_survey.UNIFORM_RANGES.items():
        columns[column] = rng.integers(low, high + 1, size=rows, dtype=np.int64)
    for column, pmf in pay_and_survey.SURVEY_PMFS.items():
        columns[column] = _draw_values(rng, [pmf], None, rows)
    return columns


def attrition_features(frame: Frame) -> Iterator[tuple[str, np.ndarray]]:
    """Yield the named terms of the attrition model, computed from an IBM-schema frame.

    Shared by the generator and `benchmarks/calibrate_generator.py` so the fitted
    coefficients and the simulated mechanism cannot drift apart. Terms are yielded one
    at a time to keep memory flat on millions of rows.
    """
    for column in _NUMERIC_TERMS:
        yield column, frame[column].to_numpy(dtype=float)
    yield "log_MonthlyIncome", np.log(frame["MonthlyIncome"].to_numpy(dtype=float))
    for column, levels in _ONE_HOT_TERMS.items():
        for level in levels:
            yield f"{column}={level}", (frame[column] == level).to_numpy(dtype=float)
    overtime = (frame["OverTime"] == "Yes").to_numpy()
    single = (frame["MaritalStatus"] == "Single").to_numpy()
    yield "OverTime=Yes*JobLevel=1", (overtime & (frame["JobLevel"] == 1).to_numpy()).astype(float)
    yield "OverTime=Yes*MaritalStatus=Single", (overtime & single).astype(float)
    yield (
        "StockOptionLevel=0*MaritalStatus=Single",
        ((frame["StockOptionLevel"] == 0).to_numpy() & single).astype(float),
    )


def attrition_logit(
    frame: Frame, coefficients: Mapping[str, float], intercept: float
) -> np.ndarray:
    """Linear predictor of the attrition model for every row of `frame`."""
    logit = np.full(len(frame["Age"]), intercept, dtype=float)
    for name, values in attrition_features(frame):
        weight = coefficients.get(name, 0.0)
        if weight:
            logit += weight * values
    return logit


def _to_frame(columns: dict[str, np.ndarray], rows: int) -> pd.DataFrame:
    """Assemble the IBM-schema frame; categorical codes become their labels."""
    # Column-by-column insertion keeps one block per column; building from a dict
    # would copy every object column into one consolidated block, which dominates
    # the run time on a million rows.
    frame = pd.DataFrame(index=pd.RangeIndex(rows))
    for name in COLUMNS:
        values = columns[name]
        if name in CATEGORIES:
            values = np.asarray(CATEGORIES[name], dtype=object)[values]
        frame[name] = values
    return frame


def generate_employees(rows: int, seed: int = 0) -> pd.DataFrame:
    """Return `rows` synthetic employees with the IBM HR schema, column order and dtypes.

    The same `seed` gives an identical frame. About 16% are leavers, and a model
    trained on the output scores a ROC AUC in the real data's range, not near 1.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    rng = np.random.default_rng(seed)
    columns = _demographics(rng, rows)
    columns.update(_career(rng, columns["Age"]))
    columns.update(_tenure(rng, columns["TotalWorkingYears"], columns["NumCompaniesWorked"]))
    columns.update(_pay_and_survey(rng, columns["MaritalStatus"]))
    columns["EmployeeNumber"] = np.cumsum(rng.integers(1, 3, rows, dtype=np.int64))
    columns["EmployeeCount"] = np.ones(rows, dtype=np.int64)
    columns["StandardHours"] = np.full(rows, 80, dtype=np.int64)
    columns["Over18"] = np.zeros(rows, dtype=np.int64)

    # Score on categorical views: comparing codes is far cheaper than comparing strings.
    view = {
        name: pd.Series(
            pd.Categorical.from_codes(values, categories=pd.Index(CATEGORIES[name]))
            if name in CATEGORIES
            else values,
            copy=False,
        )
        for name, values in columns.items()
    }
    logit = attrition_logit(view, leaving.ATTRITION_COEFFICIENTS, leaving.ATTRITION_INTERCEPT)
    leave = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    columns["Attrition"] = leave.astype(np.int64)
    return _to_frame(columns, rows)


def with_duplicates(
    frame: pd.DataFrame, share: float, seed: int = 0, id_column: str | None = "EmployeeNumber"
) -> pd.DataFrame:
    """`frame` plus copies of its rows, so that `share` of the result repeats an earlier row.

    Copies get fresh ids (ids stay unique, as an HR extract's would) and the rows are
    shuffled, as duplicates in a real extract are scattered through it.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1), got {share}")
    rng = np.random.default_rng(seed)
    copies = round(len(frame) * share / (1.0 - share))
    extra = frame.iloc[rng.integers(0, len(frame), copies)].copy()
    if id_column and id_column in frame.columns:
        start = int(pd.to_numeric(frame[id_column]).max()) + 1
        extra[id_column] = np.arange(start, start + copies, dtype=np.int64)
    both = pd.concat([frame, extra], ignore_index=True)
    return both.iloc[rng.permutation(len(both))].reset_index(drop=True)
