"""Thin layer over MLflow: where runs and artifacts go, and how a model version is made.

Nothing here decides anything about the model; it records what the core produced.
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import Model, infer_signature
from mlflow.tracking import MlflowClient

import attrition
from attrition import probability_model

# What a registered model needs to load and predict, pinned to the versions it was trained with.
MODEL_PACKAGES = ("scikit-learn", "lightgbm", "pandas", "numpy", "scipy", "fairlearn")


def local_artifact_root(tracking_uri: str, artifact_location: str | None) -> str | None:
    """Where new experiments keep artifacts: the configured place, else beside a SQLite store.

    Giving experiments an explicit location means the client, `mlflow ui` and
    `mlflow server` all read and write the same directory.
    """
    if artifact_location:
        return str(artifact_location)
    if tracking_uri.startswith("sqlite:///"):
        db_path = Path(tracking_uri.removeprefix("sqlite:///"))
        return str(db_path.resolve().parent / "mlartifacts")
    return None


def client_for(tracking_uri: str) -> MlflowClient:
    """An MLflow client bound to one store (tracking and registry alike)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with quiet_mlflow():  # the first use of a new SQLite store logs its table creation
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        client.search_experiments(max_results=1)
    return client


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "classification"  # the MLflow UI opens such experiments in its training view


def ensure_experiment(client: MlflowClient, name: str, artifact_root: str | None) -> str:
    """Return the id of experiment `name`, creating it (with its artifact location) if needed.

    The experiment is tagged as a classification experiment, so the MLflow UI shows
    its runs in the machine-learning view rather than the GenAI one.
    """
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        if existing.lifecycle_stage == "deleted":
            client.restore_experiment(existing.experiment_id)
        if existing.tags.get(EXPERIMENT_KIND_TAG) is None:
            client.set_experiment_tag(existing.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return str(existing.experiment_id)
    location = None
    if artifact_root:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        location = f"{artifact_root.rstrip('/')}/{safe}"
    return str(
        client.create_experiment(
            name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    )


def data_hash(frame: pd.DataFrame) -> str:
    """A stable fingerprint of a table's columns and values."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def runs_view_url(base_url: str, experiment_id: str | None = None) -> str:
    """The MLflow UI's table of machine-learning runs (not its GenAI home).

    The UI routes by URL fragment; `workflowType=machine_learning` selects the
    training-runs view. Without an experiment id it opens the experiment list.
    """
    base = base_url.rstrip("/")
    path = f"experiments/{experiment_id}/runs" if experiment_id else "experiments"
    return f"{base}/#/{path}?workflowType=machine_learning"


def run_name(dataset: str, model_family: str, when: datetime | None = None) -> str:
    """A readable run name: `<dataset>-<model family>-<YYYYMMDD-HHMM>` (UTC)."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    parts = [re.sub(r"[^A-Za-z0-9_.]+", "_", part).strip("_") for part in (dataset, model_family)]
    return "-".join([*(p or "unknown" for p in parts), moment.strftime("%Y%m%d-%H%M")])


def code_version() -> str:
    """The git commit of the code that trained, or the package version outside a checkout."""
    here = Path(attrition.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"attrition-{attrition.__version__}"


def pinned_requirements(extra: tuple[str, ...] = ()) -> list[str]:
    """`package==version` lines for what loading the model needs, from this environment."""
    lines = []
    for package in (*MODEL_PACKAGES, *extra):
        try:
            lines.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return lines


def log_files(client: MlflowClient, run_id: str, files: Mapping[str, str | bytes]) -> None:
    """Log in-memory artifacts (`relative/name` -> text or bytes) to a run in one upload."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, content in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        client.log_artifacts(run_id, str(root))


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's chatter (stage deprecation, schema hints, pip notes) for one block."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        logger.setLevel(level)


def log_dataset(
    client: MlflowClient,
    run_id: str,
    frame: pd.DataFrame,
    *,
    name: str,
    source: str,
    context: str,
) -> str:
    """Record `frame` as an input of the run (the UI's Dataset column): name, source, digest.

    Only the schema, a digest and the source are stored, never the rows. A source
    MLflow cannot interpret (a database URL) is recorded by its credential-free form
    in the dataset's name instead. Returns the digest.
    """
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.exceptions import MlflowException
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    with quiet_mlflow():
        try:
            dataset = from_pandas(frame, source=safe_source(source), name=name)
        except MlflowException:
            dataset = from_pandas(frame, name=f"{name} ({safe_source(source)})")
        entity = dataset._to_mlflow_entity()
        client.log_inputs(
            run_id, [DatasetInput(entity, tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])]
        )
    return str(dataset.digest)


def safe_source(source: str) -> str:
    """A data source without the user and password a database URL may carry."""
    return re.sub(r"(?<=://)[^/@]*@", "", source)


def log_and_register_model(
    model: Any,
    example: pd.DataFrame,
    model_name: str,
    requirements: list[str],
    tags: dict[str, str],
) -> tuple[str, str]:
    """Log `model` to the active run (sklearn + pyfunc flavours) and register a new version.

    The sklearn flavour loads the fitted pipeline; the pyfunc flavour returns one
    column, `attrition_probability` (see `attrition.probability_model`), so
    `mlflow.pyfunc.spark_udf` and other one-number consumers get the probability of leaving.
    Returns the registered version number and the model URI.
    """
    with quiet_mlflow():
        outputs = probability_model.probabilities(model, example).to_frame()
        signature = infer_signature(example, outputs)
        info = Model.log(
            artifact_path=None,
            name="model",
            flavor=probability_model,
            sk_model=model,
            signature=signature,
            input_example=example.head(2),
            pip_requirements=requirements,
            pyfunc_predict_fn="predict_proba",
            # The pipeline holds the project's own transformers, which skops would
            # refuse to load without a trust list; models come from our own registry.
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            registered_model_name=model_name,
            tags=tags,
        )
    version = info.registered_model_version
    if version is None:
        raise RuntimeError(f"model was logged but not registered as '{model_name}'")
    return str(version), info.model_uri
