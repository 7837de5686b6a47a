import math
import pickle

import pytest

from mmemo.rewards.core import Reward, Scheduled, WeightedSum, component_means, to_trl
from mmemo.rewards.outcome import AUF1Reward, FormatReward, LabelCountPenalty
from mmemo.rewards.schedules import Constant, LinearRamp, StepGate
from tests.rewards.helpers import columns_for, every_reward, ids_for

SAMPLES = [
    "<think>She smiles, AU6 and AU12, high pitch and fast speech.</think>\n<answer>happy</answer>",
    "<think>Attribute: mouth\nExpression: smile\nEmotion: happy</think><answer>happy, relieved</answer>",
    "<answer>sad</answer>",
    "",
    "<think>unclosed <answer>angry",
    "<think>" * 50,
]


class Boom(Reward):
    __name__ = "boom_reward"
    value_range = (0.0, 1.0)

    def score(self, text, index, columns, ids):
        if "boom" in text:
            raise RuntimeError("exploded")
        if "nan" in text:
            return float("nan")
        return 5.0 if "big" in text else 0.25


def test_guard_fallback_clip_and_error_count(caplog):
    r = Boom()
    logged = {}
    assert r(["boom", "nan", "big", "ok"], log_metric=logged.__setitem__) == [0.0, 0.0, 1.0, 0.25]
    assert r.n_errors == 2 and logged["rewards/boom_reward/error_rate"] == 0.5
    assert "boom_reward: scoring failed" in caplog.text
    assert r.last_error.startswith("sample 0: RuntimeError: exploded")


def test_every_reward_contract_on_strings_and_chats():
    chats = [[{"role": "assistant", "content": [{"type": "text", "text": t}]}] for t in SAMPLES]
    cols = columns_for(len(SAMPLES))
    for reward in every_reward():
        name = reward.__name__
        assert isinstance(name, str) and name.endswith(("reward", "penalty")), name
        as_text = reward(SAMPLES, completion_ids=ids_for(SAMPLES), **cols)
        as_chat = reward(chats, completion_ids=ids_for(SAMPLES), **cols)
        assert as_text == as_chat, name
        assert len(as_text) == len(SAMPLES)
        low, high = reward.value_range
        for v in as_text:
            assert v is None or (low <= v <= high and math.isfinite(v)), (name, v)


def test_every_reward_pickles_and_scores_identically():
    cols = columns_for(len(SAMPLES))
    for reward in every_reward():
        before = reward(SAMPLES, completion_ids=ids_for(SAMPLES), **cols)
        clone = pickle.loads(pickle.dumps(reward))
        assert clone.__name__ == reward.__name__
        assert clone(SAMPLES, completion_ids=ids_for(SAMPLES), **cols) == before


def test_component_logging_through_trl_callback():
    logged = {}
    r = LabelCountPenalty()
    r(
        ["<answer>a, b, c, d, e</answer>", "<answer>a</answer>"],
        log_metric=lambda k, v: logged.__setitem__(k, v),
        log_extra=print,
    )
    assert logged == {
        "rewards/label_count_penalty/n_labels": 3.0,
        "rewards/label_count_penalty/error_rate": 0.0,
    }
    assert component_means([{"a": 1, "b": None}, {"a": 3, "b": float("nan")}]) == {"a": 2.0}


def test_weighted_sum_logs_each_component_and_skips_none():
    logged = {}
    combo = WeightedSum(
        [
            (FormatReward(), 1.0, None),
            (AUF1Reward(), 0.5, Constant()),
            (LabelCountPenalty(), 2.0, None),
        ]
    )
    texts = [
        "<think>AU6 AU12</think><answer>a, b, c, d</answer>",
        "<answer>x</answer>",
    ]
    out = combo(texts, aus=[["AU6", "AU12"], None], log_metric=logged.__setitem__)
    assert out == [pytest.approx(1.0 + 0.5 * 1.0 + 2.0 * -0.25), pytest.approx(0.0)]
    assert combo.last_components[0]["format_reward"] == 1.0
    assert combo.last_components[0]["au_f1_reward"] == 1.0
    assert combo.last_components[0]["label_count_penalty/n_labels"] == 4
    assert "au_f1_reward" not in combo.last_components[1]  # None: not applicable
    assert logged["rewards/weighted_sum_reward/format_reward"] == 0.5
    assert logged["rewards/weighted_sum_reward/au_f1_reward"] == 1.0
    assert logged["rewards/weighted_sum_reward/label_count_penalty"] == -0.125
    assert logged["rewards/weighted_sum_reward/au_f1_reward/weight"] == 0.5
    assert WeightedSum([(AUF1Reward(), 1.0, None)])(["x"], aus=[None]) == [None]


def test_schedules_change_effective_weight_with_global_step():
    class State:
        def __init__(self, step):
            self.global_step = step

    good = ["<think>a</think><answer>b</answer>"]
    combo = WeightedSum([(FormatReward(), 2.0, LinearRamp(t_on=10, t_full=20, max=1.0))])
    assert [combo(good, trainer_state=State(s))[0] for s in (0, 10, 15, 20, 100)] == pytest.approx(
        [0.0, 0.0, 1.0, 2.0, 2.0]
    )
    gated = Scheduled(FormatReward(), StepGate(t_on=3))
    logged = {}
    assert gated(good, trainer_state=State(2), log_metric=logged.__setitem__) == [0.0]
    assert gated(good, trainer_state=State(3), log_metric=logged.__setitem__) == [1.0]
    assert logged["rewards/format_reward/schedule"] == 1.0
    assert gated.__name__ == "format_reward"


def test_to_trl_wraps_only_scheduled_rewards():
    fmt, au = FormatReward(), AUF1Reward()
    funcs, weights = to_trl([(fmt, 1.0, None), (au, 0.5, LinearRamp(0, 10))])
    assert funcs[0] is fmt and isinstance(funcs[1], Scheduled) and funcs[1].reward is au
    assert weights == [1.0, 0.5]


def test_trl_callable_name_is_stable():
    from trl.trainer.utils import get_callable_name

    assert get_callable_name(FormatReward()) == "format_reward"
    assert get_callable_name(pickle.loads(pickle.dumps(AUF1Reward()))) == "au_f1_reward"
