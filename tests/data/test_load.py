"""Loading CSV, Parquet and SQL tables, and the errors for what cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from attrition.data.load import is_sql_url, load_table
from attrition.errors import DataError


def make_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "left": [0, 1, 0], "dept": ["a", "b", "a"]})


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_bytes("\ufeffid,left,dept\r\n1,0,a\r\n2,1,b\r\n".encode())
    frame = load_table(path)
    assert list(frame.columns) == ["id", "left", "dept"]
    assert frame["left"].tolist() == [0, 1]


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "hr.parquet"
    make_frame().to_parquet(path)
    pd.testing.assert_frame_equal(load_table(path), make_frame())


def test_sqlite_table_by_fragment_and_by_argument(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hr.db'}"
    engine = sa.create_engine(url)
    make_frame().to_sql("employees", engine, index=False)
    engine.dispose()
    assert len(load_table(f"{url}#employees")) == 3
    assert len(load_table(url, table="employees")) == 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "file is empty"),
        ("notes.txt", b"hello\n", "unknown file format '.txt'"),
        ("header_only.csv", b"a,b\n", "no data rows"),
        ("broken.parquet", b"not parquet at all", "cannot be read as parquet"),
    ],
)
def test_unusable_files_name_file_and_problem(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load_table(path)
    assert name in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_table(tmp_path / "nope.csv")


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(DataError, match="database unreachable") as info:
        load_table("postgresql://nobody:secret@127.0.0.1:1/hr#employees")
    assert "secret" not in str(info.value)


def test_missing_table_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hr.db'}"
    sa.create_engine(url).connect().close()
    with pytest.raises(DataError, match="table 'employees' not found"):
        load_table(f"{url}#employees")


def test_sql_url_without_table() -> None:
    with pytest.raises(DataError, match="name the table"):
        load_table("sqlite:///:memory:")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("postgresql://u@h/db#t", True),
        ("postgresql+psycopg2://u@h/db", True),
        ("sqlite:///x.db", True),
        ("data/hr.csv", False),
        ("C:/data/hr.csv", False),
    ],
)
def test_sql_url_detection(source: str, expected: bool) -> None:
    assert is_sql_url(source) is expected
