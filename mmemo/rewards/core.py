"""The reward contract, component logging and the weighted combiner (rewards.md §14).

A reward is a picklable :class:`Reward` instance with a stable ``__name__`` and TRL's batch
signature::

    reward(completions, *, prompts=None, completion_ids=None, trainer_state=None, **columns)
        -> list[float | None]

Subclasses implement :meth:`Reward.score` for one completion. The base class

- extracts the completion text (string or chat list),
- never lets an exception escape: a failing sample gets the reward's documented
  ``fallback`` and increments ``n_errors`` (the first error message is kept in
  ``last_error``),
- accepts ``score`` results as a float, ``None`` (not applicable) or a component dict with
  key ``"overall"``; the extras are kept in ``last_components`` and, when TRL passes its
  ``log_metric`` callback, logged as ``rewards/<name>/<key>`` batch means,
- clips every value into the documented ``value_range`` (NaN and inf become the fallback).

:class:`WeightedSum` combines ``(reward, weight, schedule)`` triples into one reward and logs
each component; :class:`Scheduled` multiplies one reward by a schedule so the static weight can
stay in TRL's ``reward_weights``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from mmemo.rewards.parsing import completion_text
from mmemo.rewards.schedules import Constant, Schedule, step_of

Score = float | None | dict
_log = logging.getLogger(__name__)


class Reward:
    """Base class of every mmemo reward (see the module docstring for the contract).

    Attributes:
        __name__: stable name TRL logs under (class default, overridable per instance).
        value_range: documented ``(low, high)`` of every non-``None`` value.
        fallback: value returned for a sample whose scoring raised.
        n_errors: number of samples that raised since construction.
    """

    __name__: ClassVar[str] = "reward"
    value_range: tuple[float, float] = (-1.0, 1.0)
    fallback: float | None = 0.0

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.__name__ = name
        self.n_errors = 0
        self.last_error: str | None = None
        self.last_components: list[dict[str, float]] = []

    # -- to implement -------------------------------------------------------------------
    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        """Score one completion ``text`` (row ``index`` of the ``columns`` lists)."""
        raise NotImplementedError

    def required_columns(self) -> tuple[str, ...]:
        """Dataset columns this reward reads; missing ones raise a clear ``KeyError`` up front."""
        col = getattr(self, "column", None)
        return (col,) if isinstance(col, str) else ()

    def needs_completion_ids(self) -> bool:
        """Whether ``completion_ids`` are required (checked up front, a clear error if absent)."""
        return False

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:  # noqa: B027
        """Hook run once per batch before scoring (load resources, read the step)."""

    # -- the contract ---------------------------------------------------------------------
    def __call__(
        self,
        completions: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        trainer_state: Any = None,
        **columns: Any,
    ) -> list[float | None]:
        log_metric = columns.pop("log_metric", None)
        columns.pop("log_extra", None)
        columns.pop("environments", None)
        if prompts is not None:
            columns["prompts"] = prompts
        for name in self.required_columns():
            if name not in columns:
                raise KeyError(
                    f"{self.__name__} needs dataset column {name!r} (set column=... to "
                    f"rename); columns present: {sorted(k for k in columns if k != 'prompts')}"
                )
        if completion_ids is None and self.needs_completion_ids():
            raise ValueError(f"{self.__name__} measures token ids: pass completion_ids")
        self.prepare(columns, trainer_state)
        out: list[float | None] = []
        comps: list[dict[str, float]] = []
        errors_before = self.n_errors
        low, high = self.value_range
        for i, completion in enumerate(completions):
            ids = completion_ids[i] if completion_ids is not None else None
            try:
                result = self.score(completion_text(completion), i, columns, ids)
            except Exception as exc:  # a reward must never raise on completion text
                self._record_error(exc, i)
                result = self.fallback
            value, extras = _split_result(result)
            if value is not None:
                if not math.isfinite(value):
                    self._record_error(ValueError(f"non-finite value {value}"), i)
                    value = self.fallback
                elif value < low:
                    value = low
                elif value > high:
                    value = high
                else:
                    value += 0.0  # -0.0 -> 0.0
            out.append(value)
            comps.append(extras)
        self.last_components = comps
        if log_metric is not None:
            for key, mean in component_means(comps).items():
                log_metric(f"rewards/{self.__name__}/{key}", mean)
            errors = self.n_errors - errors_before
            log_metric(f"rewards/{self.__name__}/error_rate", errors / max(1, len(out)))
        return out

    def _record_error(self, exc: BaseException, index: int) -> None:
        self.n_errors += 1
        if self.last_error is None:
            self.last_error = f"sample {index}: {type(exc).__name__}: {exc}"[:500]
            _log.warning(
                "%s: scoring failed, returning the fallback %r (logged once; see n_errors): %s",
                self.__name__,
                self.fallback,
                self.last_error,
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.__name__!r})"


def _split_result(result: Score) -> tuple[float | None, dict[str, float]]:
    if isinstance(result, dict):
        overall = result.get("overall")
        extras = {k: v for k, v in result.items() if k != "overall"}
        return (None if overall is None else float(overall)), extras
    if result is None:
        return None, {}
    return float(result), {}


def component_means(components: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean of each numeric component key over a batch, skipping ``None`` and NaN."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for comp in components:
        for key, value in comp.items():
            if isinstance(value, bool | int | float) and value is not None:
                v = float(value)
                if math.isnan(v):
                    continue
                sums[key] = sums.get(key, 0.0) + v
                counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def column(columns: dict[str, Any], name: str, index: int) -> Any:
    """Row ``index`` of column ``name`` (presence is checked by ``Reward.__call__``)."""
    return columns[name][index]


class Scheduled(Reward):
    """``reward × schedule(global_step)``; keeps the inner reward's name and components.

    >>> from mmemo.rewards.schedules import StepGate
    >>> from mmemo.rewards.outcome import FormatReward
    >>> r = Scheduled(FormatReward(), StepGate(t_on=10))
    >>> r(["<think>a</think><answer>b</answer>"], trainer_state={"global_step": 5})
    [0.0]
    """

    def __init__(self, reward: Callable[..., list], schedule: Schedule, name: str | None = None):
        super().__init__(name or getattr(reward, "__name__", type(reward).__name__))
        self.reward = reward
        self.schedule = schedule
        inner_range = getattr(reward, "value_range", (-math.inf, math.inf))
        scale = max(1.0, abs(getattr(schedule, "max_value", 1.0)))
        self.value_range = (min(0.0, inner_range[0] * scale), max(0.0, inner_range[1] * scale))

    def __call__(self, completions, *, trainer_state=None, **kwargs):  # type: ignore[override]
        log_metric = kwargs.get("log_metric")
        factor = float(self.schedule(step_of(trainer_state), trainer_state))
        values = self.reward(completions, trainer_state=trainer_state, **kwargs)
        self.last_components = list(getattr(self.reward, "last_components", []))
        if log_metric is not None:
            log_metric(f"rewards/{self.__name__}/schedule", factor)
        return [None if v is None else float(v) * factor for v in values]


class WeightedSum(Reward):
    """One reward from ``(reward, weight, schedule)`` triples: ``Σ wₖ·sₖ(step)·rₖ``.

    ``None`` components are skipped (TRL's NaN-skipping sum); a sample where every component
    is ``None`` gives ``None``. Each component's raw value is kept in ``last_components``
    under its reward name (and its extras as ``<name>/<key>``), and logged as
    ``rewards/<this name>/<component>`` when TRL passes ``log_metric``.

    >>> from mmemo.rewards.outcome import FormatReward
    >>> combo = WeightedSum([(FormatReward(), 0.5, None)])
    >>> combo(["<think>a</think><answer>b</answer>", "b"])
    [0.5, 0.0]
    """

    __name__ = "weighted_sum_reward"

    def __init__(
        self,
        components: Sequence[tuple[Callable[..., list], float, Schedule | None]],
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.components = [
            (reward, float(weight), schedule if schedule is not None else Constant())
            for reward, weight, schedule in components
        ]
        low = high = 0.0
        for reward, weight, schedule in self.components:
            r_lo, r_hi = getattr(reward, "value_range", (-1.0, 1.0))
            w = weight * max(1.0, abs(getattr(schedule, "max_value", 1.0)))
            low += min(w * r_lo, w * r_hi, 0.0)
            high += max(w * r_lo, w * r_hi, 0.0)
        self.value_range = (low, high)

    def __call__(self, completions, *, trainer_state=None, **kwargs):  # type: ignore[override]
        log_metric = kwargs.pop("log_metric", None)
        n = len(completions)
        totals: list[float | None] = [None] * n
        comps: list[dict[str, float]] = [{} for _ in range(n)]
        step = step_of(trainer_state)
        for reward, weight, schedule in self.components:
            name = getattr(reward, "__name__", type(reward).__name__)
            factor = weight * float(schedule(step, trainer_state))
            try:
                values = reward(completions, trainer_state=trainer_state, **kwargs)
            except Exception as exc:  # a plain user callable may raise; ours never do
                self._record_error(exc, -1)
                values = [None] * n
            extras = getattr(reward, "last_components", None) or [{}] * n
            for i, value in enumerate(values):
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                comps[i][name] = float(value)
                for key, extra in extras[i].items():
                    comps[i][f"{name}/{key}"] = extra
                totals[i] = (totals[i] or 0.0) + factor * float(value)
            if log_metric is not None:
                log_metric(f"rewards/{self.__name__}/{name}/weight", factor)
        self.last_components = comps
        if log_metric is not None:
            for key, mean in component_means(comps).items():
                log_metric(f"rewards/{self.__name__}/{key}", mean)
        return totals


def to_trl(
    components: Sequence[tuple[Callable[..., list], float, Schedule | None]],
) -> tuple[list[Callable[..., list]], list[float]]:
    """``(reward_funcs, reward_weights)`` for TRL: scheduled rewards wrapped in :class:`Scheduled`.

    Static-only recipes pass the result straight to ``GRPOConfig(reward_weights=...)`` and
    ``GRPOTrainer(reward_funcs=...)``; TRL then logs every reward under its own name.
    """
    funcs: list[Callable[..., list]] = []
    weights: list[float] = []
    for reward, weight, schedule in components:
        if schedule is None or isinstance(schedule, Constant) and schedule.value == 1.0:
            funcs.append(reward)
        else:
            funcs.append(Scheduled(reward, schedule))
        weights.append(float(weight))
    return funcs, weights
