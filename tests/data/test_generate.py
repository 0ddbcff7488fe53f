"""Tests of the synthetic employee generator: schema, consistency, determinism, realism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.data.calibration import leaving
from attrition.data.generate import attrition_features, generate_employees

REAL_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "ibm_hr_attrition.csv"

IBM_COLUMNS = [
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
]
REAL_CATEGORIES = {
    "Attrition": {"Yes", "No"},
    "BusinessTravel": {"Travel_Rarely", "Travel_Frequently", "Non-Travel"},
    "Department": {"Research & Development", "Sales", "Human Resources"},
    "EducationField": {
        "Life Sciences",
        "Medical",
        "Marketing",
        "Technical Degree",
        "Other",
        "Human Resources",
    },
    "Gender": {"Female", "Male"},
    "JobRole": {
        "Sales Executive",
        "Research Scientist",
        "Laboratory Technician",
        "Manufacturing Director",
        "Healthcare Representative",
        "Manager",
        "Sales Representative",
        "Research Director",
        "Human Resources",
    },
    "MaritalStatus": {"Single", "Married", "Divorced"},
    "Over18": {"Y"},
    "OverTime": {"Yes", "No"},
}
ROLES_BY_DEPARTMENT = {
    "Human Resources": {"Human Resources", "Manager"},
    "Research & Development": {
        "Research Scientist",
        "Laboratory Technician",
        "Manufacturing Director",
        "Healthcare Representative",
        "Research Director",
        "Manager",
    },
    "Sales": {"Sales Executive", "Sales Representative", "Manager"},
}
INTEGER_RANGES = {
    "Age": (18, 60),
    "DailyRate": (102, 1499),
    "DistanceFromHome": (1, 29),
    "Education": (1, 5),
    "EnvironmentSatisfaction": (1, 4),
    "HourlyRate": (30, 100),
    "JobInvolvement": (1, 4),
    "JobLevel": (1, 5),
    "JobSatisfaction": (1, 4),
    "MonthlyIncome": (1009, 19999),
    "MonthlyRate": (2094, 26999),
    "NumCompaniesWorked": (0, 9),
    "PercentSalaryHike": (11, 25),
    "PerformanceRating": (3, 4),
    "RelationshipSatisfaction": (1, 4),
    "StockOptionLevel": (0, 3),
    "TrainingTimesLastYear": (0, 6),
    "WorkLifeBalance": (1, 4),
}


@pytest.fixture(scope="module")
def employees() -> pd.DataFrame:
    """20,000 generated employees shared by the module's tests."""
    return generate_employees(20_000, seed=42)


def _leaver_rate(frame: pd.DataFrame) -> float:
    return float((frame["Attrition"] == "Yes").mean())


def test_schema_matches_ibm_columns_order_and_dtypes(employees: pd.DataFrame) -> None:
    assert list(employees.columns) == IBM_COLUMNS
    assert len(employees) == 20_000
    for column in IBM_COLUMNS:
        expected = object if column in REAL_CATEGORIES else np.int64
        assert employees[column].dtype == expected, column


def test_categories_are_the_real_ones(employees: pd.DataFrame) -> None:
    for column, allowed in REAL_CATEGORIES.items():
        assert set(employees[column].unique()) <= allowed, column


def test_job_role_matches_department(employees: pd.DataFrame) -> None:
    for department, roles in employees.groupby("Department")["JobRole"]:
        assert set(roles) <= ROLES_BY_DEPARTMENT[str(department)], department


def test_constant_and_id_columns(employees: pd.DataFrame) -> None:
    assert (employees["EmployeeCount"] == 1).all()
    assert (employees["StandardHours"] == 80).all()
    assert (employees["Over18"] == "Y").all()
    assert employees["EmployeeNumber"].is_unique
    assert (employees["EmployeeNumber"] > 0).all()


@pytest.mark.parametrize(("column", "bounds"), INTEGER_RANGES.items())
def test_integer_ranges(employees: pd.DataFrame, column: str, bounds: tuple[int, int]) -> None:
    low, high = bounds
    assert employees[column].between(low, high).all(), column


def test_career_years_are_consistent(employees: pd.DataFrame) -> None:
    e = employees
    assert (e["TotalWorkingYears"] >= 0).all()
    assert (e["TotalWorkingYears"] <= e["Age"] - 18).all()
    assert (e["YearsAtCompany"] <= e["TotalWorkingYears"]).all()
    for column in ("YearsInCurrentRole", "YearsWithCurrManager", "YearsSinceLastPromotion"):
        assert e[column].between(0, e["YearsAtCompany"]).all(), column


def test_performance_rating_follows_salary_hike(employees: pd.DataFrame) -> None:
    expected = np.where(employees["PercentSalaryHike"] >= 20, 4, 3)
    assert (employees["PerformanceRating"].to_numpy() == expected).all()


