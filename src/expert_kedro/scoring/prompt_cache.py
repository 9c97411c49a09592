"""Prompt token ids that reuse the ids of repeated lines, equal to whole-prompt ids.

A batched rerank tokenizes ``K`` prompts per agenda that repeat most of their text:
the system prompt and the agenda in all ``K``, a candidate's profile in every agenda
that retrieves it, a past question wherever its expert is a candidate. Tokenizing
every whole prompt was the largest host cost of a batched rerank pass, while the
GPU's share of such a pass is small: on a GPU the host is the bound.

:class:`PromptEncoder` cuts each rendered prompt into pieces at line starts,
tokenizes only the pieces it has not seen (one batched call) and concatenates cached
ids. That equals tokenizing the whole prompt when no token can span a cut:

* byte-level BPE tokenizers (GPT-2 / SmolLM2, Llama-3, Qwen2) split text into
  pre-tokens with a regex and merge bytes only inside a pre-token;
* a cut after a single ``"\\n"`` between two non-space characters is a pre-token
  boundary of each of those regexes, and the pre-tokens on each side are the same
  with or without the text on the other side: the ``"\\n"`` is its own pre-token
  (or closes the punctuation before it), whatever follows it, and no pre-token
  starts with a newline and continues with a non-space character;
* added tokens (``<|im_start|>``) are cut out before pre-tokenization, so a cut
  next to one changes nothing as long as none holds a newline or strips spaces.

Other tokenizers (another pre-tokenizer, a normalizer, ``add_prefix_space``, added
tokens that strip whitespace) are encoded whole, as :func:`encode_prompts` does; the
first prompts of every encoder are also checked against the whole-prompt ids, and a
mismatch turns the cache off for good. Prompts whose text spells a special token
(an agenda holding ``<|im_end|>``) are also left to :func:`encode_prompts`, which
keeps such text plain (:mod:`expert_kedro.modeling.special_tokens`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from expert_kedro.modeling.prompts import PromptStyle, encode_prompts, render_prompt
from expert_kedro.modeling.special_tokens import holds_special_strings

logger = logging.getLogger(__name__)

# Split pre-tokenizer patterns of byte-level BPE vocabularies for which a cut at a
# line start is a pre-token boundary (see the module docstring).
_LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_PATTERN = _LLAMA3_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}")
SPLIT_PATTERNS = frozenset({_LLAMA3_PATTERN, _QWEN2_PATTERN})


def _state(component: Any) -> dict[str, Any] | None:
    """The JSON description of a ``tokenizers`` component (None when absent)."""
    if component is None:
        return None
    return json.loads(component.__getstate__())


def _pre_tokenizer_cuts_at_lines(state: dict[str, Any] | None) -> bool:
    if state is None:
        return False
    if state.get("type") == "ByteLevel":
        # use_regex: the GPT-2 pattern; a prefix space would be added to every piece.
        return state.get("use_regex", True) and not state.get("add_prefix_space")
    if state.get("type") != "Sequence":
        return False
    steps = state.get("pretokenizers", [])
    if len(steps) != 2:  # noqa: PLR2004 - exactly Split then ByteLevel
        return False
    split, byte_level = steps
    return (
        split.get("type") == "Split"
        and split.get("pattern", {}).get("Regex") in SPLIT_PATTERNS
        and split.get("behavior") == "Isolated"
        and not split.get("invert")
        and byte_level.get("type") == "ByteLevel"
        and not byte_level.get("use_regex", True)
        and not byte_level.get("add_prefix_space")
    )


def supports_line_pieces(tokenizer: Any) -> bool:
    """Whether cutting prompts at line starts keeps ``tokenizer``'s ids unchanged.

    Args:
        tokenizer: A Hugging Face tokenizer.

    Returns:
        True for a fast byte-level BPE tokenizer with a known pre-tokenizer, no
        normalizer, no BPE dropout and no added token that strips whitespace or
        holds a newline; False otherwise (encode whole prompts).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    try:
        normalizer = _state(backend.normalizer)
        pre_tokenizer = _state(backend.pre_tokenizer)
        # The model's type and dropout, not its state (that serialises the vocab).
        bpe = type(backend.model).__name__ == "BPE" and not backend.model.dropout
        added = list(backend.get_added_tokens_decoder().values())
    except (AttributeError, TypeError, ValueError):
        return False
    if normalizer is not None and not (
        normalizer.get("type") == "Sequence" and not normalizer.get("normalizers")
    ):
        return False
    if not bpe:
        return False
    if any(t.lstrip or t.rstrip or "\n" in t.content for t in added):
        return False
    return _pre_tokenizer_cuts_at_lines(pre_tokenizer)


