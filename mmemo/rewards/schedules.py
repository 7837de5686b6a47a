"""Reward-weight schedules: multipliers of the static weight as a function of the step.

Effective weight = static weight × ``schedule(trainer_state.global_step)`` (rewards.md §14).
Every schedule is a small picklable object with ``__call__(step, trainer_state=None)`` and a
``max_value`` (its largest output, used to bound combined reward ranges).

``relative=True`` makes ``t_on``/``t_full``/``T`` fractions of ``trainer_state.max_steps``
(e.g. the GRPO-PTR defaults ``t_on=0.1, t_full=0.4``); when the trainer state is unknown the
step is taken as 0.
"""

from __future__ import annotations

import math
from typing import Any, Protocol


class Schedule(Protocol):
    max_value: float

    def __call__(self, step: int, trainer_state: Any = None) -> float: ...


def step_of(trainer_state: Any) -> int:
    """``global_step`` of a TRL ``TrainerState`` (or a dict with that key); 0 when unknown."""
    if trainer_state is None:
        return 0
    if isinstance(trainer_state, dict):
        return int(trainer_state.get("global_step", 0) or 0)
    return int(getattr(trainer_state, "global_step", 0) or 0)


def _max_steps(trainer_state: Any) -> int | None:
    if trainer_state is None:
        return None
    value = (
        trainer_state.get("max_steps")
        if isinstance(trainer_state, dict)
        else getattr(trainer_state, "max_steps", None)
    )
    return int(value) if value else None


def _resolve(value: float, relative: bool, trainer_state: Any) -> float:
    if not relative:
        return float(value)
    total = _max_steps(trainer_state)
    if total is None:
        raise ValueError("relative schedule needs trainer_state.max_steps")
    return float(value) * total


class Constant:
    """Always ``value``.

    >>> Constant(0.5)(1000)
    0.5
    """

    def __init__(self, value: float = 1.0) -> None:
        self.value = float(value)
        self.max_value = self.value

    def __call__(self, step: int, trainer_state: Any = None) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class StepGate:
    """0 before ``t_on``, ``value`` from ``t_on`` on.

    >>> g = StepGate(t_on=100)
    >>> g(99), g(100)
    (0.0, 1.0)
    """

    def __init__(self, t_on: float, value: float = 1.0, relative: bool = False) -> None:
        if t_on < 0:
            raise ValueError(f"t_on must be >= 0, got {t_on}")
        self.t_on, self.value, self.relative = t_on, float(value), relative
        self.max_value = self.value

    def __call__(self, step: int, trainer_state: Any = None) -> float:
        t_on = _resolve(self.t_on, self.relative, trainer_state)
        return self.value if step >= t_on else 0.0

    def __repr__(self) -> str:
        return f"StepGate(t_on={self.t_on}, value={self.value}, relative={self.relative})"


class LinearRamp:
    """0 before ``t_on``; ``max·(step − t_on)/(t_full − t_on)`` until ``t_full``; ``max`` after.

    >>> r = LinearRamp(t_on=100, t_full=300, max=0.3)
    >>> r(50), r(200), r(300), r(10_000)
    (0.0, 0.15, 0.3, 0.3)
    """

    def __init__(
        self, t_on: float, t_full: float, max: float = 1.0, relative: bool = False
    ) -> None:
        if t_full <= t_on:
            raise ValueError(f"LinearRamp needs t_full > t_on, got t_on={t_on}, t_full={t_full}")
        if t_on < 0:
            raise ValueError(f"t_on must be >= 0, got {t_on}")
        self.t_on, self.t_full, self.max_value, self.relative = t_on, t_full, float(max), relative

    def __call__(self, step: int, trainer_state: Any = None) -> float:
        t_on = _resolve(self.t_on, self.relative, trainer_state)
        t_full = _resolve(self.t_full, self.relative, trainer_state)
        if step < t_on:
            return 0.0
        if step >= t_full:
            return self.max_value
        return round(self.max_value * (step - t_on) / (t_full - t_on), 12)

    def __repr__(self) -> str:
        return (
            f"LinearRamp(t_on={self.t_on}, t_full={self.t_full}, max={self.max_value}, "
            f"relative={self.relative})"
        )


class ExpDecay:
    """``scale · exp(−step / T)`` (SophiaVL-R1's trust-reward ``alpha``: scale 0.3).

    >>> d = ExpDecay(scale=0.3, T=500)
    >>> d(0), round(d(500), 6)
    (0.3, 0.110364)
    """

    def __init__(self, scale: float = 1.0, T: float = 500.0, relative: bool = False) -> None:
        if T <= 0:
            raise ValueError(f"ExpDecay needs T > 0, got {T}")
        self.scale, self.T, self.relative = float(scale), T, relative
        self.max_value = self.scale

    def __call__(self, step: int, trainer_state: Any = None) -> float:
        T = _resolve(self.T, self.relative, trainer_state)
        return self.scale * math.exp(-step / T)

    def __repr__(self) -> str:
        return f"ExpDecay(scale={self.scale}, T={self.T}, relative={self.relative})"
