"""Length and repetition rewards (rewards.md §7–11).

Lengths are measured by :func:`measure_length` in one of three units:

- ``"tokens"``: ``len(completion_ids)`` for ``span="all"`` (what TRL passes); for a think or
  answer span a ``tokenizer`` (anything with ``encode`` or a callable returning a list) is
  required;
- ``"chars"``: characters (open-r1's cosine reward uses 1000 characters);
- ``"words"``: whitespace-separated words.

Kimi's group length reward needs the whole group: :func:`kimi_group_length` is the pure
arithmetic, :class:`mmemo.rewards.shapers.KimiLengthShaper` applies it after the gather and
:class:`KimiLengthReward` applies it to consecutive blocks of ``group_size`` completions of
its local slice (valid only when every group sits on one rank).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mmemo.rewards.core import Reward, Score
from mmemo.rewards.outcome import AccuracyReward
from mmemo.rewards.parsing import answer_span, think_span

_UNITS = ("tokens", "chars", "words")
_SPANS = ("all", "think", "answer")


def measure_length(
    text: str,
    ids: Sequence[int] | None,
    span: str = "all",
    unit: str = "tokens",
    tokenizer: Any = None,
    style: str | Sequence[str] = "xml",
) -> int:
    """Length of ``text`` (or its think/answer span) in ``unit``; see the module docstring."""
    if span != "all":
        text = think_span(text, style) if span == "think" else answer_span(text, style)
    if unit == "chars":
        return len(text)
    if unit == "words":
        return len(text.split())
    if span == "all" and ids is not None:
        return len(ids)
    if tokenizer is None:
        raise ValueError(
            "token length needs completion_ids (span='all') or a tokenizer; "
            "pass tokenizer=... or unit='chars'/'words'"
        )
    encoded = tokenizer.encode(text) if hasattr(tokenizer, "encode") else tokenizer(text)
    return len(encoded)


class _LengthReward(Reward):
    def _setup_length(self, span: str, unit: str, tokenizer: Any, style: Any) -> None:
        if span not in _SPANS:
            raise ValueError(f"span must be one of {_SPANS}, got {span!r}")
        if unit not in _UNITS:
            raise ValueError(f"unit must be one of {_UNITS}, got {unit!r}")
        if unit == "tokens" and span != "all" and tokenizer is None:
            raise ValueError(f"unit='tokens' with span={span!r} needs a tokenizer")
        self.span, self.unit, self.tokenizer, self.style = span, unit, tokenizer, style

    def needs_completion_ids(self) -> bool:
        return self.unit == "tokens" and self.span == "all" and self.tokenizer is None

    def length(self, text: str, ids: Any) -> int:
        return measure_length(text, ids, self.span, self.unit, self.tokenizer, self.style)


class SoftOverlongReward(_LengthReward):
    """DAPO soft overlong punishment (range [−1, 0]).

    ``0`` if ``L ≤ L_max − L_cache``; ``((L_max − L_cache) − L)/L_cache`` up to ``L_max``;
    ``−1`` beyond. ``cache=None`` uses ``max_len / 4``.

    >>> SoftOverlongReward(max_len=100, cache=20)(["x"], completion_ids=[[1] * 90])
    [-0.5]
    """

    __name__ = "soft_overlong_reward"
    value_range = (-1.0, 0.0)

    def __init__(
        self,
        max_len: int,
        cache: int | None = None,
        span: str = "all",
        unit: str = "tokens",
        tokenizer: Any = None,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if max_len <= 0:
            raise ValueError(f"max_len must be > 0, got {max_len}")
        self.max_len = int(max_len)
        self.cache = self.max_len / 4 if cache is None else cache
        if not 0 < self.cache <= self.max_len:
            raise ValueError(f"cache must be in (0, max_len], got {self.cache}")
        self._setup_length(span, unit, tokenizer, style)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        n = self.length(text, ids)
        soft = self.max_len - self.cache
        if n <= soft:
            return 0.0
        if n <= self.max_len:
            return (soft - n) / self.cache
        return -1.0


def get_soft_overlong_reward(**params: Any) -> SoftOverlongReward:
    """Factory for :class:`SoftOverlongReward`."""
    return SoftOverlongReward(**params)


COSINE_PRESETS: dict[str, dict[str, float]] = {
    # open-r1 factory defaults: wrong answers −1.0 at L=0 rising to −0.5 at L_max.
    "default": {"min_correct": 0.5, "max_correct": 1.0, "min_wrong": -1.0, "max_wrong": -0.5},
    # open-r1 script arguments: wrong answers 0.0 at L=0 falling to −0.5 at L_max.
    "open_r1_args": {"min_correct": 0.5, "max_correct": 1.0, "min_wrong": 0.0, "max_wrong": -0.5},
}


class CosineLengthReward(_LengthReward):
    """Cosine-scaled length reward of Demystifying Long CoT / open-r1 (range [−1, 1]).

    ``r = v_lo + ½(v_hi − v_lo)(1 + cos(π·L/L_max))`` with ``L`` clipped to ``L_max``.
    Correct answers: ``v_lo=min_correct``, ``v_hi=max_correct`` (1.0 at L=0 falling to 0.5 at
    L_max). Wrong answers use open-r1's swap ``v_lo=max_wrong``, ``v_hi=min_wrong`` (−1.0 at
    L=0 rising to −0.5; ``preset="open_r1_args"``: 0.0 falling to −0.5). Correctness comes
    from ``accuracy`` (an outcome reward, default :class:`AccuracyReward`), ``correct`` when
    it scores ``≥ threshold``; no ground truth (``None``) → ``None``.

    >>> r = CosineLengthReward(max_len=10, unit="chars", accuracy=AccuracyReward(column="s"))
    >>> r(["<answer>a</answer>", "<answer>b</answer>"], s=["a", "a"])
    [0.5, -0.5]
    """

    __name__ = "cosine_length_reward"

    def __init__(
        self,
        max_len: int = 1000,
        preset: str = "default",
        unit: str = "chars",
        span: str = "all",
        accuracy: Reward | None = None,
        threshold: float = 0.5,
        tokenizer: Any = None,
        style: str | Sequence[str] = "xml",
        **values: float,
    ) -> None:
        super().__init__()
        if preset not in COSINE_PRESETS:
            raise ValueError(f"preset must be one of {sorted(COSINE_PRESETS)}, got {preset!r}")
        if max_len <= 0:
            raise ValueError(f"max_len must be > 0, got {max_len}")
        unknown = set(values) - set(COSINE_PRESETS["default"])
        if unknown:
            raise ValueError(f"unknown cosine values {sorted(unknown)}")
        self.values = {**COSINE_PRESETS[preset], **{k: float(v) for k, v in values.items()}}
        self.max_len, self.threshold = max_len, threshold
        self.accuracy = accuracy if accuracy is not None else AccuracyReward()
        self._setup_length(span, unit, tokenizer, style)
        bound = max(1.0, *(abs(v) for v in self.values.values()))
        self.value_range = (-bound, bound)

    def __call__(self, completions, **kwargs):  # type: ignore[override]
        # Correctness is computed for the whole batch by the accuracy reward itself.
        acc_kwargs = {k: v for k, v in kwargs.items() if k != "log_metric"}
        self._batch_correct = self.accuracy(completions, **acc_kwargs)
        return super().__call__(completions, **kwargs)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        acc = self._batch_correct[index]
        if acc is None:
            return None
        length = min(self.length(text, ids), self.max_len)
        cosine = math.cos(math.pi * length / self.max_len)
        v = self.values
        if acc >= self.threshold:
            lo, hi = v["min_correct"], v["max_correct"]
        else:
            lo, hi = v["max_wrong"], v["min_wrong"]
        return lo + 0.5 * (hi - lo) * (1.0 + cosine)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_batch_correct", None)
        return state


def get_cosine_length_reward(**params: Any) -> CosineLengthReward:
    """Factory for :class:`CosineLengthReward`."""
    return CosineLengthReward(**params)


def kimi_group_length(lengths: Sequence[float], correct: Sequence[bool | None]) -> list:
    """Kimi k1.5 length reward of one group (range [−0.5, 0.5]).

    ``λᵢ = 0.5 − (Lᵢ − L_min)/(L_max − L_min)``; correct → ``λᵢ``, wrong → ``min(0, λᵢ)``,
    unknown correctness (``None``) → ``None``; all lengths equal → 0 for every member.

    >>> kimi_group_length([10, 20, 30], [True, True, False])
    [0.5, 0.0, -0.5]
    >>> kimi_group_length([7, 7], [True, False])
    [0.0, 0.0]
    """
    lo, hi = min(lengths), max(lengths)
    out: list[float | None] = []
    for length, ok in zip(lengths, correct, strict=True):
        if ok is None:
            out.append(None)
        elif hi == lo:
            out.append(0.0)
        else:
            lam = 0.5 - (length - lo) / (hi - lo)
            out.append(lam if ok else min(0.0, lam))
    return out


class KimiLengthReward(_LengthReward):
    """Kimi group length reward over consecutive blocks of ``group_size`` (range [−0.5, 0.5]).

    Only valid when each group of ``group_size`` generations sits whole in the local slice
    (per-device batch a multiple of G); otherwise use ``shapers.KimiLengthShaper``. A slice
    whose size is not a multiple of ``group_size`` treats the remainder as one group.
    """

    __name__ = "kimi_length_reward"
    value_range = (-0.5, 0.5)

    def __init__(
        self,
        group_size: int,
        accuracy: Reward | None = None,
        threshold: float = 0.5,
        span: str = "all",
        unit: str = "tokens",
        tokenizer: Any = None,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size, self.threshold = group_size, threshold
        self.accuracy = accuracy if accuracy is not None else AccuracyReward()
        self._setup_length(span, unit, tokenizer, style)

    def __call__(self, completions, *, completion_ids=None, **kwargs):  # type: ignore[override]
        from mmemo.rewards.parsing import completion_text

        if completion_ids is None and self.needs_completion_ids():
            raise ValueError(f"{self.__name__} measures token ids: pass completion_ids")
        acc_kwargs = {k: v for k, v in kwargs.items() if k != "log_metric"}
        acc = self.accuracy(completions, completion_ids=completion_ids, **acc_kwargs)
        out: list[float | None] = []
        for start in range(0, len(completions), self.group_size):
            block = range(start, min(start + self.group_size, len(completions)))
            try:
                lengths = [
                    self.length(
                        completion_text(completions[i]),
                        None if completion_ids is None else completion_ids[i],
                    )
                    for i in block
                ]
                correct = [None if acc[i] is None else acc[i] >= self.threshold for i in block]
                out.extend(kimi_group_length(lengths, correct))
            except Exception as exc:
                self._record_error(exc, start)
                out.extend([0.0] * len(block))
        return out


def get_kimi_length_reward(**params: Any) -> KimiLengthReward:
    """Factory for :class:`KimiLengthReward`."""
    return KimiLengthReward(**params)


class RepetitionReward(Reward):
    """``p·(1 − unique/total)`` over n-grams (range [p, 0]; rewards.md §10).

    ``unit="tokens"`` uses ``completion_ids`` (TRL); ``"words"`` uses the lowercased
    whitespace words of the text (open-r1). Fewer than ``n`` units or empty → 0.

    >>> RepetitionReward(n=2, penalty=-1.0)(["", ""], completion_ids=[[1, 2, 3, 4], [5] * 5])
    [0.0, -0.75]
    """

    __name__ = "repetition_reward"

    def __init__(self, n: int = 3, penalty: float = -0.5, unit: str = "tokens") -> None:
        super().__init__()
        if penalty > 0:
            raise ValueError(f"penalty must be <= 0, got {penalty}")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if unit not in ("tokens", "words"):
            raise ValueError(f"unit must be 'tokens' or 'words', got {unit!r}")
        self.n, self.penalty, self.unit = n, float(penalty), unit
        self.value_range = (self.penalty, 0.0)

    def needs_completion_ids(self) -> bool:
        return self.unit == "tokens"

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        if self.unit == "tokens":
            units = list(ids)
        else:
            units = text.lower().split()
        if len(units) < self.n:
            return 0.0
        grams = list(zip(*(units[i:] for i in range(self.n))))
        return self.penalty * (1.0 - len(set(grams)) / len(grams))


def get_repetition_reward(**params: Any) -> RepetitionReward:
    """Factory for :class:`RepetitionReward`."""
    return RepetitionReward(**params)


class LengthBandReward(_LengthReward):
    """Generalised length band (mmemo proposal; range [−1, 0]).

    ``0`` inside ``[lo, hi]``; otherwise ``−β·dist(L, [lo, hi])/hi`` clipped at −1.

    >>> LengthBandReward(lo=2, hi=4, unit="words")(["a b c", "a", "a b c d e f"])
    [0.0, -0.25, -0.5]
    """

    __name__ = "length_band_reward"
    value_range = (-1.0, 0.0)

    def __init__(
        self,
        lo: int,
        hi: int,
        beta: float = 1.0,
        span: str = "all",
        unit: str = "tokens",
        tokenizer: Any = None,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if not 0 <= lo <= hi or hi <= 0:
            raise ValueError(f"length band needs 0 <= lo <= hi and hi > 0, got lo={lo}, hi={hi}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.lo, self.hi, self.beta = lo, hi, float(beta)
        self._setup_length(span, unit, tokenizer, style)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        n = self.length(text, ids)
        dist = self.lo - n if n < self.lo else (n - self.hi if n > self.hi else 0)
        return max(-1.0, -self.beta * dist / self.hi)


def get_length_band_reward(**params: Any) -> LengthBandReward:
    """Factory for :class:`LengthBandReward`."""
    return LengthBandReward(**params)
