"""One prompt format for training and inference.

Every example is a three-turn conversation: a *system* turn (the output-format
instructions), a *user* turn (the client's agenda, or a (agenda, expert) pair in
rerank mode) and an *assistant* turn (the target text). Training and inference both
go through this module so the model is always scored on exactly the text layout it
was trained on.

Rendering rules:

* If the tokenizer has a chat template (SmolLM2-Instruct, Llama-3-Instruct, ...)
  it is used, with ``add_generation_prompt=True`` for the prompt.
* Otherwise (e.g. ``meta-llama/Meta-Llama-3-8B`` base) the documented
  :data:`FALLBACK_TEMPLATE` is used: the tokenizer's BOS token, then markdown-style
  ``### System:`` / ``### User:`` / ``### Assistant:`` headers; the assistant turn
  ends with the tokenizer's EOS token.

Rendered prompts already contain every special token they need, so they are always
tokenized with ``add_special_tokens=False`` (see :func:`encode_prompt`). Only the
template writes control tokens: a special-token string inside a message (an agenda
holding ``<|im_end|>``) is tokenized as plain text, in training and inference alike
(see :mod:`expert_kedro.modeling.special_tokens`).
The prompt and the completion are tokenized separately and concatenated, so the
boundary between masked prompt tokens and trained completion tokens is exact.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from expert_kedro.modeling.special_tokens import encode_plain, encode_rendered

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
"""Label value ignored by the cross-entropy loss (PyTorch / transformers convention)."""

PromptStyle = Literal["auto", "chat_template", "fallback"]

FALLBACK_TEMPLATE = (
    "{bos}### System:\n{system}\n\n### User:\n{user}\n\n### Assistant:\n"
)
"""Prompt layout for tokenizers without a chat template; the completion is
``{assistant}{eos}``. ``{bos}`` is the tokenizer's BOS token (empty if it has none)."""


def uses_chat_template(tokenizer: Any, style: PromptStyle = "auto") -> bool:
    """Tell whether prompts for this tokenizer are rendered with its chat template.

    Args:
        tokenizer: A Hugging Face tokenizer.
        style: ``"auto"`` uses the chat template when the tokenizer has one,
            ``"chat_template"`` requires it, ``"fallback"`` always uses
            :data:`FALLBACK_TEMPLATE`.

    Returns:
        True when the chat template is used.

    Raises:
        ValueError: If ``style`` is unknown, or ``"chat_template"`` is requested for a
            tokenizer that has none.
    """
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if style == "auto":
        return has_template
    if style == "fallback":
        return False
    if style == "chat_template":
        if not has_template:
            raise ValueError(
                "prompt_style='chat_template' was requested but the tokenizer "
                f"'{getattr(tokenizer, 'name_or_path', '?')}' has no chat template; "
                "use prompt_style='auto' or 'fallback'."
            )
        return True
    raise ValueError(
        f"Unknown prompt_style {style!r}; "
        "expected 'auto', 'chat_template' or 'fallback'."
    )


def _messages(system: str, user: str) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return messages


def render_prompt(
    tokenizer: Any, system: str, user: str, style: PromptStyle = "auto"
) -> str:
    """Render the prompt text, up to and including the assistant header.

    Args:
        tokenizer: A Hugging Face tokenizer.
        system: System instructions (output format); may be empty.
        user: The user turn (formatted agenda, or agenda + candidate expert).
        style: See :func:`uses_chat_template`.

    Returns:
        The text the model continues with the assistant's answer.
    """
    if uses_chat_template(tokenizer, style):
        return tokenizer.apply_chat_template(
            _messages(system, user), tokenize=False, add_generation_prompt=True
        )
    return FALLBACK_TEMPLATE.format(
        bos=tokenizer.bos_token or "", system=system, user=user
    )


def render_completion(
    tokenizer: Any, system: str, user: str, assistant: str, style: PromptStyle = "auto"
) -> str:
    """Render the assistant turn: the target text plus the template's end of turn.

    With a chat template the completion is the rendered full conversation minus the
    rendered prompt, so it carries exactly the end-of-turn markup of the template
    (e.g. ``<|im_end|>\\n`` for SmolLM2). With the fallback it is ``assistant + eos``.

    Args:
        tokenizer: A Hugging Face tokenizer.
        system: System instructions.
        user: The user turn.
        assistant: The target answer.
        style: See :func:`uses_chat_template`.

    Returns:
        The completion text that follows :func:`render_prompt`.

    Raises:
        ValueError: If the chat template renders the conversation in a way that does
            not start with the rendered prompt (the mask boundary would be ambiguous).
    """
    prompt = render_prompt(tokenizer, system, user, style)
    if not uses_chat_template(tokenizer, style):
        return assistant + (tokenizer.eos_token or "")
    messages = [*_messages(system, user), {"role": "assistant", "content": assistant}]
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError(
            "The tokenizer's chat template does not render the conversation as "
            "prompt + completion, so the completion-only loss mask cannot be placed; "
            "set prompt_style: fallback in the model_training parameters."
        )
    return full[len(prompt) :]


