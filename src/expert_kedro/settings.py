"""Project settings (Kedro defaults apart from the config loader's environments)."""

from kedro.config import OmegaConfigLoader

from expert_kedro.console.run_summary import RecommendationSummaryHooks
from expert_kedro.hooks import DistributedRunHooks

# DistributedRunHooks: no-op in a plain run; under accelerate/torchrun rank 0 alone
# writes (docs/multi_gpu.md). RecommendationSummaryHooks: a run that writes
# recommendations ends with a table of each agenda's top experts and the file's path.
HOOKS = (DistributedRunHooks(), RecommendationSummaryHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (gpu, llama3, multi_gpu) override single keys of a parameter
    # group instead of repeating the whole group.
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}
