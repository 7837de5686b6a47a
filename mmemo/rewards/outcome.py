"""Outcome rewards: format, single-label accuracy, emotion-wheel set F1, label-count penalty,
AU-set F1 and caption word overlap (rewards.md §1–4, §12).

The scores come from :mod:`mmemo.metrics` (``ew_sample_f1``, ``au_set_f1``) and
:mod:`mmemo.taxonomy` (``normalise_label``, ``split_labels``, ``load_wheels``), so the number
optimised is the number reported. Those modules are imported on first use, not at import
time. Default columns are the mmemo manifest names; pass ``column=`` for reference layouts
(``solution``, ``openset``, ``AUs``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from mmemo.rewards.core import Reward, Score, column
from mmemo.rewards.parsing import answer_span, layout_ok, strip_answer_tags, tag_pair, think_span

# `AU` then digits: one quantifier, no nesting, linear time.
_AU_TOKEN = re.compile(r"AU\d+")
_NEGATORS = ("no", "not", "without", "absent", "absence", "never", "lacks", "lacking", "zero")
_CLAUSE_BREAKS = ".,;:!?\n"
_MAX_MENTIONS = 1000  # drop_negated looks at the first 1000 AU mentions only


class FormatReward(Reward):
    """1.0 if the completion has the think-then-answer layout, else 0.0 (range [0, 1]).

    Modes: ``"fullmatch"`` (Facial-R1, R1-Omni), ``"prefix"`` (AffectGPT-R1 reimplementation),
    ``"answer_only"`` (no-think recipes). ``strip=True`` strips surrounding whitespace first
    (the references do not: ``strip=False`` for parity). Empty text → 0.

    >>> FormatReward()(["<think>brows down</think>\\n<answer>angry</answer>", "angry", ""])
    [1.0, 0.0, 0.0]
    """

    __name__ = "format_reward"
    value_range = (0.0, 1.0)

    def __init__(
        self, mode: str = "fullmatch", strip: bool = True, style: str | Sequence[str] = "xml"
    ) -> None:
        super().__init__()
        if mode not in ("fullmatch", "prefix", "answer_only"):
            raise ValueError(f"format mode must be fullmatch, prefix or answer_only, got {mode!r}")
        tag_pair("think", style)  # validates the style early
        self.mode, self.strip, self.style = mode, strip, style

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        if self.strip:
            text = text.strip()
        return 1.0 if layout_ok(text, self.mode, self.style) else 0.0


def get_format_reward(**params: Any) -> FormatReward:
    """Factory for :class:`FormatReward` (YAML: ``mmemo.rewards.get_format_reward``)."""
    return FormatReward(**params)


class AccuracyReward(Reward):
    """1.0 if the normalised ``<answer>`` equals the normalised label, else 0.0 (range [0, 1]).

    ``normalise=True`` maps both sides through ``mmemo.taxonomy.normalise_label`` (case,
    punctuation, morphology, synonyms; ``label_space`` a list of labels or a known corpus
    name such as ``"ravdess"``); negated or multi-word answers ("not happy", "I think sad")
    are not credited. Without a ``label_space``, ``match="family"`` (default) also credits a
    synonym of the label's lexicon family ("joy" for "happy", "furious" for "angry"), the
    way prediction maps open-vocabulary words onto a corpus' labels; ``match="canonical"``
    asks for the same canonical word. ``normalise=False`` is the
    references' exact comparison of the stripped strings. No answer span → 0. Missing or
    empty ground truth → ``None`` (``empty_gt_value=0.5`` reproduces Facial-R1). A label the
    taxonomy does not know is compared lowercased with surrounding punctuation stripped;
    with a ``label_space``, a ground truth outside it gives ``None``.

    >>> AccuracyReward(column="solution", normalise=False)(
    ...     ["<answer>sad</answer>", "<answer>Sad</answer>"], solution=["sad", "sad"])
    [1.0, 0.0]
    """

    __name__ = "accuracy_reward"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        column: str = "emotion",
        normalise: bool = True,
        label_space: Any = None,
        empty_gt_value: float | None = None,
        style: str | Sequence[str] = "xml",
        match: str = "family",
    ) -> None:
        super().__init__()
        if match not in ("family", "canonical"):
            raise ValueError(f"match must be 'family' or 'canonical', got {match!r}")
        self.match = match
        self.column, self.normalise, self.label_space = column, normalise, label_space
        self.empty_gt_value, self.style = empty_gt_value, style
        if empty_gt_value is not None:
            self.value_range = (min(0.0, empty_gt_value), max(1.0, empty_gt_value))
        self._cache: dict[str, str | None] = {}
        self._normalise_label: Any = None
        self._family: Any = None

    def _norm(self, text: str) -> str | None:
        if not self.normalise:
            return text.strip()
        hit = self._cache.get(text, ...)
        if hit is not ...:
            return hit
        if self._normalise_label is None:
            self.prepare({}, None)
        value = self._normalise_label(text, self.label_space)
        if value is None and self.label_space is None:
            value = " ".join(text.lower().split()).strip(".,;:!?\"'()[]{}") or None
        if len(self._cache) < 8192 and len(text) < 256:
            self._cache[text] = value
        return value

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:
        from mmemo.taxonomy import family, label_space, normalise_label

        self._normalise_label, self._family = normalise_label, family
        if isinstance(self.label_space, str):  # a known corpus name, e.g. "ravdess"
            self.label_space = tuple(label_space(self.label_space))

    def correct(self, text: str, gt: Any) -> float | None:
        """The score of one answer ``text`` (whole completion) against one label."""
        gt_text = strip_answer_tags(gt, self.style)
        if not gt_text:
            return self.empty_gt_value
        answer = answer_span(text, self.style)
        answer = answer.strip()
        if not answer:
            return 0.0
        gt_norm = self._norm(gt_text)
        if gt_norm is None:
            return None  # a label outside label_space cannot be graded
        pred = self._norm(answer)
        if pred is None:
            return 0.0
        if pred == gt_norm:
            return 1.0
        if self.normalise and self.label_space is None and self.match == "family":
            fam = self._family(pred)
            return 1.0 if fam is not None and fam == self._family(gt_norm) else 0.0
        return 0.0

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        return self.correct(text, column(columns, self.column, index))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        state["_normalise_label"] = None
        state["_family"] = None
        return state


def get_accuracy_reward(**params: Any) -> AccuracyReward:
    """Factory for :class:`AccuracyReward`."""
    return AccuracyReward(**params)


class EmotionSimilarityReward(Reward):
    """Graded outcome: 1.0 for a correct answer, else ``wrong_max × similarity`` (range [0, 1]).

    Correct is :class:`AccuracyReward` with the same settings (lexicon family by default).
    For a wrong answer, ``similarity = max(0, 1 − d / 2)`` where ``d`` is the Euclidean
    distance between the answer's and the label's coarse valence/arousal
    (:func:`mmemo.taxonomy.valence_arousal`, each in [−1, 1]); with ``wrong_max = 0.45`` a
    wrong answer stays below the 0.5 "correct" line of the trust gate, and near misses
    (angry for fearful: 0.43; surprised for happy: 0.28) pass its 0.2 judging line while far
    ones (sad for happy: 0.06) do not. This is the outcome the GRPO-PTR trust weight needs:
    with 0/1 accuracy no wrong answer is ever judged, so trust stays 1 (rewards.md §5).
    Unknown answer words score 0; no label gives ``None``.

    >>> r = EmotionSimilarityReward()
    >>> [round(v, 2) for v in r(["<answer>joy</answer>", "<answer>angry</answer>",
    ...   "<answer>sad</answer>", "<answer>??</answer>"], emotion=["happy", "fearful", "happy", "sad"])]
    [1.0, 0.43, 0.06, 0.0]
    """

    __name__ = "emotion_similarity_reward"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        column: str = "emotion",
        wrong_max: float = 0.45,
        label_space: Any = None,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if not 0.0 <= wrong_max < 1.0:
            raise ValueError(f"wrong_max must be in [0, 1), got {wrong_max}")
        self.column, self.wrong_max, self.style = column, wrong_max, style
        self.accuracy = AccuracyReward(column=column, label_space=label_space, style=style)

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:
        self.accuracy.prepare(columns, trainer_state)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        from mmemo.taxonomy import valence_arousal

        gt = column(columns, self.column, index)
        correct = self.accuracy.correct(text, gt)
        if correct is None or correct >= 1.0:
            return correct
        pred = self.accuracy._norm(answer_span(text, self.style).strip())
        gt_norm = self.accuracy._norm(strip_answer_tags(gt, self.style))
        a = valence_arousal(pred) if pred else None
        b = valence_arousal(gt_norm) if gt_norm else None
        if a is None or b is None:
            return 0.0
        return self.wrong_max * max(0.0, 1.0 - math.dist(a, b) / 2.0)


def get_emotion_similarity_reward(**params: Any) -> EmotionSimilarityReward:
    """Factory for :class:`EmotionSimilarityReward`."""
    return EmotionSimilarityReward(**params)


def answer_words(answer: str) -> list[str]:
    """Predicted labels of an answer: split on commas, lowercased, stripped, empties dropped.

    >>> answer_words(" Happy, relieved ,, ")
    ['happy', 'relieved']
    """
    return [w for w in (part.strip().lower() for part in answer.split(",")) if w]


def _gt_words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        from mmemo.taxonomy import split_labels

        return split_labels(value)
    return [str(v).strip().lower() for v in value if v is not None and str(v).strip()]


class EWF1Reward(Reward):
    """Per-sample emotion-wheel set F1 of the answer's labels (range [0, 1]; rewards.md §3).

    Calls ``mmemo.metrics.ew_sample_f1(gt, pred, wheels, level, oov)``: mean over wheels of
    the per-sample set F1 at ``level``; ``oov="penalise"`` counts unmappable predicted words
    as false positives. Every wheel skipped (e.g. neutral-only GT) → ``None``; empty answer
    → 0. ``column`` holds a list of words or a list string (``"['happy', 'relieved']"``).
    ``wheels=None`` loads the built-in wheels once (``reference_tables=`` a folder of user
    tables for parity runs).
    """

    __name__ = "ew_f1_reward"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        column: str = "emotions",
        level: str = "level1",
        oov: str = "drop",
        reference_tables: str | None = None,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if oov not in ("drop", "penalise"):
            raise ValueError(f"oov must be 'drop' or 'penalise', got {oov!r}")
        self.column, self.level, self.oov = column, level, oov
        self.reference_tables, self.style = reference_tables, style
        self._wheels: Any = None
        self._gt_cache: tuple[Any, list[str]] | None = None

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:
        # Imported here, outside the per-sample guard, so a broken install fails loudly.
        from mmemo.metrics import ew_sample_f1

        self._metric = ew_sample_f1
        if self._wheels is None:
            from mmemo.taxonomy import load_wheels

            self._wheels = load_wheels(reference_tables=self.reference_tables)

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        raw = column(columns, self.column, index)
        # Dataset columns arrive repeated G times: reuse the parsed ground truth.
        cached = self._gt_cache
        if cached is not None and cached[0] is raw:
            gt = cached[1]
        else:
            gt = _gt_words(raw)
            self._gt_cache = (raw, gt)
        if not gt:
            return None
        answer = answer_span(text, self.style)
        pred = answer_words(answer)
        value = self._metric(gt, pred, wheels=self._wheels, level=self.level, oov=self.oov)
        return None if value is None else float(value)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_wheels"] = None  # reloaded on first use in the receiving process
        state["_gt_cache"] = None
        state.pop("_metric", None)
        return state


def get_ew_f1_reward(**params: Any) -> EWF1Reward:
    """Factory for :class:`EWF1Reward`."""
    return EWF1Reward(**params)


class LabelCountPenalty(Reward):
    """``−κ·max(0, n − K)`` for ``n`` predicted labels, clipped at −1 (range [−1, 0]).

    Curbs label spraying under the EW reward (AffectGPT-R1; form and defaults K=3, κ=0.25
    are mmemo's, unconfirmed). Component ``n_labels`` is logged.

    >>> LabelCountPenalty()(["<answer>a, b, c, d, e</answer>", "<answer>a</answer>"])
    [-0.5, 0.0]
    """

    __name__ = "label_count_penalty"
    value_range = (-1.0, 0.0)

    def __init__(self, K: int = 3, kappa: float = 0.25, style: str | Sequence[str] = "xml"):
        super().__init__()
        if K < 0 or kappa < 0:
            raise ValueError(f"K and kappa must be >= 0, got K={K}, kappa={kappa}")
        self.K, self.kappa, self.style = K, kappa, style

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        answer = answer_span(text, self.style)
        n = len(answer_words(answer))
        return {"overall": max(-1.0, -self.kappa * max(0, n - self.K)), "n_labels": n}


def get_label_count_penalty(**params: Any) -> LabelCountPenalty:
    """Factory for :class:`LabelCountPenalty`."""
    return LabelCountPenalty(**params)


def _negated(text: str, start: int) -> bool:
    window = text[max(0, start - 40) : start]
    cut = max(window.rfind(ch) for ch in _CLAUSE_BREAKS)
    words = window[cut + 1 :].lower().replace("n't", " not").split()
    return any(w in _NEGATORS for w in words[-3:])


def au_ids(value: Any) -> set[str]:
    """Ground-truth AU set from a list (``["AU4", 12]``) or a string (``"AU4, AU15"``)."""
    if value is None:
        return set()
    if isinstance(value, str):
        return set(_AU_TOKEN.findall(value))
    out = set()
    for item in value:
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            out.add(f"AU{item}")
        elif isinstance(item, str):
            s = item.strip()
            out.add(f"AU{s}" if s.isdigit() else s)
    return out


class AUF1Reward(Reward):
    """AU-set F1 between the AUs named in the think span and the labelled AUs (rewards.md §4).

    ``P`` = distinct ``AU<digits>`` tokens inside the think span only; ``G`` = ``column``.
    ``rescale="[-1,1]"`` (default): no GT → 0.0, no predicted AU → −1.0, else ``2F − 1``.
    ``rescale="[0,1]"``: no GT → 0.0, no prediction → 0.0, else ``F``. ``F`` comes from
    ``mmemo.metrics.au_set_f1`` (``beta``, ``normalise_ids``: "AU04" ≡ "AU4"; ``False`` for
    parity). A missing (``None``) label → ``None``. ``drop_negated=True`` ignores mentions
    preceded in the same clause by a negator ("no AU12"; first 1000 mentions only).

    >>> r = AUF1Reward(column="AUs")
    >>> r(["<think>AU4 and AU15</think><answer>sad</answer>"], AUs=[["AU4", "AU15"]])
    [1.0]
    """

    __name__ = "au_f1_reward"

    def __init__(
        self,
        column: str = "aus",
        rescale: str = "[-1,1]",
        normalise_ids: bool = True,
        beta: float = 1.0,
        drop_negated: bool = False,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        if rescale not in ("[-1,1]", "[0,1]"):
            raise ValueError(f"rescale must be '[-1,1]' or '[0,1]', got {rescale!r}")
        self.column, self.rescale, self.normalise_ids = column, rescale, normalise_ids
        self.beta, self.drop_negated, self.style = beta, drop_negated, style
        self.value_range = (-1.0, 1.0) if rescale == "[-1,1]" else (0.0, 1.0)
        self.fallback = -1.0 if rescale == "[-1,1]" else 0.0

    def predicted(self, think: str) -> set[str]:
        """The AU ids claimed in one think span."""
        if not self.drop_negated:
            return set(_AU_TOKEN.findall(think))
        kept: set[str] = set()
        for n, m in enumerate(_AU_TOKEN.finditer(think)):
            if n >= _MAX_MENTIONS:
                break
            token = m.group()
            if token not in kept and not _negated(think, m.start()):
                kept.add(token)
        return kept

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:
        from mmemo.metrics import au_set_f1

        self._metric = au_set_f1

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        raw = column(columns, self.column, index)
        if raw is None:
            return None
        gt = au_ids(raw)
        if not gt:
            return 0.0
        think = think_span(text, self.style)
        pred = self.predicted(think)
        if not pred:
            return -1.0 if self.rescale == "[-1,1]" else 0.0
        f = float(self._metric(pred, gt, beta=self.beta, normalise_ids=self.normalise_ids))
        value = 2.0 * f - 1.0 if self.rescale == "[-1,1]" else f
        return {"overall": value, "f1": f, "n_predicted": len(pred)}

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_metric", None)
        return state


def get_au_f1_reward(**params: Any) -> AUF1Reward:
    """Factory for :class:`AUF1Reward`."""
    return AUF1Reward(**params)


def _words(text: str) -> list[str]:
    return [w for w in (t.strip(".,;:!?\"'()[]{}").lower() for t in text.split()) if w]


class CaptionOverlapReward(Reward):
    """Unigram F1 between the answer span and a reference caption (range [0, 1]).

    A cheap, deterministic stand-in for the VidEmo caption reward (judge or embedding
    similarity, rewards.md §15, *proposal*). No reference → ``None``; empty answer → 0.

    >>> CaptionOverlapReward()(["<answer>a man smiles</answer>"], caption=["A man smiles."])
    [1.0]
    """

    __name__ = "caption_overlap_reward"
    value_range = (0.0, 1.0)

    def __init__(self, column: str = "caption", style: str | Sequence[str] = "xml") -> None:
        super().__init__()
        self.column, self.style = column, style

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        ref = column(columns, self.column, index)
        if not isinstance(ref, str) or not ref.strip():
            return None
        answer = answer_span(text, self.style)
        pred, gold = set(_words(answer)), set(_words(ref))
        if not pred or not gold:
            return 0.0
        common = len(pred & gold)
        return 2.0 * common / (len(pred) + len(gold))


def get_caption_overlap_reward(**params: Any) -> CaptionOverlapReward:
    """Factory for :class:`CaptionOverlapReward`."""
    return CaptionOverlapReward(**params)
