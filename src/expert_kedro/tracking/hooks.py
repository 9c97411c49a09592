"""Experiment tracking: what kedro-mlflow leaves to the project (docs/tracking.md).

kedro-mlflow (the optional ``tracking`` extra) registers its own hook through a
Kedro plugin entry point: when it is installed, each tracked ``kedro run`` opens an
MLflow run and logs the parameters its nodes read. :class:`ExperimentTrackingHooks`
adds the rest into that run, from the reporting datasets as they are saved:

* ``training_history``: the training curves (loss, learning rate, gradient norm per
  step; validation loss and ranking metrics per evaluation) and summary numbers;
* ``evaluation_metrics``: every system's metrics with their bootstrap intervals;
* artifacts: those two records, the loss curve, the results table, the comparison
  plot, the LLM tuning reports and the adapter folder.

The hook also gives ``conf/base/mlflow.yml`` the ``${project_path:}`` resolver, so
that the local SQLite store lies in the project whatever the working directory.
Without kedro-mlflow nothing is logged and the run says so once.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from omegaconf import OmegaConf

from expert_kedro.tracking.records import (
    MetricPoint,
    evaluation_points,
    history_points,
)

logger = logging.getLogger(__name__)

PROJECT_PATH_RESOLVER = "project_path"
"""OmegaConf resolver of the project's absolute path (``conf/base/mlflow.yml``)."""

METRICS: dict[str, Callable[[Mapping[str, Any]], list[MetricPoint]]] = {
    "training_history": history_points,
    "evaluation_metrics": evaluation_points,
}
"""Datasets logged as MLflow metrics, and how."""

ARTIFACTS = {
    "training_history": "training/training_history.json",
    "loss_curve": "training/loss_curve.png",
    "lora_adapter": "training/lora_adapter",
    "evaluation_metrics": "evaluation/evaluation_metrics.json",
    "evaluation_results_table": "evaluation/results_table.md",
    "evaluation_comparison_plot": "evaluation/evaluation_comparison.png",
    "llm_rerank_tuning": "evaluation/llm_rerank_tuning.json",
    "zero_shot_report": "evaluation/zero_shot_report.json",
}
"""Datasets logged as artifacts, and their path in the run's artifacts."""

FOLDER_ARTIFACTS = frozenset({"lora_adapter"})
"""Datasets whose saved folder (the loaded handle's ``path``) is logged."""

_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def _active_run_id() -> str | None:
    """The MLflow run kedro-mlflow opened for this ``kedro run``, if any.

    Returns None when kedro-mlflow is not installed (said once per process) or
    when it does not track this pipeline (its ``disable_tracking``).
    """
    try:
        import kedro_mlflow  # noqa: F401, PLC0415 - optional extra
        import mlflow  # noqa: PLC0415 - optional extra
    except ImportError:
        if not ExperimentTrackingHooks.said_off:
            ExperimentTrackingHooks.said_off = True
            logger.info(
                "Experiment tracking is off: kedro-mlflow is not installed "
                "(pip install -e '.[tracking]', docs/tracking.md)."
            )
        return None
    run = mlflow.active_run()
    return run.info.run_id if run else None


def _open_run_id() -> str | None:
    """The MLflow run open in this thread (none before mlflow is imported)."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    return run.info.run_id if run else None


def _forget_kedro_mlflow_run() -> None:
    """Clear the run id kedro-mlflow keeps after its run has ended.

    kedro-mlflow 2.0.3's hook is one object per process and keeps the id of the
    last run it opened; in a later session of the same process whose pipeline it
    does not track (``disable_tracking``), it re-opens that id before each node,
    in the new project's store, where the run does not exist.
    """
    module = sys.modules.get("kedro_mlflow.framework.hooks.mlflow_hook")
    hook = getattr(module, "mlflow_hook", None)
    if hook is not None:
        hook.run_id = None


class ExperimentTrackingHooks:
    """Log training curves, evaluation metrics and artifacts into the MLflow run."""

    said_off = False
    """Whether this process already logged that tracking is off."""

    def __init__(self) -> None:
        self._run_id: str | None = None
        self._outer_run_id: str | None = None
        self._catalog: Any = None

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: Any) -> None:
        """Define ``${project_path:}`` before kedro-mlflow reads ``mlflow.yml``.

        Also note the MLflow run opened before the session, if any: kedro-mlflow
        then logs into it and leaves it open.
        """
        root = Path(context.project_path).resolve().as_posix()

        def project_path() -> str:
            return root

        OmegaConf.register_resolver(PROJECT_PATH_RESOLVER, project_path, replace=True)
        self._outer_run_id = _open_run_id()

    @hook_impl(trylast=True)
    def before_pipeline_run(self, catalog: Any) -> None:
        """Find the run kedro-mlflow has just started (its hook runs first)."""
        self._run_id = _active_run_id()
        self._catalog = catalog if self._run_id else None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        """Log a reporting dataset's metrics and artifact once it is saved."""
        if self._run_id is None:
            return
        if dataset_name in METRICS and isinstance(data, Mapping):
            self._guarded(dataset_name, self._log_metrics, METRICS[dataset_name](data))
        if dataset_name in ARTIFACTS:
            self._guarded(dataset_name, self._log_artifact, dataset_name, data)

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        """Close the run kedro-mlflow has just ended once, then forget it."""
        self._close_run()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        """Close the run of a failed pipeline (kedro-mlflow marks it failed)."""
        self._close_run(status="FAILED")

    def _close_run(self, status: str = "FINISHED") -> None:
        """End every stacked entry of this session's run, then forget it.

        kedro-mlflow 2.0.3 re-opens its run before each node; MLflow 3 stacks
        these re-openings, so its one ``end_run`` leaves the run open in the
        process, and the next session of the same process (tests, notebooks)
        would log into it, or fail to find it in another project's store.
        """
        if self._run_id is not None and self._run_id != self._outer_run_id:
            import mlflow  # noqa: PLC0415 - optional extra

            while _open_run_id() == self._run_id:
                mlflow.end_run(status=status)
        self._run_id = self._catalog = None
        _forget_kedro_mlflow_run()

    def _guarded(self, name: str, log: Callable[..., None], *args: Any) -> None:
        """Run ``log``; a tracking failure is a warning, never a failed run."""
        try:
            log(*args)
        except Exception as error:  # noqa: BLE001 - the run's outputs are saved
            logger.warning("Could not log %s to MLflow: %s", name, error)

    def _log_metrics(self, points: list[MetricPoint]) -> None:
        from mlflow.entities import Metric  # noqa: PLC0415 - optional extra
        from mlflow.tracking import MlflowClient  # noqa: PLC0415

        now = int(time.time() * 1000)
        metrics = [Metric(p.key, p.value, now, p.step) for p in points]
        client = MlflowClient()
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(self._run_id, metrics=metrics[start : start + _BATCH])

    def _log_artifact(self, name: str, data: Any) -> None:
        from matplotlib.figure import Figure  # noqa: PLC0415
        from mlflow.tracking import MlflowClient  # noqa: PLC0415 - optional extra

        client, path = MlflowClient(), ARTIFACTS[name]
        if name in FOLDER_ARTIFACTS:
            folder = self._catalog.load(name).path
            client.log_artifacts(self._run_id, str(folder), artifact_path=path)
        elif isinstance(data, Figure):
            client.log_figure(self._run_id, data, path)
        elif isinstance(data, Mapping):
            client.log_dict(self._run_id, dict(data), path)
        elif isinstance(data, str):
            client.log_text(self._run_id, data, path)
        else:
            logger.debug("%s (%s) is not logged to MLflow", name, type(data))
