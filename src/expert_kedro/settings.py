"""Project settings (Kedro defaults apart from the config loader's environments)."""

from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (gpu, llama3, multi_gpu) override single keys of a parameter
    # group instead of repeating the whole group.
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}
