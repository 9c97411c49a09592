"""Project settings (Kedro defaults apart from the config loader's environments)."""

from expert_kedro.config_loader import LayeredConfigLoader
from expert_kedro.console.run_summary import RecommendationSummaryHooks
from expert_kedro.hooks import DistributedRunHooks
from expert_kedro.importers.run_guard import ImportRunHooks
from expert_kedro.tracking import ExperimentTrackingHooks

# DistributedRunHooks: no-op in a plain run; under accelerate/torchrun rank 0 alone
# writes (docs/multi_gpu.md). RecommendationSummaryHooks: a run that writes
# recommendations ends with a table of each agenda's top experts and the file's path.
# ExperimentTrackingHooks: with the `tracking` extra installed (kedro-mlflow, whose
# own hook comes in through its plugin entry point), training curves, evaluation
# metrics and artifacts go into the run's MLflow run (docs/tracking.md).
# ImportRunHooks: a site is imported in a run of its own (the other pipelines read
# the import under other dataset names, which Kedro cannot order).
HOOKS = (
    DistributedRunHooks(),
    ImportRunHooks(),
    RecommendationSummaryHooks(),
    ExperimentTrackingHooks(),
)

# `--env stackexchange+gpu` stacks environments (data, then recipe); one env behaves
# as Kedro's OmegaConfigLoader.
CONFIG_LOADER_CLASS = LayeredConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (gpu, llama3, multi_gpu) override single keys of a parameter
    # group instead of repeating the whole group.
    # conf/local/mlflow.yml (kedro-mlflow) likewise overrides single keys.
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "mlflow": "soft"},
}
