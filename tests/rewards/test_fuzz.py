"""Property test: no reward raises and every value stays in its documented range.

Every reward in ``helpers.every_reward()`` is fed at least 10k random and adversarial
completions in total (hypothesis: 1000 batches of 10–14), as strings and chat messages,
with realistic, empty and malformed dataset columns.
"""

from __future__ import annotations

import json
import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cue_builders import media_cues
from tests.rewards.helpers import CUES, TREE, every_reward, ids_for

REWARDS = every_reward()
EXAMPLES, MIN_BATCH, MAX_BATCH = 1000, 10, 14

FRAGMENTS = [
    "<think>", "</think>", "<answer>", "</answer>", "<|think_begin|>", "<|think_end|>",
    "<|answer_begin|>", "<|answer_end|>", "<think", "answer>", "</", "<", ">", "\n", " ", "\t",
    "happy", "sad, angry", ",", ", ,", "AU12", "AU04", "AU", "no AU6", "smiling", "brows raised",
    "pitch is high", "speaks slowly", "rising intonation", "not loud", "(((((a*)*)*)*", "a" * 50,
    "Attribute: mouth", "Expression: smile", "Emotion: joy", '{"label": "root", "children": [',
    "]}", "{", "}", "null", "\\", "\u200b", "\U0001f600", "ß", "İ", "\u202e", "\x00", "é" * 5,
]  # fmt: skip
ADVERSARIAL = [
    "",
    " " * 1000,
    "<think>" * 10000,
    "</think>" * 10000 + "<answer>",
    "<think>" + "</think> <answer>" * 5000,
    "(((((a*)*)*)*" * 2000,
    "<think>" + "AU1" * 20000 + "</think><answer>" + "x," * 20000 + "</answer>",
    "<think>" + "smile brows raised loud " * 5000 + "</think>",
    "<think>" + "{" * 5000 + "}" * 5000 + "</think>",
    "<think>" + "Attribute: a\nExpression: b\nEmotion: c\n" * 2000 + "</think>",
    "<answer>" + "happy, " * 10000 + "</answer>",
    "x" * 1_000_000,
]

fragment_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40
).map("".join)
repeated = st.tuples(st.sampled_from(FRAGMENTS), st.integers(1, 400)).map(lambda t: t[0] * t[1])
texts = st.one_of(fragment_text, st.text(max_size=300), repeated, st.sampled_from(ADVERSARIAL))
completion = st.one_of(
    texts,
    texts.map(lambda t: [{"role": "assistant", "content": t}]),
    texts.map(lambda t: [{"role": "assistant", "content": [{"type": "text", "text": t}]}]),
)

ROW_VARIANTS = [
    {"emotion": "happy", "solution": "<answer>happy</answer>", "emotions": ["happy", "relieved"],
     "aus": ["AU6", "AU12"], "cues": CUES, "affect_tree": TREE, "caption": "a woman smiles",
     "ref_score": 0.3},
    {"emotion": "", "solution": "", "emotions": [], "aus": [], "cues": None, "affect_tree": None,
     "caption": "", "ref_score": None},
    {"emotion": None, "solution": None, "emotions": "['neutral']", "aus": "AU4, AU15",
     "cues": json.dumps(CUES), "affect_tree": "{not json", "caption": None, "ref_score": [0.1, 0.9]},
    {"emotion": "(((((a*)*)*)*", "solution": "<answer>", "emotions": ["", "???"], "aus": [4, "x"],
     "cues": {"aus": ["AU99"], "pitch_level": 3}, "affect_tree": {"children": []},
     "caption": "\U0001f600", "ref_score": []},
    # cue payloads as the encoders write them: `mmemo cues --json` and describe() text
    {"emotion": "sad", "solution": "sad", "emotions": ["sad"], "aus": ["AU1", "AU15"],
     "cues": media_cues({"AU1": 2.0, "AU15": 3.0}, "low", "low", "low", "falling").to_dict(),
     "affect_tree": TREE, "caption": "a sad face", "ref_score": 0.5},
    {"emotion": "angry", "solution": "angry", "emotions": ["angry"], "aus": ["AU4"],
     "cues": media_cues({"AU4": 4.0}, "high", "high", "high", "expressive").describe(),
     "affect_tree": TREE, "caption": "a frown", "ref_score": 0.5},
]  # fmt: skip
SEEN: dict[int, int] = {}  # completions each reward scored in the property test


def _columns(row_choices: list[int]) -> dict[str, list]:
    keys = ROW_VARIANTS[0].keys()
    return {k: [ROW_VARIANTS[i][k] for i in row_choices] for k in keys}


def _text_of(c) -> str:
    if isinstance(c, str):
        return c
    content = c[0]["content"]
    return content if isinstance(content, str) else content[0]["text"]


def _check(batch: list, rows: list[int], count: bool = False) -> None:
    cols = _columns(rows)
    ids = ids_for([_text_of(c) for c in batch])
    for reward in REWARDS:
        values = reward(batch, completion_ids=ids, trainer_state={"global_step": 5}, **cols)
        assert len(values) == len(batch), reward.__name__
        if count:
            SEEN[id(reward)] = SEEN.get(id(reward), 0) + len(values)
        low, high = reward.value_range
        for v in values:
            assert v is None or (math.isfinite(v) and low <= v <= high), (reward.__name__, v)
        # the guard must not be what keeps a reward alive: no internal errors either
        assert reward.n_errors == 0, (reward.__name__, reward.last_error)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    batch=st.lists(completion, min_size=MIN_BATCH, max_size=MAX_BATCH),
    rows=st.lists(st.integers(0, len(ROW_VARIANTS) - 1), min_size=MAX_BATCH, max_size=MAX_BATCH),
)
def test_rewards_never_raise_and_stay_in_range(batch, rows):
    _check(batch, rows[: len(batch)], count=True)


def test_fuzz_volume_is_at_least_10k_per_reward():
    """Counted, not computed: the property test above really fed >= 10k completions (with
    real cue payloads among the rows) to every reward."""
    if not SEEN:
        import pytest

        pytest.skip("run together with test_rewards_never_raise_and_stay_in_range")
    assert len(SEEN) == len(REWARDS)
    assert min(SEEN.values()) >= 10_000, SEEN


def test_adversarial_inputs_are_fast():
    """Every adversarial string, through every reward, stays well under a second."""
    _check(ADVERSARIAL, [0, 1, 2, 3, 4, 5] * 2)
    for text in ADVERSARIAL:
        start = time.perf_counter()
        for reward in REWARDS:
            reward([text], completion_ids=ids_for([text]), **_columns([0]))
        assert time.perf_counter() - start < 2.0, text[:40]
