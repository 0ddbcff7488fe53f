"""Store maintenance: status, garbage collection of runs, prediction archives, indexes.

The tracking store (SQLite or PostgreSQL), its local artifact directories and the
prediction store grow with every training, monitoring run and prediction. These
modules measure them (`status`), delete what nothing points to through MLflow's
own deletion and `mlflow gc` (`gc`), move old predictions to compressed Parquet
(`archive`) and create the indexes the project's queries use (`indexes`).
"""