def _ends_a_piece(char: str) -> bool:
    # Letters and digits (any script) are never whitespace to a regex; other
    # characters only when ASCII: a Unicode space that Python and the tokenizer's
    # regex classify differently must not end a piece.
    return char.isalnum() or (char.isascii() and char.isprintable() and char != " ")


def _starts_a_piece(char: str) -> bool:
    return char.isascii() and char.isprintable() and char != " "


def line_pieces(text: str) -> list[str]:
    """``text`` cut after each ``"\\n"`` where a cut cannot change the tokens.

    A cut is made after a newline that follows a letter, a digit or a visible
    ASCII character and precedes a visible ASCII character (``"Headline: ..."``,
    ``"1. ..."``, ``"- ..."``); not around blank lines or spaces. The pieces join
    back into ``text``.

    Args:
        text: A rendered prompt.

    Returns:
        The pieces, in order, each ending with its newline (but the last).
    """
    lines = text.split("\n")
    pieces: list[str] = []
    current = lines[0]
    for line in lines[1:]:
        if current and line and _ends_a_piece(current[-1]) and _starts_a_piece(line[0]):
            pieces.append(current + "\n")
            current = line
        else:
            current += "\n" + line
    pieces.append(current)
    return pieces


class PromptEncoder:
    """:func:`encode_prompts` with the token ids of repeated prompt lines cached.

    Args:
        tokenizer: A Hugging Face tokenizer.
        style: Prompt layout (see
            :func:`expert_kedro.modeling.prompts.uses_chat_template`).
        max_pieces: Cached pieces kept; the cache is emptied when it would grow
            past this (new agendas keep adding lines; profiles and past questions
            are re-cached by the next batch).
        verify_prompts: Prompts of the first calls also encoded whole and
            compared; a mismatch turns the cache off (and logs a warning).
    """

    def __init__(
        self,
        tokenizer: Any,
        style: PromptStyle = "auto",
        *,
        max_pieces: int = 200_000,
        verify_prompts: int = 32,
    ) -> None:
        self.tokenizer, self.style = tokenizer, style
        self.max_pieces = max_pieces
        self.enabled = supports_line_pieces(tokenizer)
        self._to_verify = verify_prompts if self.enabled else 0
        self._ids: dict[str, list[int]] = {}

    def encode(self, system: str, users: Sequence[str]) -> list[list[int]]:
        """Prompt token ids of each user turn, equal to :func:`encode_prompts`'s.

        Args:
            system: System prompt.
            users: User turns.

        Returns:
            One fresh list of token ids per user turn.
        """
        literal = holds_special_strings(self.tokenizer, [system, *users])
        if not self.enabled or literal[0]:
            return encode_prompts(self.tokenizer, system, users, self.style)
        if any(literal):
            return self._encode_apart(system, users, literal[1:])
        if not users:
            return []
        texts = [render_prompt(self.tokenizer, system, u, self.style) for u in users]
        split = [line_pieces(text) for text in texts]
        new = list(
            dict.fromkeys(p for pieces in split for p in pieces if p not in self._ids)
        )
        if len(self._ids) + len(new) > self.max_pieces:
            self._ids.clear()
            new = list(dict.fromkeys(p for pieces in split for p in pieces))
        if new:
            encoded = self.tokenizer(
                new, add_special_tokens=False, split_special_tokens=False
            )["input_ids"]
            self._ids.update(zip(new, map(list, encoded), strict=True))
        out = []
        for pieces in split:
            ids: list[int] = []
            for piece in pieces:
                ids.extend(self._ids[piece])
            out.append(ids)
        if self._to_verify > 0:
            self._verify(texts[: self._to_verify], out)
            if not self.enabled:
                return encode_prompts(self.tokenizer, system, users, self.style)
        return out

    def _encode_apart(
        self, system: str, users: Sequence[str], literal: Sequence[bool]
    ) -> list[list[int]]:
        """Cached ids for plain user turns, :func:`encode_prompts` for the others."""
        apart = [u for u, lit in zip(users, literal, strict=True) if lit]
        cached = [u for u, lit in zip(users, literal, strict=True) if not lit]
        spelled = iter(encode_prompts(self.tokenizer, system, apart, self.style))
        plain = iter(self.encode(system, cached))
        return [next(spelled) if lit else next(plain) for lit in literal]

    def _verify(self, texts: list[str], got: list[list[int]]) -> None:
        """Compare the first prompts with their whole-text ids (once per encoder)."""
        self._to_verify -= len(texts)
        whole = self.tokenizer(
            texts, add_special_tokens=False, split_special_tokens=False
        )["input_ids"]
        if any(list(w) != g for w, g in zip(whole, got, strict=False)):
            logger.warning(
                "Line-cached prompt token ids differ from whole-prompt ids for "
                "tokenizer %s; encoding whole prompts from now on.",
                getattr(self.tokenizer, "name_or_path", "?"),
            )
            self.enabled = False
            self._ids.clear()
