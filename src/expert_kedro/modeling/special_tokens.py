"""Text can spell a special token without becoming one: only templates write them.

A tokenizer turns every occurrence of a special token's string into that token,
wherever the string comes from. SmolLM2's chat template closes a turn with
``<|im_end|>`` and opens one with ``<|im_start|>``, so an agenda, a profile field or
a past question holding those strings (all of them come from outside the project)
would close the user turn and write an assistant turn of its own, and the model
would read it as one.

Message contents are therefore tokenized as plain text: a special-token string in
them becomes the tokens of its characters (the tokenizer's ``split_special_tokens``),
while the control tokens the template writes stay control tokens. To tell the two
apart, the contents are rendered with each special-token string replaced by a
private-use character that no content holds (:class:`ContentMask`): every special
token left in that rendering was written by the template.
:func:`encode_masked` cuts the rendering at those tokens, gives the pieces between
them their strings back and tokenizes each as plain text. That is what the tokenizer
does with a whole text (special tokens are cut out first, the pieces between them
tokenized one by one), so only the contents' special-token strings change. Callers
send contents without such strings down the usual whole-text path, so their ids are
those of plain tokenization by construction.

Non-special added tokens are words of the vocabulary by the tokenizer's own
declaration and are tokenized as in any text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

# Unicode private-use area: characters no tokenizer or template gives a meaning to.
_PRIVATE_USE = range(0xE000, 0xF900)


def special_tokens(tokenizer: Any) -> dict[str, int]:
    """The tokenizer's special tokens that text can spell, string to id.

    Args:
        tokenizer: A Hugging Face tokenizer.

    Returns:
        Every added token marked special (``<|im_start|>``, ``<|im_end|>``,
        ``<|endoftext|>``, ... for SmolLM2): the strings that a tokenizer call
        turns into a control token unless ``split_special_tokens`` is set.
    """
    return {
        token.content: int(index)
        for index, token in tokenizer.added_tokens_decoder.items()
        if token.special and token.content
    }


@functools.lru_cache(maxsize=16)
def _compile(strings: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first: at one position the longest string wins, as in the tokenizer.
    ordered = sorted(strings, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, ordered)) + ")")


def special_token_pattern(tokenizer: Any) -> re.Pattern[str] | None:
    """A regex matching any special-token string (None when there is none).

    The pattern has one capturing group, so ``pattern.split(text)`` alternates
    text pieces and special-token strings.
    """
    strings = tuple(sorted(special_tokens(tokenizer)))
    return _compile(strings) if strings else None


class ContentMask:
    """Reversible stand-ins for the special-token strings of message contents.

    Each distinct special-token string found in the contents is given a private-use
    character that occurs in none of them; :meth:`hide` writes the stand-ins,
    :meth:`reveal` writes the strings back.

    Args:
        pattern: :func:`special_token_pattern` of the tokenizer.
        contents: The message texts (system, user, assistant) of one example.
    """

    def __init__(self, pattern: re.Pattern[str], contents: Sequence[str]) -> None:
        found = sorted({s for text in contents for s in pattern.findall(text)})
        used = {char for text in contents for char in text}
        free = (chr(c) for c in _PRIVATE_USE if chr(c) not in used)
        self.pattern = pattern
        self.stand_ins = dict(zip(found, free, strict=False))
        self._strings = str.maketrans({v: k for k, v in self.stand_ins.items()})

    def hide(self, text: str) -> str:
        """``text`` with each special-token string replaced by its stand-in."""
        return self.pattern.sub(lambda match: self.stand_ins[match.group()], text)

    def reveal(self, text: str) -> str:
        """``text`` with each stand-in replaced by its special-token string."""
        return text.translate(self._strings)


def encode_plain(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of texts in which special-token strings are plain text.

    Texts without a special-token string get the ids of an ordinary tokenizer call.
    """
    if not texts:
        return []
    encoded = tokenizer(
        list(texts), add_special_tokens=False, split_special_tokens=True
    )["input_ids"]
    return [list(ids) for ids in encoded]


def encode_masked(tokenizer: Any, rendered: str, mask: ContentMask) -> list[int]:
    """Token ids of a rendering whose contents were hidden by ``mask``.

    Args:
        tokenizer: A Hugging Face tokenizer.
        rendered: A template rendered from contents passed through
            :meth:`ContentMask.hide`: every special-token string in it is the
            template's.
        mask: The mask that hid the contents.

    Returns:
        The template's control tokens as their ids; everything between them,
        contents with their strings revealed, tokenized as plain text.
    """
    ids_of = special_tokens(tokenizer)
    parts = mask.pattern.split(rendered)
    texts = encode_plain(tokenizer, [mask.reveal(part) for part in parts[::2]])
    ids: list[int] = []
    for index, text_ids in enumerate(texts):
        ids.extend(text_ids)
        if 2 * index + 1 < len(parts):
            ids.append(ids_of[parts[2 * index + 1]])
    return ids


def _spells(pattern: re.Pattern[str] | None, texts: Sequence[str]) -> bool:
    return pattern is not None and any(pattern.search(text) for text in texts)


def holds_special_strings(tokenizer: Any, texts: Sequence[str]) -> list[bool]:
    """Whether each text spells a special token of ``tokenizer``."""
    pattern = special_token_pattern(tokenizer)
    return [_spells(pattern, [text]) for text in texts]


def encode_rendered(
    tokenizer: Any,
    render: Callable[..., str],
    contents: Sequence[Sequence[str]],
) -> list[list[int]]:
    """Token ids of ``render(*messages)`` per example, the messages as plain text.

    Examples whose messages spell no special token are rendered and tokenized
    whole, in one batched call, exactly as an ordinary tokenizer call would. The
    others are rendered from masked messages and encoded by :func:`encode_masked`,
    so that only the template's own special tokens become control tokens.

    Args:
        tokenizer: A Hugging Face tokenizer.
        render: Template rendering of the messages (e.g.
            :func:`expert_kedro.modeling.prompts.render_prompt` of system and user).
        contents: Per example, the message texts passed to ``render``.

    Returns:
        One list of token ids per example.
    """
    pattern = special_token_pattern(tokenizer)
    literal = [_spells(pattern, messages) for messages in contents]
    plain = [render(*m) for m, lit in zip(contents, literal, strict=True) if not lit]
    whole = iter(
        tokenizer(plain, add_special_tokens=False, split_special_tokens=False)[
            "input_ids"
        ]
        if plain
        else []
    )
    out: list[list[int]] = []
    for messages, lit in zip(contents, literal, strict=True):
        if lit and pattern is not None:
            mask = ContentMask(pattern, messages)
            hidden = render(*map(mask.hide, messages))
            out.append(encode_masked(tokenizer, hidden, mask))
        else:
            out.append(list(next(whole)))
    return out
