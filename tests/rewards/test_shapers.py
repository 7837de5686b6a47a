import math

import numpy as np
import pytest

from mmemo.rewards.shapers import KimiLengthShaper, PARShaper, TrustWeightedReasoning, apply_shapers

NAMES = ["format_reward", "accuracy_reward", "judge_reward"]
NAN = float("nan")


class State:
    def __init__(self, step, max_steps=1000):
        self.global_step, self.max_steps = step, max_steps


def matrix(acc, judge):
    return np.array([[1.0, a, t] for a, t in zip(acc, judge)])


def test_trust_all_correct_or_all_wrong_group_gives_zero():
    shaper = TrustWeightedReasoning(schedule="ramp")
    m = matrix([1, 1, 1, 1, 0, 0, 0, 0], [0.9, 0.5, 0.7, 0.1, 0.8, 0.9, 0.3, 0.6])
    out = shaper(m, NAMES, group_size=4, trainer_state=State(1000))
    assert out[:, 2].tolist() == [0.0] * 8
    assert out[:, :2].tolist() == m[:, :2].tolist()  # other columns untouched
    assert shaper.last_metrics["gated"] == 1.0


def test_trust_shrinks_weight_when_wrong_answers_reason_better():
    shaper = TrustWeightedReasoning(schedule="ramp", lambda_max=0.3)
    acc = [1, 1, 0.3, 0.3]  # partial outcomes >= the 0.2 judge threshold are judged
    judge = [0.2, 0.4, 0.9, 0.7]  # mu_c = 0.3 < mu_w = 0.8
    out = shaper(matrix(acc, judge), NAMES, group_size=4, trainer_state=State(400))
    trust = math.exp(0.3 - 0.8)
    assert out[:, 2] == pytest.approx([0.3 * trust * t for t in judge])
    assert shaper.last_metrics["trust"] == pytest.approx(trust)
    assert shaper.last_metrics["gamma"] == pytest.approx(math.exp(2 * (0.3 - 0.8)))


def test_trust_keeps_weight_when_correct_answers_reason_better():
    shaper = TrustWeightedReasoning(schedule="ramp", lambda_max=0.3)
    judge = [0.8, 0.6, 0.1, 0.3]
    out = shaper(matrix([1, 1, 0.4, 0.4], judge), NAMES, group_size=4, trainer_state=State(250))
    assert out[:, 2] == pytest.approx([0.15 * t for t in judge])  # ramp half way: lambda 0.15
    wrong = shaper(matrix([1, 1, 0, 0], judge), NAMES, group_size=4, trainer_state=State(250))
    assert wrong[:, 2] == pytest.approx([0.12, 0.09, 0.0, 0.0])  # a < 0.2: not judged
    early = shaper(matrix([1, 1, 0, 0], judge), NAMES, group_size=4, trainer_state=State(50))
    assert early[:, 2].tolist() == [0.0] * 4


def test_trust_judge_gate_failures_and_unknown_outcome():
    shaper = TrustWeightedReasoning(schedule="ramp", lambda_max=1.0, t_on=0, t_full=1)
    # a = 0.1 is below the 0.2 judge threshold: its t counts as 0; NaN judge is excluded.
    m = matrix([1.0, 0.1, 0.6, NAN], [0.5, 0.9, NAN, 0.7])
    out = shaper(m, NAMES, group_size=4, trainer_state=State(10, 10))
    assert out[:3, 2].tolist() == pytest.approx([0.5, 0.0, 0.0])
    assert math.isnan(out[3, 2])
    assert shaper.last_metrics["mu_c"] == pytest.approx(0.5)
    assert shaper.last_metrics["mu_w"] == pytest.approx(0.0)


