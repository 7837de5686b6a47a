import pickle

import pytest

from mmemo.rewards.schedules import Constant, ExpDecay, LinearRamp, StepGate, step_of


class State:
    def __init__(self, step, max_steps=None):
        self.global_step, self.max_steps = step, max_steps


def test_step_of():
    assert step_of(None) == 0
    assert step_of({"global_step": 7}) == 7
    assert step_of(State(12)) == 12


def test_schedule_values():
    assert Constant(2.0)(10**6) == 2.0
    gate = StepGate(t_on=5)
    assert [gate(s) for s in (0, 4, 5, 50)] == [0.0, 0.0, 1.0, 1.0]
    ramp = LinearRamp(t_on=10, t_full=20, max=0.3)
    assert [ramp(s) for s in (0, 10, 15, 20, 99)] == pytest.approx([0, 0, 0.15, 0.3, 0.3])
    decay = ExpDecay(scale=0.3, T=12000)
    assert decay(0) == 0.3 and decay(12000) == pytest.approx(0.3 / 2.718281828459045)


def test_relative_ramp_uses_max_steps():
    ramp = LinearRamp(t_on=0.1, t_full=0.4, max=0.3, relative=True)
    assert ramp(100, State(100, 1000)) == 0.0
    assert ramp(250, State(250, 1000)) == pytest.approx(0.15)
    assert ramp(400, State(400, 1000)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="max_steps"):
        ramp(5, None)


def test_invalid_schedules_and_pickle():
    with pytest.raises(ValueError):
        LinearRamp(t_on=10, t_full=10)
    with pytest.raises(ValueError):
        ExpDecay(T=0)
    for s in (Constant(), StepGate(3), LinearRamp(1, 2), ExpDecay()):
        assert pickle.loads(pickle.dumps(s))(2) == s(2)
