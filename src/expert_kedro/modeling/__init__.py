"""Modeling toolkit shared by the model_training and inference pipelines.

Modules (import from them directly; this package imports nothing heavy):

* ``prompts`` - the single prompt format: ``render_prompt``, ``encode_prompt``,
  ``render_completion``, ``encode_pair``.
* ``hardware`` - ``detect_hardware``, ``select_compute_dtype``,
  ``build_quantization_config``.
* ``handles`` - ``ModelSource``, ``BaseModelHandle``, ``LoRAAdapterHandle`` (what the
  catalog datasets return).
* ``model_source`` - ``resolve_model_source``, ``package_folder``,
  ``ModelNotReachableError``; ``gguf`` - ``dequantize_gguf``.
* ``base_model`` - ``load_tokenizer``, ``load_base_model`` (4-bit),
  ``load_model_for_inference`` (base + adapter).
* ``settings`` - the ``model_training`` parameter group, typed; ``sft_config``
  builds ``trl.SFTConfig`` from its ``training`` recipe.
* ``training`` - ``train_lora`` (with ``lora``, ``training_history``).
* ``selection`` - ``model_training.selection`` (which checkpoint is saved);
  ``ranking_validation`` ranks validation agendas at each evaluation and
  ``checkpoint_selection`` wires both into a run.
"""