def test_sophia_decay_mode_reproduces_sophiavl():
    shaper = TrustWeightedReasoning(schedule="sophia_decay", decay_scale=0.3, decay_T=500)
    acc, judge = [1, 0.25, 1, 0.25], [0.2, 0.6, 0.4, 1.0]
    step = 250
    out = shaper(matrix(acc, judge), NAMES, group_size=4, trainer_state=State(step))
    mu_c, mu_w = 0.3, 0.8
    alpha = 0.3 * math.exp(-step / 500) * math.exp(mu_c - mu_w)
    totals = out[:, 1] + out[:, 2]  # outcome weight 1 + reasoning weight 1
    assert totals == pytest.approx([a + alpha * t for a, t in zip(acc, judge)])


def test_shaper_keeps_torch_type_device_and_dtype():
    torch = pytest.importorskip("torch")
    m = torch.tensor(matrix([1, 0.3], [0.5, 0.5]), dtype=torch.float32)
    out = TrustWeightedReasoning(t_on=0, t_full=1)(
        m, NAMES, group_size=2, trainer_state=State(5, 5)
    )
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out[:, 2].tolist() == pytest.approx([0.15, 0.15])
    assert m[0, 2].item() == 0.5  # input not modified


def test_groups_must_divide_rows_and_columns_must_exist():
    with pytest.raises(ValueError, match="groups of 3"):
        TrustWeightedReasoning()(
            matrix([1, 0], [0, 0]), NAMES, group_size=3, trainer_state=State(1)
        )
    with pytest.raises(KeyError, match="missing_reward"):
        PARShaper("missing_reward")(matrix([1], [0]), NAMES, group_size=1)


def test_group_index_is_row_div_g():
    # Two groups whose trust factors differ: rows 0..3 gated (all correct), rows 4..7 not.
    m = matrix([1, 1, 1, 1, 1, 1, 0.3, 0.3], [0.5] * 8)
    out = TrustWeightedReasoning(t_on=0, t_full=1, lambda_max=1.0)(
        m, NAMES, group_size=4, trainer_state=State(9, 9)
    )
    assert out[:, 2].tolist() == [0.0] * 4 + [0.5] * 4


def test_kimi_shaper_equal_lengths_and_golden():
    names = ["accuracy_reward", "kimi_length_reward"]
    m = [[1.0, None], [0.0, None], [1.0, None], [1.0, None], [0.0, None], [1.0, None]]
    out = KimiLengthShaper()(m, names, group_size=3, lengths=[10, 10, 10, 10, 30, 20])
    assert out[:, 1].tolist() == [0.0, 0.0, 0.0, 0.5, -0.5, 0.0]
    with pytest.raises(ValueError, match="lengths"):
        KimiLengthShaper()(m, names, group_size=3)


def test_par_shaper_group_mean():
    names = ["judge_reward"]
    out = PARShaper()([[0.2], [0.6], [NAN], [0.0]], names, group_size=2)
    assert out[0, 0] == pytest.approx(1 / (1 + math.exp(0.2)))
    assert out[1, 0] == pytest.approx(1 / (1 + math.exp(-0.2)))
    assert math.isnan(out[2, 0]) and out[3, 0] == pytest.approx(0.5)


def test_apply_shapers_in_order():
    m = matrix([1, 0], [0.4, 0.8])
    out = apply_shapers(
        [TrustWeightedReasoning(t_on=0, t_full=1, lambda_max=1.0), PARShaper()],
        m,
        NAMES,
        group_size=2,
        trainer_state=State(1, 1),
    )
    # trust step: t = [0.4, 0] (a = 0 is below the judge gate); PAR: sigma(+-0.2)
    assert out[:, 2] == pytest.approx([1 / (1 + math.exp(-0.2)), 1 / (1 + math.exp(0.2))])


def test_pinned_trl_groups_consecutive_rows():
    """The shapers assume group index = row // G: TRL's sampler repeats each prompt G times in a
    row, and its advantage code groups the gathered rewards with ``view(-1, G)``."""
    import inspect

    from trl.trainer import grpo_trainer
    from trl.trainer.utils import RepeatSampler

    G = 3
    order = list(RepeatSampler(list(range(5)), mini_repeat_count=G, batch_size=5, shuffle=False))
    assert [order[row // G * G] for row in range(len(order))] == order
    assert "rewards.view(-1, num_generations)" in inspect.getsource(grpo_trainer)
