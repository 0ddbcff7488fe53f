"""Read an HR extract from CSV, Parquet or a SQL table behind an SQLAlchemy URL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attrition.errors import DataError
from attrition.redact import redact_url

SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle")


def is_sql_url(source: str) -> bool:
    """True when `source` looks like an SQLAlchemy database URL rather than a file path."""
    scheme = source.split("://", 1)[0].split("+", 1)[0].lower() if "://" in source else ""
    return scheme in SQL_SCHEMES


def load_table(source: str | Path, *, table: str | None = None) -> pd.DataFrame:
    """Load a table from a file path (.csv, .parquet) or an SQLAlchemy URL.

    A SQL source names its table with `table=` or a URL fragment:
    `postgresql://user@host/db#employees`.
    """
    text = str(source)
    if is_sql_url(text):
        url, _, fragment = text.partition("#")
        return _load_sql(url, table or fragment or None)
    return _load_file(Path(text))


def _load_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a .csv or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataError(f"{path}: unknown file format '{suffix or 'none'}' (use .csv or .parquet)")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
        else:
            frame = pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({_first_line(exc)})") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({_first_line(exc)})") from exc
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    return frame


def _load_sql(url: str, table: str | None) -> pd.DataFrame:
    import sqlalchemy as sa

    shown = redact_url(url)
    if not table:
        raise DataError(f"{shown}: name the table, e.g. '{shown}#employees'")
    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # bad URL syntax or missing driver
        raise DataError(f"{shown}: not a usable database URL ({_first_line(exc)})") from exc
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(table):
                raise DataError(f"{shown}: table '{table}' not found")
            frame = pd.read_sql_table(table, connection)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{shown}: database unreachable ({_first_line(exc)})") from exc
    finally:
        engine.dispose()
    if frame.empty:
        raise DataError(f"{shown}#{table}: no data rows")
    # SQLAlchemy names columns with `quoted_name`, a str subclass that scikit-learn does not
    # take for feature names: plain strings, as a file gives.
    frame.columns = [str(name) for name in frame.columns]
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV or Parquet by suffix, atomically (a partial file never appears)."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataError(f"{path}: unknown file format '{suffix or 'none'}' (use .csv or .parquet)")
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        if suffix == ".csv":
            # pyarrow writes large CSVs several times faster than pandas.
            table = pa.Table.from_pandas(frame, preserve_index=False)
            options = pa_csv.WriteOptions(quoting_style="needed")
            pa_csv.write_csv(table, partial, write_options=options)
        else:
            frame.to_parquet(partial, index=False)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
