import math

import pytest

from mmemo.rewards.length import (
    CosineLengthReward,
    KimiLengthReward,
    LengthBandReward,
    RepetitionReward,
    SoftOverlongReward,
    kimi_group_length,
    measure_length,
)
from mmemo.rewards.outcome import AccuracyReward


def test_dapo_golden_and_regions():
    r = SoftOverlongReward(max_len=100, cache=20)
    ids = [[1] * n for n in (0, 80, 90, 100, 101, 5000)]
    assert r([""] * 6, completion_ids=ids) == [0.0, 0.0, -0.5, -1.0, -1.0, -1.0]
    assert SoftOverlongReward(max_len=100).cache == 25


def test_dapo_matches_trl():
    from trl.rewards import get_soft_overlong_punishment

    ids = [[7] * n for n in range(0, 130, 7)]
    ours = SoftOverlongReward(max_len=100, cache=20)([""] * len(ids), completion_ids=ids)
    assert ours == pytest.approx(get_soft_overlong_punishment(100, 20)(ids))


def test_dapo_on_think_span_in_words():
    r = SoftOverlongReward(max_len=10, cache=4, span="think", unit="words")
    text = "<think>" + "w " * 8 + "</think><answer>" + "x " * 100 + "</answer>"
    assert r([text]) == [pytest.approx(-0.5)]
    assert r(["no think span at all " * 50]) == [0.0]


def test_length_needs_ids_or_tokenizer():
    with pytest.raises(ValueError, match="tokenizer"):
        SoftOverlongReward(max_len=10, span="think")
    assert measure_length("<think>a b c</think>", None, "think", "tokens", tokenizer=str.split) == 3
    with pytest.raises(ValueError, match="pass completion_ids"):
        SoftOverlongReward(max_len=10, cache=2)(["abc"])
    with pytest.raises(ValueError, match="pass completion_ids"):
        RepetitionReward()(["a b c d"])


def test_cosine_end_points():
    acc = AccuracyReward(column="label", normalise=False)
    r = CosineLengthReward(max_len=100, unit="tokens", accuracy=acc)
    texts = ["<answer>a</answer>", "<answer>b</answer>"] * 3
    ids = [[1] * 0, [1] * 0, [1] * 100, [1] * 100, [1] * 500, [1] * 50]
    out = r(texts, completion_ids=ids, label=["a"] * 6)
    assert out[:5] == pytest.approx([1.0, -1.0, 0.5, -0.5, 0.5])
    assert out[5] == pytest.approx(-0.75)  # wrong answer half way: -1 + 0.25
    args = CosineLengthReward(max_len=100, unit="tokens", accuracy=acc, preset="open_r1_args")
    assert args(texts[:4], completion_ids=ids[:4], label=["a"] * 4) == pytest.approx(
        [1.0, 0.0, 0.5, -0.5]
    )


def test_cosine_matches_open_r1_formula_and_none_gt():
    acc = AccuracyReward(column="label", normalise=False)
    r = CosineLengthReward(max_len=1000, accuracy=acc)
    text = "<answer>a</answer>" + "x" * 300
    expected = 0.5 + 0.5 * 0.5 * (1 + math.cos(math.pi * len(text) / 1000))
    assert r([text, text], label=["a", ""]) == [pytest.approx(expected), None]


def test_kimi_group_length():
    assert kimi_group_length([10, 10, 10], [True, False, True]) == [0.0, 0.0, 0.0]
    assert kimi_group_length([10, 30, 20], [False, False, True]) == [0.0, -0.5, 0.0]
    assert kimi_group_length([1, 2], [None, True]) == [None, -0.5]


def test_kimi_reward_on_local_groups():
    acc = AccuracyReward(column="label", normalise=False)
    r = KimiLengthReward(group_size=2, accuracy=acc)
    texts = ["<answer>a</answer>"] * 4
    ids = [[1] * 10, [1] * 20, [1] * 5, [1] * 5]
    assert r(texts, completion_ids=ids, label=["a"] * 4) == [0.5, -0.5, 0.0, 0.0]


def test_repetition_matches_trl_on_token_ids():
    from trl.rewards import get_repetition_penalty_reward

    ids = [[1, 2, 3, 4], [5] * 6, [1, 2, 1, 2, 1, 2], [1], []]
    ours = RepetitionReward(n=3, penalty=-1.0)([""] * 5, completion_ids=ids)
    assert ours == pytest.approx(get_repetition_penalty_reward(3, -1.0)(ids))
    assert RepetitionReward()([""], completion_ids=[[5] * 6]) == [pytest.approx(-0.375)]


def test_repetition_words_open_r1():
    r = RepetitionReward(n=2, penalty=-1.0, unit="words")
    assert r(["A a A a", "one two three", "", "solo"]) == [pytest.approx(-2 / 3), 0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        RepetitionReward(penalty=0.5)


def test_length_band():
    r = LengthBandReward(lo=10, hi=20, beta=1.0, unit="chars")
    assert r(["x" * 15, "x" * 10, "x" * 20, "x" * 5, "x" * 30, "x" * 100]) == [
        0.0, 0.0, 0.0, -0.25, -0.5, -1.0,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="lo <= hi"):
        LengthBandReward(lo=5, hi=2)
