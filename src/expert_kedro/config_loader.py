"""A config loader whose run environment may stack several environments.

Kedro runs ``base`` plus one environment. This project's environments answer
different questions — ``stackexchange`` says *which data* (catalog paths of one
site), ``gpu`` says *which recipe* (batch sizes, bf16, kernels) — so a user who wants
the GPU recipe on a Stack Exchange site would otherwise need a third environment
that repeats both. ``--env stackexchange+gpu`` reads ``base``, then
``stackexchange``, then ``gpu``, each layer overriding the previous one key by key
with the loader's merge strategy (soft for catalog and parameters).

A single environment behaves exactly as :class:`kedro.config.OmegaConfigLoader`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader

LAYER_SEPARATOR = "+"


class LayeredConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` that accepts ``env="a+b"``: base, then a, then b.

    Example ``settings.py``::

        CONFIG_LOADER_CLASS = LayeredConfigLoader
        CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}

    and on the command line::

        kedro run --env stackexchange+gpu --pipelines=training
    """

    def __getitem__(self, key: str) -> dict[str, Any]:
        run_env = self.env or self.default_run_env
        if LAYER_SEPARATOR not in (run_env or "") or key in self:
            return super().__getitem__(key)
        layers = [layer.strip() for layer in run_env.split(LAYER_SEPARATOR)]
        for layer in layers:
            path = Path(self._get_conf_env_path(layer))
            if not layer or (self._protocol == "file" and not path.is_dir()):
                raise MissingConfigException(
                    f"--env {run_env!r}: environment {layer!r} has no folder "
                    f"{path}. Environments are folders of {self.conf_source}; "
                    f"stack them with '{LAYER_SEPARATOR}', e.g. stackexchange+gpu."
                )
        merged = self._layer(layers[0])[key]
        for layer in layers[1:]:
            loader = self._layer(layer)
            loader._register_runtime_params_resolver()  # noqa: SLF001
            _, env_configs, _, env_path, _ = loader._read_raw_config(key)  # noqa: SLF001
            overlay = loader._merge_and_resolve(key, env_configs)  # noqa: SLF001
            merged = loader._merge_configs(merged, overlay, key, env_path)  # noqa: SLF001
        return merged

    def _layer(self, env: str) -> OmegaConfigLoader:
        """A plain loader of ``base`` + ``env`` with this loader's settings."""
        return OmegaConfigLoader(
            conf_source=self.conf_source,
            env=env,
            runtime_params=self.runtime_params,
            config_patterns=self.config_patterns,
            base_env=self.base_env,
            default_run_env=self.default_run_env,
            custom_resolvers=self._custom_resolvers,
            merge_strategy=self.merge_strategy,
        )
