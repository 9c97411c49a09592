"""LayeredConfigLoader: `--env a+b` reads base, then a, then b."""

from __future__ import annotations

import pytest
import yaml
from kedro.config import MissingConfigException, OmegaConfigLoader

from expert_kedro.config_loader import LayeredConfigLoader
from expert_kedro.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT

CONF = str(PROJECT_ROOT / "conf")


def _layered(env: str, **kwargs) -> LayeredConfigLoader:
    return LayeredConfigLoader(
        conf_source=CONF, env=env, **CONFIG_LOADER_ARGS, **kwargs
    )


@pytest.mark.parametrize("env", ["base", "gpu", "stackexchange"])
@pytest.mark.parametrize("key", ["parameters", "catalog"])
def test_one_environment_reads_as_kedro_does(env, key):
    plain = OmegaConfigLoader(conf_source=CONF, env=env, **CONFIG_LOADER_ARGS)
    assert _layered(env)[key] == plain[key]


def test_data_environment_then_recipe_environment():
    params = _layered("stackexchange+gpu")["parameters"]
    data = OmegaConfigLoader(
        conf_source=CONF, env="stackexchange", **CONFIG_LOADER_ARGS
    )
    site = data["parameters"]
    recipe = yaml.safe_load(
        (PROJECT_ROOT / "conf/gpu/parameters_model_training.yml").read_text()
    )["model_training"]["training"]
    # Every key the recipe sets wins ...
    assert params["model_training"]["training"] == {
        **site["model_training"]["training"],
        **recipe,
    }
    assert params["recommender"]["load_in_4bit"] is False
    # ... and the site's keys the recipe does not set survive it.
    assert "/stackexchange/" in params["model_training"]["training"]["checkpoint_dir"]
    assert params["recommender"]["agenda_region"] is False
    assert (
        params["recommender"]["rerank_system_prompt"]
        == (site["recommender"]["rerank_system_prompt"])
    )
    assert _layered("stackexchange+gpu")["catalog"] == data["catalog"]


def test_later_layer_wins_in_the_order_given(tmp_path):
    for env, group in {
        "base": {"x": "base", "y": "base", "z": "base"},
        "one": {"x": "one", "y": "one"},
        "two": {"x": "two"},
    }.items():
        (tmp_path / env).mkdir()
        (tmp_path / env / "parameters.yml").write_text(yaml.safe_dump({"g": group}))

    def group(env: str) -> dict:
        loader = LayeredConfigLoader(
            conf_source=str(tmp_path), env=env, **CONFIG_LOADER_ARGS
        )
        return loader["parameters"]["g"]

    assert group("one+two") == {"x": "two", "y": "one", "z": "base"}
    assert group("two+one") == {"x": "one", "y": "one", "z": "base"}


def test_runtime_params_reach_every_layer():
    catalog = _layered(
        "stackexchange+gpu", runtime_params={"stackexchange": {"site": "history"}}
    )["catalog"]
    assert "/history/" in catalog["retrieval_index"]["filepath"]


def test_unknown_layer_is_named():
    with pytest.raises(MissingConfigException, match="'gpux' has no folder"):
        _layered("stackexchange+gpux")["parameters"]