def test_single_employees_mostly_have_no_stock_options(employees: pd.DataFrame) -> None:
    single = employees["MaritalStatus"] == "Single"
    assert (employees.loc[single, "StockOptionLevel"] == 0).mean() > 0.9
    assert (employees.loc[~single, "StockOptionLevel"] == 0).mean() < 0.3


def test_income_and_level_rise_with_experience(employees: pd.DataFrame) -> None:
    medians = employees.groupby("JobLevel")["MonthlyIncome"].median()
    assert list(medians.index) == [1, 2, 3, 4, 5]
    assert medians.is_monotonic_increasing
    assert (
        medians[1] < 4000 < medians[2] < 7000 < medians[3] < 12000 < medians[4] < 18000 < medians[5]
    )
    years = employees.groupby("JobLevel")["TotalWorkingYears"].mean()
    assert years[1] < years[2] < years[3] < years[4]
    assert employees["JobLevel"].corr(employees["Age"]) > 0.3


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    first = generate_employees(2_000, seed=7)
    pd.testing.assert_frame_equal(first, generate_employees(2_000, seed=7))
    assert not first.equals(generate_employees(2_000, seed=8))


def test_zero_rows_keep_the_schema_and_negative_rows_fail() -> None:
    empty = generate_employees(0)
    assert list(empty.columns) == IBM_COLUMNS
    assert empty.empty
    with pytest.raises(ValueError, match="rows"):
        generate_employees(-1)


def test_leaver_rate_is_about_sixteen_percent(employees: pd.DataFrame) -> None:
    assert 0.12 <= _leaver_rate(employees) <= 0.20


def test_known_risk_factors_raise_attrition(employees: pd.DataFrame) -> None:
    e = employees
    assert _leaver_rate(e[e["OverTime"] == "Yes"]) > _leaver_rate(e[e["OverTime"] == "No"]) + 0.1
    assert _leaver_rate(e[e["MaritalStatus"] == "Single"]) > _leaver_rate(
        e[e["MaritalStatus"] == "Married"]
    )
    assert _leaver_rate(e[e["JobLevel"] == 1]) > _leaver_rate(e[e["JobLevel"] >= 2])
    assert _leaver_rate(e[e["Age"] < 30]) > _leaver_rate(e[e["Age"] >= 40])


def test_attrition_terms_match_calibrated_coefficients(employees: pd.DataFrame) -> None:
    names = [name for name, _ in attrition_features(employees.head(10))]
    assert len(names) == len(set(names))
    assert set(names) == set(leaving.ATTRITION_COEFFICIENTS)


def test_plain_model_scores_a_realistic_auc() -> None:
    """Learnable but not trivial: the real data's logistic regression scores about 0.84."""
    train = generate_employees(8_000, seed=101)
    test = generate_employees(4_000, seed=202)
    drop = ["Attrition", "EmployeeNumber", "EmployeeCount", "StandardHours", "Over18"]
    categorical = [c for c in REAL_CATEGORIES if c not in drop]
    numeric = [c for c in IBM_COLUMNS if c not in drop and c not in categorical]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            (StandardScaler(), numeric),
        ),
        LogisticRegression(max_iter=2_000),
    )
    model.fit(train.drop(columns=drop), train["Attrition"] == "Yes")
    auc = roc_auc_score(
        test["Attrition"] == "Yes", model.predict_proba(test.drop(columns=drop))[:, 1]
    )
    assert 0.78 <= auc <= 0.92


def test_marginals_match_the_real_file(employees: pd.DataFrame) -> None:
    if not REAL_FILE.exists():
        pytest.skip(f"real IBM HR file not found at {REAL_FILE}; marginals cannot be compared")
    real = pd.read_csv(REAL_FILE, encoding="utf-8-sig")
    assert list(real.columns) == IBM_COLUMNS
    assert abs(employees["Age"].mean() - real["Age"].mean()) < 2
    assert abs(employees["MonthlyIncome"].median() - real["MonthlyIncome"].median()) < 600
    assert abs(employees["TotalWorkingYears"].mean() - real["TotalWorkingYears"].mean()) < 1.5
    assert abs(employees["YearsAtCompany"].mean() - real["YearsAtCompany"].mean()) < 1.5
    for column, level in [
        ("OverTime", "Yes"),
        ("MaritalStatus", "Single"),
        ("Department", "Sales"),
    ]:
        share = (employees[column] == level).mean() - (real[column] == level).mean()
        assert abs(share) < 0.05, column
    assert abs(_leaver_rate(employees) - _leaver_rate(real)) < 0.03
    for column in REAL_CATEGORIES:
        assert set(employees[column].unique()) <= set(real[column].unique()), column
