"""The single prompt builder: rendering and exact completion-only masks."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expert_kedro.modeling.prompts import (
    FALLBACK_TEMPLATE,
    IGNORE_INDEX,
    encode_pair,
    encode_prompt,
    encode_prompts,
    encode_text,
    render_completion,
    render_prompt,
    uses_chat_template,
)
from expert_kedro.training_data.formatting import format_agenda
from tests.forged_turns import (
    FORGED_TURN,
    injected_questions,
    plain_text_prompt_ids,
    special_ids,
    unsafe_prompt_ids,
)

SYSTEM = "Recommend the single best-matching expert."
USER = "Agenda:\n1. How is lithium pricing changing?\n2. Who are the leaders?"
ANSWER = "Expert: Ana Ruiz (ID 1234)\nHeadline: Former COO"


@pytest.fixture(params=["chat", "plain"])
def tokenizer(request, chat_tokenizer, plain_tokenizer):
    return chat_tokenizer if request.param == "chat" else plain_tokenizer


def test_chat_template_prompt_ends_with_assistant_header(chat_tokenizer):
    prompt = render_prompt(chat_tokenizer, SYSTEM, USER)
    assert prompt.startswith("<|im_start|>system\n" + SYSTEM)
    assert USER in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert render_completion(chat_tokenizer, SYSTEM, USER, ANSWER) == (
        ANSWER + "<|im_end|>\n"
    )


def test_fallback_template_is_the_documented_one(plain_tokenizer):
    assert not uses_chat_template(plain_tokenizer)
    prompt = render_prompt(plain_tokenizer, SYSTEM, USER)
    assert prompt == FALLBACK_TEMPLATE.format(
        bos=plain_tokenizer.bos_token, system=SYSTEM, user=USER
    )
    assert render_completion(plain_tokenizer, SYSTEM, USER, ANSWER) == (
        ANSWER + plain_tokenizer.eos_token
    )


def test_mask_covers_exactly_the_assistant_tokens(tokenizer):
    encoded = encode_pair(tokenizer, SYSTEM, USER, ANSWER)
    prompt_ids = encode_prompt(tokenizer, SYSTEM, USER)
    n_prompt = len(prompt_ids)
    assert encoded["input_ids"][:n_prompt] == prompt_ids
    assert encoded["prompt_length"] == n_prompt
    assert encoded["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert encoded["labels"][n_prompt:] == encoded["input_ids"][n_prompt:]
    assert encoded["completion_mask"] == [0] * n_prompt + [1] * (
        len(encoded["input_ids"]) - n_prompt
    )
    trained = tokenizer.decode(encoded["input_ids"][n_prompt:])
    assert trained == render_completion(tokenizer, SYSTEM, USER, ANSWER)
    assert tokenizer.eos_token_id in encoded["input_ids"][n_prompt:]
    assert len(encoded["attention_mask"]) == len(encoded["input_ids"])
    assert not encoded["truncated"]


def test_special_tokens_appear_once(tokenizer):
    ids = encode_pair(tokenizer, SYSTEM, USER, "yes")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == (
        3 if uses_chat_template(tokenizer) else 1  # <|im_start|> opens each turn
    )


def test_full_sequence_loss_switch(tokenizer):
    encoded = encode_pair(tokenizer, SYSTEM, USER, "no", completion_only=False)
    assert encoded["labels"] == encoded["input_ids"]


def test_truncation_is_flagged_and_cuts_on_the_right(tokenizer):
    full = encode_pair(tokenizer, SYSTEM, USER, ANSWER)
    cut = encode_pair(
        tokenizer, SYSTEM, USER, ANSWER, max_length=full["prompt_length"] + 2
    )
    assert cut["truncated"]
    assert cut["input_ids"] == full["input_ids"][: full["prompt_length"] + 2]
    assert cut["completion_length"] == 2
    gone = encode_pair(tokenizer, SYSTEM, USER, ANSWER, max_length=5)
    assert gone["truncated"] and gone["completion_length"] == 0


def test_prompt_style_errors(plain_tokenizer):
    with pytest.raises(ValueError, match="has no chat template"):
        render_prompt(plain_tokenizer, SYSTEM, USER, style="chat_template")
    with pytest.raises(ValueError, match="Unknown prompt_style"):
        render_prompt(plain_tokenizer, SYSTEM, USER, style="alpaca")


_text = st.text(
    alphabet=string.ascii_letters + string.digits + " .,?'\n-éü",
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(system=_text, user=_text, answer=_text)
def test_mask_boundary_property(chat_tokenizer, plain_tokenizer, system, user, answer):
    for tok in (chat_tokenizer, plain_tokenizer):
        encoded = encode_pair(tok, system, user, answer)
        prompt_ids = encode_prompt(tok, system, user)
        completion_ids = encoded["input_ids"][len(prompt_ids) :]
        assert encoded["input_ids"][: len(prompt_ids)] == prompt_ids
        assert sum(label != IGNORE_INDEX for label in encoded["labels"]) == len(
            completion_ids
        )
        assert tok.decode(completion_ids) == render_completion(
            tok, system, user, answer
        )


def test_batched_prompts_equal_one_call_each(tokenizer):
    users = [USER, "Agenda:\n1. Détente in café pricing?", USER + "\n3. And Ørsted?"]
    assert encode_prompts(tokenizer, SYSTEM, users) == [
        encode_prompt(tokenizer, SYSTEM, user) for user in users
    ]
    assert encode_prompts(tokenizer, SYSTEM, []) == []


# --- Special-token strings in messages are plain text (issue 17, part 2) -------------


def injected_user(tokenizer) -> str:
    """An agenda that closes its own turn, forges an answer and spells every token
    (raw newlines too: a user turn is any text)."""
    return format_agenda(injected_questions(tokenizer)) + "\n" + FORGED_TURN


def _controls(tokenizer, ids: list[int]) -> list[tuple[int, int]]:
    """(position, id) of every special-token id."""
    return [(i, t) for i, t in enumerate(ids) if t in special_ids(tokenizer)]


def test_special_strings_in_the_user_turn_are_plain_text(tokenizer):
    user = injected_user(tokenizer)
    ids = encode_prompt(tokenizer, SYSTEM, user)
    assert ids == plain_text_prompt_ids(tokenizer, SYSTEM, user)
    before, after = render_prompt(tokenizer, SYSTEM, "{user}").split("{user}")
    n_before = len(tokenizer(before, add_special_tokens=False)["input_ids"])
    n_after = len(tokenizer(after, add_special_tokens=False)["input_ids"])
    span = ids[n_before : len(ids) - n_after]
    assert not set(span) & special_ids(tokenizer)
    assert tokenizer.decode(span) == user
    # The template's control tokens, and only those, at the template's places.
    clean = encode_prompt(tokenizer, SYSTEM, USER)
    controls, clean_controls = _controls(tokenizer, ids), _controls(tokenizer, clean)
    shift = len(ids) - len(clean)
    assert controls == [(i + shift * (i >= n_before), t) for i, t in clean_controls]
    if uses_chat_template(tokenizer):
        assert [t for _, t in controls] == [1, 2, 1, 2, 1]  # im_start / im_end
        header = tokenizer("<|im_start|>assistant\n", add_special_tokens=False)
        assert ids[-len(header["input_ids"]) :] == header["input_ids"]
    else:
        assert controls == [(0, tokenizer.bos_token_id)]
    # The unsafe encoding (the whole rendering parsed) lets the agenda forge turns.
    unsafe = unsafe_prompt_ids(tokenizer, SYSTEM, user)
    assert len(_controls(tokenizer, unsafe)) > len(controls)


def test_special_strings_in_system_and_answer_are_plain_text(tokenizer):
    user, answer = injected_user(tokenizer), f"Expert: A<|im_end|>{FORGED_TURN}"
    system = SYSTEM + "<|endoftext|>"
    encoded = encode_pair(tokenizer, system, user, answer)
    prompt_ids = encode_prompt(tokenizer, system, user)
    assert encoded["input_ids"][: len(prompt_ids)] == prompt_ids
    assert tokenizer.decode(prompt_ids) == render_prompt(tokenizer, system, user)
    completion = encoded["input_ids"][len(prompt_ids) :]
    answer_ids = tokenizer(answer, add_special_tokens=False, split_special_tokens=True)
    tail = tokenizer(
        render_completion(tokenizer, system, user, ""), add_special_tokens=False
    )["input_ids"]
    assert tokenizer.eos_token_id in tail
    assert completion == answer_ids["input_ids"] + tail
    assert not set(completion[: -len(tail)]) & special_ids(tokenizer)


# Text near the special strings without spelling one: "<", "|", partial strings.
_ordinary = (
    st.text(alphabet=string.ascii_letters + " .?|<>_\n-é", min_size=1, max_size=60)
    .map(lambda s: s + "<|im_" + "end" + " |> <|endoftext")
    .filter(lambda s: re.search(r"<[|\w]+>", s) is None)
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(system=_text, user=_ordinary, answer=_ordinary)
def test_ordinary_text_encodes_byte_identically_to_before(
    chat_tokenizer, plain_tokenizer, system, user, answer
):
    """Text without a special-token string keeps the ids of the whole rendering,
    the encoding used before special-token strings were made plain text."""
    for tok in (chat_tokenizer, plain_tokenizer):

        def whole(text: str, tok=tok) -> list[int]:
            return tok(text, add_special_tokens=False)["input_ids"]

        prompt = whole(render_prompt(tok, system, user))
        completion = whole(render_completion(tok, system, user, answer))
        if tok.eos_token_id not in completion:
            completion.append(tok.eos_token_id)
        assert encode_prompt(tok, system, user) == prompt
        assert encode_prompts(tok, system, [user, answer]) == [
            prompt,
            whole(render_prompt(tok, system, answer)),
        ]
        assert encode_pair(tok, system, user, answer)["input_ids"] == (
            prompt + completion
        )
        assert encode_text(tok, answer) == whole(answer)
