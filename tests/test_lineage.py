"""The project's lineage, read from the registered pipelines and the catalog config.

What kedro-viz draws is asserted here without a browser: the chain from the raw CSV
to the LoRA adapter and on to the recommendations and the evaluation metrics, the
kedro-viz layer of every catalog entry, and layers that only ever flow left to right
(raw -> ... -> reporting); a layer flowing backwards makes kedro-viz drop the layer
bands altogether ("circular dependency detected among layers").
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from functools import cache

import pytest
from kedro.config import OmegaConfigLoader
from kedro.inspection import get_project_snapshot
from kedro.inspection.models import ProjectSnapshot

from tests.conftest import PROJECT_ROOT

LAYERS = (
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
)
# (upstream, downstream, registered pipeline that must contain the path; None: any)
CHAIN = (
    ("expert_data_raw", "clean_matches", "training"),
    ("clean_matches", "train_pairs", "training"),
    ("train_pairs", "augmented_train_pairs", "training"),
    ("augmented_train_pairs", "tokenized_train", "training"),
    ("tokenized_train", "lora_adapter", "training"),
    ("lora_adapter", "recommendations", "inference"),
    # One retriever, fit once: hard negatives and inference both read the saved index.
    ("retrieval_index", "rerank_train_pairs", "training"),
    ("retrieval_index", "recommendations", "inference"),
    # The fusion weight evaluation_llm tunes travels to inference as data.
    ("rerank_tuning", "recommendations", "inference"),
    ("lora_adapter", "rerank_tuning", "evaluation_llm"),
    ("lora_adapter", "evaluation_metrics", None),
    ("lora_adapter", "served_model", "export"),
)
CHAIN_LAYERS = {
    "expert_data_raw": "raw",
    "clean_matches": "intermediate",
    "train_pairs": "primary",
    "augmented_train_pairs": "feature",
    "tokenized_train": "model_input",
    "lora_adapter": "models",
    "recommendations": "model_output",
    "evaluation_metrics": "reporting",
    "served_model": "models",
}
TABLE_TYPES = re.compile(r"(pandas\.|huggingface\.|TableDataset$|CSVDataset$)")
NODE_NAME = re.compile(r"^([a-z][a-z0-9_]*\.)*[a-z]+(_[a-z0-9]+)+_node$")


@cache
def _snapshot() -> ProjectSnapshot:
    return get_project_snapshot(project_path=PROJECT_ROOT)


@cache
def _catalog_config() -> dict:
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="base"
    )
    return dict(loader["catalog"])


def _graph(pipeline_name: str | None) -> dict[str, set[str]]:
    """Dataset -> datasets produced by nodes that read it (one pipeline or all)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for pipeline in _snapshot().pipelines:
        if pipeline_name not in (None, pipeline.name):
            continue
        for node in pipeline.nodes:
            for source in node.inputs:
                graph[source].update(node.outputs)
    return graph


def _path(graph: dict[str, set[str]], source: str, target: str) -> list[str] | None:
    """Shortest dataset path from ``source`` to ``target`` (breadth first)."""
    previous: dict[str, str | None] = {source: None}
    queue = deque([source])
    while queue:
        current = queue.popleft()
        if current == target:
            path = [current]
            while (current := previous[current]) is not None:
                path.append(current)
            return path[::-1]
        for following in sorted(graph.get(current, ())):
            if following not in previous:
                previous[following] = current
                queue.append(following)
    return None


def _viz(name: str) -> dict:
    """The ``metadata: kedro-viz`` block of a catalog entry ({} when absent)."""
    entry = _catalog_config().get(name) or {}
    return (entry.get("metadata") or {}).get("kedro-viz") or {}


def _layer(name: str) -> str | None:
    return _viz(name).get("layer")


@pytest.mark.parametrize(
    ("source", "target", "pipeline_name"),
    CHAIN,
    ids=[f"{s}->{t}" for s, t, _ in CHAIN],
)
def test_lineage_edge(source: str, target: str, pipeline_name: str | None):
    registered = [p.name for p in _snapshot().pipelines]
    holders = [
        name
        for name in registered
        if name != "__default__" and _path(_graph(name), source, target)
    ]
    where = f"registered pipeline '{pipeline_name}'" if pipeline_name else "any"
    assert holders, (
        f"no path {source} -> {target} in any registered pipeline ({registered}); "
        f"expected one in {where}"
    )
    if pipeline_name:
        assert pipeline_name in holders, (
            f"{source} -> {target} is in {holders} but not in '{pipeline_name}'"
        )


def test_chain_datasets_are_persisted_in_left_to_right_layers():
    config = _catalog_config()
    missing = [name for name in CHAIN_LAYERS if name not in config]
    assert not missing, f"chain datasets without a catalog entry: {missing}"
    memory = [n for n in CHAIN_LAYERS if "Memory" in str(config[n].get("type"))]
    assert not memory, f"chain datasets that are not persisted: {memory}"
    layers = {name: _layer(name) for name in CHAIN_LAYERS}
    assert layers == CHAIN_LAYERS


def test_every_catalog_entry_has_a_kedro_viz_layer():
    config = _catalog_config()
    assert len(config) >= 20, sorted(config)
    wrong = {name: _layer(name) for name in config if _layer(name) not in LAYERS}
    assert not wrong, f"catalog entries without a kedro-viz layer in {LAYERS}: {wrong}"


def test_table_datasets_declare_a_small_preview():
    config = _catalog_config()
    tables = {n: e for n, e in config.items() if TABLE_TYPES.search(str(e.get("type")))}
    assert "expert_data_raw" in tables
    assert "train_pairs" in tables
    bad = {
        name: _viz(name).get("preview_args")
        for name in tables
        if not 0 < int((_viz(name).get("preview_args") or {}).get("nrows", 0)) <= 20
    }
    assert not bad, f"table datasets need preview_args.nrows in 1..20: {bad}"


def test_layers_only_flow_left_to_right():
    """A dataset never feeds, directly or not, a dataset of an earlier layer."""
    graph = _graph(None)
    order = {layer: i for i, layer in enumerate(LAYERS)}
    backwards = []
    for source in sorted(graph):
        source_layer = _layer(source)
        if source_layer is None:
            continue
        seen, queue = {source}, deque([source])
        while queue:
            for following in graph.get(queue.popleft(), ()):
                if following in seen:
                    continue
                seen.add(following)
                queue.append(following)
                layer = _layer(following)
                if layer is not None and order[layer] < order[source_layer]:
                    path = " -> ".join(_path(graph, source, following) or [])
                    backwards.append(f"{source_layer} -> {layer}: {path}")
    assert not backwards, "layers flowing backwards:\n" + "\n".join(backwards)


def test_node_names_read_as_verb_phrases():
    names = [node.name for p in _snapshot().pipelines for node in p.nodes]
    assert names
    bad = sorted({name for name in names if not NODE_NAME.match(name)})
    assert not bad, f"node names must be verb_noun_node (namespaced or not): {bad}"
