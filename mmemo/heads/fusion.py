"""Late fusion of the heads: a weighted log-linear pool that no single head can hijack.

- :func:`fuse`: weighted geometric mean of the modalities' probabilities.
- :func:`reliability_weights`: each head's weight is its measured *out-of-corpus* skill
  (Cohen's kappa of its accuracy against chance on a corpus it was not trained on, recorded
  in the head's JSON as ``reliability``), relative to the most reliable head present.
- :func:`disagreement`: Jensen-Shannon divergence (bits, 0-1) between two heads over the
  labels both know. When the face and the voice disagree strongly the fused answer is
  flattened by :func:`temper` and the prediction says so.
- :func:`cap_confidence`: mixes a distribution with the uniform one until its top
  probability is at most a bound (the argmax is kept); used when no measured cue supports
  the answer.

Pure Python (no numpy), so readers of saved predictions stay light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# The union of the basic-emotion label sets of RAVDESS, CK+, FER2013 and MELD, one word each.
CANONICAL_LABELS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "contempt",
)
# A face and a voice whose top labels differ and whose JS divergence is at least this
# disagree "strongly": e.g. face neutral 0.56 vs voice fearful 0.99 is 0.62; two heads with
# the same top label at 0.6 and 0.9 are below 0.15.
STRONG_DISAGREEMENT = 0.35
# When no measured cue supports the answer, its stated probability is at most this.
UNSUPPORTED_MAX = 0.6


def fuse(
    per_modality: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float] | None = None,
    floor: float = 1e-4,
) -> dict[str, float]:
    """Late fusion: a weighted geometric mean of the modalities' probabilities (log-linear pool).

    A modality says nothing about labels outside its own label set (the speech head has no
    ``contempt``, the face head no ``calm``): for those labels it contributes its mean log
    probability, so it neither vetoes nor favours them. Labels no modality knows get no mass.
    Returns probabilities over the labels any modality knows, summing to 1.
    """
    if not per_modality:
        return {}
    weights = weights or {}
    seen = [lab for p in per_modality.values() for lab in p]
    order = {lab: i for i, lab in enumerate(CANONICAL_LABELS)}
    known = sorted(set(seen), key=lambda lab: (order.get(lab, len(order)), seen.index(lab)))
    score = dict.fromkeys(known, 0.0)
    for modality, probs in per_modality.items():
        w = float(weights.get(modality, 1.0))
        logs = {lab: math.log(max(p, floor)) for lab, p in probs.items()}
        mean_log = sum(logs.values()) / len(logs)
        for lab in known:
            score[lab] += w * logs.get(lab, mean_log)
    return _normalised_exp(score)


def contributions(
    per_modality: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    label: str,
    floor: float = 1e-4,
) -> dict[str, float]:
    """How much each modality pushed ``label`` above its own mean: ``w * (log p - mean log p)``."""
    out = {}
    for modality, probs in per_modality.items():
        if label not in probs:
            continue
        logs = [math.log(max(p, floor)) for p in probs.values()]
        out[modality] = float(weights.get(modality, 1.0)) * (
            math.log(max(probs[label], floor)) - sum(logs) / len(logs)
        )
    return out


def kappa(accuracy: float, chance: float) -> float:
    """Cohen-style skill of an accuracy over chance, clipped to [0, 1]."""
    if not 0 <= chance < 1:
        raise ValueError(f"chance must be in [0, 1), got {chance}")
    return min(1.0, max(0.0, (accuracy - chance) / (1 - chance)))


def reliability_weights(reliability: Mapping[str, float | None]) -> dict[str, float]:
    """Fusion weights from each head's out-of-corpus skill, relative to the best head.

    Heads without a recorded skill (``None``, e.g. a head from ``mmemo finetune``) get
    weight 1, as before.
    """
    known = {k: float(v) for k, v in reliability.items() if v is not None}
    top = max(known.values(), default=0.0)
    out = {}
    for k, v in reliability.items():
        out[k] = 1.0 if v is None or top <= 0 else max(0.05, float(v) / top)
    return out


def disagreement(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence in bits (0 = same, 1 = disjoint) over the shared labels."""
    common = [lab for lab in a if lab in b]
    if not common:
        return 0.0
    pa = _renorm({lab: a[lab] for lab in common})
    pb = _renorm({lab: b[lab] for lab in common})
    js = 0.0
    for lab in common:
        m = (pa[lab] + pb[lab]) / 2
        for p in (pa[lab], pb[lab]):
            if p > 0:
                js += 0.5 * p * math.log2(p / m)
    return min(1.0, max(0.0, js))


def temper(probs: Mapping[str, float], exponent: float) -> dict[str, float]:
    """``probs ** exponent``, renormalised (``exponent < 1`` flattens; the argmax is kept)."""
    if not probs:
        return {}
    return _normalised_exp({k: exponent * math.log(max(v, 1e-300)) for k, v in probs.items()})


def cap_confidence(probs: Mapping[str, float], top_max: float) -> dict[str, float]:
    """Mix ``probs`` with the uniform distribution so that the top probability is <= ``top_max``."""
    if not probs:
        return {}
    n = len(probs)
    top = max(probs.values())
    if top <= top_max or n < 2 or top_max <= 1 / n:
        return dict(probs)
    lam = (top - top_max) / (top - 1 / n)  # weight of the uniform part
    return {k: (1 - lam) * v + lam / n for k, v in probs.items()}


def _renorm(p: Mapping[str, float]) -> dict[str, float]:
    z = sum(p.values())
    return {k: v / z for k, v in p.items()} if z > 0 else {k: 1 / len(p) for k in p}


def _normalised_exp(score: Mapping[str, float]) -> dict[str, float]:
    top = max(score.values())
    exp = {lab: math.exp(s - top) for lab, s in score.items()}
    z = sum(exp.values())
    return {lab: v / z for lab, v in exp.items()}
