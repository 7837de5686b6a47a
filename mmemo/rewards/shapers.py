"""Group-aware reward shapers, applied to the gathered ``[B·G, K]`` reward matrix (§14).

TRL computes each reward on every process's local slice; whole groups exist only after the
cross-process gather. mmemo's GRPO trainer subclass therefore calls the shapers on the
gathered matrix, whose rows are ordered so that group index = ``row // G``, before weights
are applied and advantages computed. A shaper is pure arithmetic (every rank computes the
same values) with the signature::

    shaper(rewards, names, *, group_size, trainer_state=None, **context) -> rewards

``rewards`` is a ``[N, K]`` torch tensor, numpy array or nested list (NaN = ``None``);
``names`` are the K reward names (TRL's ``reward_func_names``); the result has the same type,
device and dtype with the shaper's target column replaced. Each shaper keeps batch
statistics in ``last_metrics`` for logging.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from mmemo.rewards.length import kimi_group_length
from mmemo.rewards.schedules import ExpDecay, LinearRamp, step_of


def _as_numpy(rewards: Any) -> tuple[Any, Callable[[Any], Any]]:
    import numpy as np

    if hasattr(rewards, "detach"):  # torch tensor: restore dtype and device afterwards
        import torch

        arr = rewards.detach().to("cpu", torch.float64).numpy().copy()
        return arr, lambda out: torch.as_tensor(out, dtype=rewards.dtype, device=rewards.device)
    if isinstance(rewards, np.ndarray):
        return rewards.astype(np.float64, copy=True), lambda out: out.astype(rewards.dtype)
    arr = np.array(
        [[np.nan if v is None else float(v) for v in row] for row in rewards], dtype=np.float64
    )
    return arr, lambda out: out


def _index(names: Sequence[str], name: str) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise KeyError(f"shaper column {name!r} not among the rewards {list(names)}") from None


def _groups(n: int, group_size: int) -> range:
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} reward rows do not split into groups of {group_size}")
    return range(0, n, group_size)


class TrustWeightedReasoning:
    """Trust-weighted progressive reasoning reward (GRPO-PTR; SophiaVL-R1 Trust-GRPO).

    Per group, with outcome ``a`` (column ``outcome``) and judge score ``t`` (column
    ``reasoning``): if every known ``a ≥ gates[1]`` or every known ``a ≤ gates[0]`` the
    group is gated and ``t = 0``; otherwise ``t_i = 0`` where ``a_i < judge_threshold``.
    ``μ_c`` / ``μ_w`` are the means of ``t`` over rollouts with ``a ≥ 0.5`` / ``a < 0.5``
    (0 when empty; judge failures, NaN, are excluded). ``trust = exp(μ_c − μ_w)`` when
    ``μ_c < μ_w``, else 1. The reasoning column becomes ``λ(step)·trust·t_i`` (a judge
    failure contributes 0; an unknown outcome gives NaN). With reasoning weight 1 and
    outcome weight 1 the total is SophiaVL's ``a_i + α·t_i``.

    ``schedule``: ``"ramp"`` (mmemo default: 0 before ``t_on``, linear to ``lambda_max`` at
    ``t_full``; ``t_on``/``t_full`` are fractions of ``max_steps`` when ≤ 1),
    ``"sophia_decay"`` (``0.3·exp(−step/T)``, T = 12000 as SophiaVL's shipped config; its
    constructor default is 500), or any schedule object.
    """

    def __init__(
        self,
        outcome: str = "accuracy_reward",
        reasoning: str = "judge_reward",
        schedule: str | Any = "ramp",
        lambda_max: float = 0.3,
        t_on: float = 0.1,
        t_full: float = 0.4,
        decay_scale: float = 0.3,
        decay_T: float = 12000.0,
        gates: tuple[float, float] = (0.1, 0.9),
        judge_threshold: float = 0.2,
        correct_threshold: float = 0.5,
    ) -> None:
        self.outcome, self.reasoning = outcome, reasoning
        if schedule == "ramp":
            relative = t_full <= 1.0
            self.schedule = LinearRamp(t_on, t_full, max=lambda_max, relative=relative)
        elif schedule == "sophia_decay":
            self.schedule = ExpDecay(scale=decay_scale, T=decay_T)
        elif callable(schedule):
            self.schedule = schedule
        else:
            raise ValueError(
                f"schedule must be 'ramp', 'sophia_decay' or a schedule, got {schedule!r}"
            )
        self.gates, self.judge_threshold = gates, judge_threshold
        self.correct_threshold = correct_threshold
        self.last_metrics: dict[str, float] = {}

    def __call__(self, rewards, names, *, group_size, trainer_state=None, **context):
        import numpy as np

        arr, restore = _as_numpy(rewards)
        a_col, t_col = _index(names, self.outcome), _index(names, self.reasoning)
        lam = float(self.schedule(step_of(trainer_state), trainer_state))
        low, high = self.gates
        stats = {"mu_c": [], "mu_w": [], "gamma": [], "trust": [], "gated": []}
        for start in _groups(len(arr), group_size):
            a = arr[start : start + group_size, a_col]
            t = arr[start : start + group_size, t_col].copy()
            known = ~np.isnan(a)
            out = np.full(group_size, np.nan)
            if not known.any():
                arr[start : start + group_size, t_col] = out
                continue
            gated = bool(np.all(a[known] >= high) or np.all(a[known] <= low))
            if gated:
                t[:] = 0.0
            else:
                t[known & (a < self.judge_threshold)] = 0.0
            valid = known & ~np.isnan(t)
            correct = valid & (a >= self.correct_threshold)
            wrong = valid & (a < self.correct_threshold)
            mu_c = float(t[correct].mean()) if correct.any() else 0.0
            mu_w = float(t[wrong].mean()) if wrong.any() else 0.0
            trust = math.exp(mu_c - mu_w) if mu_c < mu_w else 1.0
            gamma = math.exp(2.0 * (mu_c - mu_w)) if mu_c < mu_w else 1.0
            out[known] = lam * trust * np.nan_to_num(t[known], nan=0.0)
            arr[start : start + group_size, t_col] = out
            for key, value in zip(stats, (mu_c, mu_w, gamma, trust, float(gated))):
                stats[key].append(value)
        self.last_metrics = {k: float(np.mean(v)) for k, v in stats.items() if v}
        self.last_metrics["lambda"] = lam
        return restore(arr)


class KimiLengthShaper:
    """Kimi k1.5 group length reward into column ``target`` (range [−0.5, 0.5]).

    Needs ``lengths`` (one per row, e.g. completion token counts) in the call context;
    correctness is ``outcome ≥ threshold`` (NaN outcome → NaN).
    """

    def __init__(
        self,
        target: str = "kimi_length_reward",
        outcome: str = "accuracy_reward",
        threshold: float = 0.5,
    ) -> None:
        self.target, self.outcome, self.threshold = target, outcome, threshold
        self.last_metrics: dict[str, float] = {}

    def __call__(self, rewards, names, *, group_size, trainer_state=None, lengths=None, **context):
        import numpy as np

        if lengths is None:
            raise ValueError("KimiLengthShaper needs lengths=... (one completion length per row)")
        arr, restore = _as_numpy(rewards)
        lengths = [float(x) for x in (lengths.tolist() if hasattr(lengths, "tolist") else lengths)]
        if len(lengths) != len(arr):
            raise ValueError(f"{len(lengths)} lengths for {len(arr)} reward rows")
        col, a_col = _index(names, self.target), _index(names, self.outcome)
        equal = 0
        for start in _groups(len(arr), group_size):
            rows = range(start, start + group_size)
            correct = [
                None if np.isnan(arr[i, a_col]) else arr[i, a_col] >= self.threshold for i in rows
            ]
            group_lengths = [lengths[i] for i in rows]
            equal += max(group_lengths) == min(group_lengths)
            values = kimi_group_length(group_lengths, correct)
            arr[start : start + group_size, col] = [np.nan if v is None else v for v in values]
        self.last_metrics = {"equal_length_groups": equal / max(1, len(arr) // group_size)}
        return restore(arr)


class PARShaper:
    """Preference-As-Reward against the group mean: ``r_i ← σ(r_i − mean_group(r))``.

    Apply to judge or reward-model scores only (not 0/1 rewards). NaN entries stay NaN and
    are excluded from the mean; the result lies in (0, 1).
    """

    def __init__(self, target: str = "judge_reward") -> None:
        self.target = target
        self.last_metrics: dict[str, float] = {}

    def __call__(self, rewards, names, *, group_size, trainer_state=None, **context):
        import numpy as np

        arr, restore = _as_numpy(rewards)
        col = _index(names, self.target)
        for start in _groups(len(arr), group_size):
            r = arr[start : start + group_size, col]
            known = ~np.isnan(r)
            if not known.any():
                continue
            ref = r[known].mean()
            r[known] = 1.0 / (1.0 + np.exp(-(r[known] - ref)))
            arr[start : start + group_size, col] = r
        return restore(arr)


def apply_shapers(
    shapers: Sequence[Any], rewards: Any, names: Sequence[str], *, group_size: int, **context: Any
) -> Any:
    """Apply ``shapers`` in order; the trainer calls this on the gathered matrix."""
    for shaper in shapers:
        rewards = shaper(rewards, names, group_size=group_size, **context)
    return rewards


def group_stats(totals: Any, group_size: int) -> dict[str, float]:
    """Per-step diagnostics of the summed rewards ``[N]``: the fraction of groups whose reward
    has zero spread (no GRPO signal) and the mean within-group std (NaN rows ignored).

    >>> group_stats([1.0, 1.0, 0.0, 1.0], group_size=2)
    {'frac_zero_std_groups': 0.5, 'mean_group_std': 0.25}
    """
    import numpy as np

    arr, _ = _as_numpy([[v] for v in (totals.tolist() if hasattr(totals, "tolist") else totals)])
    flat = arr[:, 0]
    stds = []
    for start in _groups(len(flat), group_size):
        group = flat[start : start + group_size]
        group = group[~np.isnan(group)]
        stds.append(float(group.std()) if len(group) else 0.0)
    zero = sum(s < 1e-8 for s in stds)
    return {"frac_zero_std_groups": zero / len(stds), "mean_group_std": float(np.mean(stds))}