def encode_text(tokenizer: Any, text: str) -> list[int]:
    """Token ids of message text on its own (e.g. the start of an assistant answer).

    Special-token strings in ``text`` are plain text, as inside a prompt; other
    text gets the ids of an ordinary tokenizer call.
    """
    return encode_plain(tokenizer, [text])[0]


def encode_prompt(
    tokenizer: Any, system: str, user: str, style: PromptStyle = "auto"
) -> list[int]:
    """Token ids of :func:`render_prompt` (what inference feeds to the model).

    Args:
        tokenizer: A Hugging Face tokenizer.
        system: System instructions.
        user: The user turn.
        style: See :func:`uses_chat_template`.

    Returns:
        Prompt token ids, special tokens included exactly once; special-token
        strings inside ``system`` or ``user`` are plain text.
    """
    return encode_prompts(tokenizer, system, [user], style)[0]


def encode_prompts(
    tokenizer: Any, system: str, users: Sequence[str], style: PromptStyle = "auto"
) -> list[list[int]]:
    """:func:`encode_prompt` of many user turns, tokenized in one batched call.

    The same ids as one call per prompt; a fast tokenizer encodes the batch in
    parallel, which matters when hundreds of rerank candidates are scored at once.
    """
    return encode_rendered(
        tokenizer,
        lambda s, u: render_prompt(tokenizer, s, u, style),
        [(system, user) for user in users],
    )


def encode_pair(
    tokenizer: Any,
    system: str,
    user: str,
    assistant: str,
    *,
    max_length: int | None = None,
    completion_only: bool = True,
    style: PromptStyle = "auto",
) -> dict[str, Any]:
    """Tokenize one (prompt, completion) example for training or scoring.

    The prompt and the completion are tokenized separately and concatenated, so
    ``completion_mask`` marks exactly the assistant tokens (target text + end of turn
    + EOS). Sequences longer than ``max_length`` are cut on the right (the system
    prompt and the start of the agenda are kept); ``truncated`` tells it happened.
    Nothing is padded.

    Args:
        tokenizer: A Hugging Face tokenizer.
        system: System instructions.
        user: The user turn.
        assistant: The target answer (e.g. ``"Expert: Ana Ruiz (ID 1234)..."`` or
            ``"yes"`` in rerank mode).
        max_length: Maximum number of tokens, or None for no limit.
        completion_only: If True the labels of prompt tokens are
            :data:`IGNORE_INDEX` (loss on the assistant turn only); if False the
            labels are the input ids (full-sequence loss).
        style: See :func:`uses_chat_template`.

    Returns:
        A dict with ``input_ids``, ``attention_mask``, ``labels`` and
        ``completion_mask`` (lists of equal length), ``prompt_length`` (tokens of
        the prompt kept), ``completion_length`` (assistant tokens kept) and
        ``truncated`` (bool).
    """
    prompt_ids = encode_prompt(tokenizer, system, user, style)
    completion_ids = encode_rendered(
        tokenizer,
        lambda s, u, a: render_completion(tokenizer, s, u, a, style),
        [(system, user, assistant)],
    )[0]
    eos_id = tokenizer.eos_token_id
    if eos_id is not None and eos_id not in completion_ids:
        # The model must learn to stop after the answer.
        completion_ids.append(eos_id)
    input_ids = prompt_ids + completion_ids
    completion_mask = [0] * len(prompt_ids) + [1] * len(completion_ids)
    truncated = max_length is not None and len(input_ids) > max_length
    if truncated:
        input_ids = input_ids[:max_length]
        completion_mask = completion_mask[:max_length]
    if completion_only:
        labels = [
            tok if keep else IGNORE_INDEX
            for tok, keep in zip(input_ids, completion_mask, strict=True)
        ]
    else:
        labels = list(input_ids)
    completion_length = sum(completion_mask)
    return {
        "input_ids": input_ids,
        "attention_mask": [1] * len(input_ids),
        "labels": labels,
        "completion_mask": completion_mask,
        "prompt_length": len(input_ids) - completion_length,
        "completion_length": completion_length,
        "truncated": truncated,
    }
