"""Evaluation metrics: emotion-wheel (EW) scores, hit rate, WAR/UAR, F1, AU F1.

Plain functions over label lists; pure Python (no torch, no numpy needed). The reward library
calls ``ew_sample_f1`` and ``au_set_f1`` so that the number optimised is the number reported.
Formulas: docs/metrics.md (EW parity semantics 1.3, strict mode 1.4, hit rate 2, sentiment 3,
WAR/UAR 5, AU F1 6) and docs/rewards.md 3-4.

Run from the command line: ``mmemo metrics ew GT.csv PRED.csv [--mode strict] [--json]``.
The same EW score vectorised in numpy over reference tables compiled to arrays (what
``mmemo metrics ew --reference-tables`` runs) is :mod:`mmemo.metrics_compiled`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmemo.taxonomy import WheelSet

__all__ = [
    "accuracy",
    "au_f1",
    "au_set_f1",
    "confusion_matrix",
    "ew_sample_f1",
    "ew_score",
    "hit_rate",
    "macro_f1",
    "normalise_au",
    "reasoning_consistency",
    "sentiment_waf",
    "war_uar",
    "weighted_f1",
    "word_error_rate",
]

MODES = ("parity", "strict")


def _wheels(wheels: WheelSet | None, neutral: str = "drop") -> WheelSet:
    if wheels is not None:
        return wheels
    from mmemo.taxonomy import load_wheels

    return load_wheels(neutral=neutral)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _harmonic(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def wheel_score(name: str, p: float, r: float, n_samples: int) -> dict[str, Any]:
    """One wheel's entry of an EW result: its precision, recall and their F-score."""
    return {"name": name, "fs": _harmonic(p, r), "ps": p, "rs": r, "n_samples": n_samples}


def ew_summary(
    per_wheel: list[dict[str, Any]], n_total: int, level: str, mode: str, wheels: str
) -> dict[str, Any]:
    """The EW result: per-wheel entries (:func:`wheel_score`) averaged over the wheels."""
    out: dict[str, Any] = {
        "fs": _mean([w["fs"] for w in per_wheel]),
        "ps": _mean([w["ps"] for w in per_wheel]),
        "rs": _mean([w["rs"] for w in per_wheel]),
        "per_wheel": per_wheel,
        "n_samples": {w["name"]: w["n_samples"] for w in per_wheel},
        "n_total": n_total,
        "level": level,
        "mode": mode,
        "wheels": wheels,
    }
    out["precision"], out["recall"] = out["ps"], out["rs"]
    return out


def _as_words(x: Sequence[str] | str | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        from mmemo.taxonomy import split_labels

        return split_labels(x)
    return [str(w) for w in x]


# ---------------------------------------------------------------------------------------------
# Emotion-wheel metric
# ---------------------------------------------------------------------------------------------
def ew_score(
    gt: Sequence[Sequence[str] | str],
    pred: Sequence[Sequence[str] | str],
    wheels: WheelSet | None = None,
    level: str = "level1",
    mode: str = "parity",
) -> dict[str, Any]:
    """Dataset-level emotion-wheel score. Returns fractions in [0, 1].

    ``gt[s]`` / ``pred[s]``: label lists of sample s (a list string "[a, b]" is also accepted).

    ``mode="parity"`` (metrics.md 1.3): per wheel k, samples whose GT maps to nothing in wheel k
    are skipped for that wheel only; unmapped words are dropped on both sides; an empty mapped
    prediction scores P = R = 0; P_k, R_k are averaged over the kept samples and
    F_k = 2 P_k R_k / (P_k + R_k) (0 when both are 0); fs/ps/rs are means over the wheels.

    ``mode="strict"`` (1.4): each distinct unmapped predicted word adds 1 to |P| (false
    positive); each distinct unmapped GT word adds 1 to |G| (miss); one sample set for all
    wheels (GT maps in every wheel; ``n_common``); besides fs/ps/rs (harmonic mean of averaged
    P and R on that set) it reports ``sample_f1`` (per-sample F averaged over samples, then over
    wheels) and ``ambiguous_words`` (distinct words whose candidates reach several clusters).
    Default wheels: built-in, neutral dropped (parity) or neutral as its own cluster (strict).

    Keys: fs, ps, rs, precision (= ps), recall (= rs), per_wheel (list of dicts name, fs, ps,
    rs, n_samples), n_samples (per wheel name), level, mode, wheels (kind), plus strict extras.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    ws = _wheels(wheels, "drop" if mode == "parity" else "cluster")
    K = ws.n_wheels
    gts = [_as_words(g) for g in gt]
    preds = [_as_words(p) for p in pred]

    def mapped(words: list[str]) -> tuple[list[set[str]], list[int]]:
        sets: list[set[str]] = [set() for _ in range(K)]
        unmapped: list[set[str]] = [set() for _ in range(K)]
        for w in words:
            for k, c in enumerate(ws.map_all(w, level)):
                if c is None:
                    unmapped[k].add(w.lower().strip())
                else:
                    sets[k].add(c)
        return sets, [len(u) for u in unmapped]

    prec: list[list[float]] = [[] for _ in range(K)]
    rec: list[list[float]] = [[] for _ in range(K)]
    f1s: list[list[float]] = [[] for _ in range(K)]
    n_common = 0
    for g_words, p_words in zip(gts, preds):
        G, g_un = mapped(g_words)
        P, p_un = mapped(p_words)
        if mode == "strict":
            if not all(G):
                continue
            n_common += 1
        for k in range(K):
            if not G[k]:
                continue
            g_size = len(G[k]) + (g_un[k] if mode == "strict" else 0)
            p_size = len(P[k]) + (p_un[k] if mode == "strict" else 0)
            if p_size == 0:
                p_k = r_k = 0.0
            else:
                hit = len(G[k] & P[k])
                p_k, r_k = hit / p_size, hit / g_size
            prec[k].append(p_k)
            rec[k].append(r_k)
            f1s[k].append(_harmonic(p_k, r_k))
    per_wheel = []
    for k, name in enumerate(ws.names):
        per_wheel.append(wheel_score(name, _mean(prec[k]), _mean(rec[k]), len(prec[k])))
    out = ew_summary(per_wheel, len(gts), level, mode, ws.kind)
    if mode == "strict":
        out["n_common"] = n_common
        out["sample_f1"] = _mean([_mean(f) for f in f1s]) if n_common else 0.0
        words = {w for ws_ in (gts, preds) for s in ws_ for w in s}
        out["ambiguous_words"] = sum(1 for w in words if ws.ambiguity(w, level))
    return out


def ew_sample_f1(
    gt: Sequence[str] | str,
    pred: Sequence[str] | str,
    wheels: WheelSet | None = None,
    level: str = "level1",
    oov: str = "drop",
) -> float | None:
    """Per-sample emotion-wheel set F1 in [0, 1] (rewards.md 3), or ``None``.

    For each wheel k: G = mapped GT clusters (skip the wheel if empty), P = mapped predicted
    clusters; F_k = 0 if P is empty else 2|P & G| / (|P| + |G|). Returns the mean of F_k over
    the non-skipped wheels; ``None`` when every wheel is skipped (e.g. GT only "neutral" with
    neutral dropped). ``oov="penalise"`` adds each distinct predicted word that wheel k cannot
    map to |P| (so spraying unknown words costs precision). Default wheels: built-in, neutral
    dropped. Designed for speed: O(words x wheels) cached dict lookups.
    """
    ws = wheels if wheels is not None else _wheels(None)
    if isinstance(gt, str):
        gt = _as_words(gt)
    if isinstance(pred, str):
        pred = _as_words(pred)
    K = ws.n_wheels
    map_all = ws.map_all
    g_maps = [map_all(w, level) for w in gt]
    p_maps = [map_all(w, level) for w in pred]
    penalise = oov == "penalise"
    if not penalise and oov != "drop":
        raise ValueError(f"oov must be 'drop' or 'penalise', got {oov!r}")
    total = 0.0
    n = 0
    for k in range(K):
        G = {m[k] for m in g_maps} - {None}
        if not G:
            continue
        n += 1
        P = {m[k] for m in p_maps}
        extra = 0
        if None in P:
            P.discard(None)
            if penalise:
                extra = len({w.lower().strip() for w, m in zip(pred, p_maps) if m[k] is None})
        size = len(P) + extra
        if size:
            total += 2 * len(G & P) / (size + len(G))
    return total / n if n else None


def hit_rate(
    gt: Sequence[str],
    pred: Sequence[Sequence[str] | str],
    wheels: WheelSet | None = None,
    candidates: Iterable[str] | None = None,
    level: str = "level1",
) -> dict[str, Any]:
    """One-hot hit rate (metrics.md 2), averaged over wheels; fractions in [0, 1].

    Per wheel: G = the mapped single GT label (sample skipped if unmapped); hit = 1 if G is in
    the mapped prediction set. ``mscore`` = |P & G| / |P & mapped(candidates)| (0 when the
    denominator is 0), needs ``candidates`` (the corpus label set). ``mean_pred_labels`` is the
    mean raw predicted label count, reported because the hit rate does not penalise spraying.
    """
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    ws = _wheels(wheels)
    K = ws.n_wheels
    preds = [_as_words(p) for p in pred]
    cand_sets: list[set[str]] | None = None
    if candidates is not None:
        cand_sets = [set() for _ in range(K)]
        for c in candidates:
            for k, cl in enumerate(ws.map_all(c, level)):
                if cl is not None:
                    cand_sets[k].add(cl)
    hits: list[list[float]] = [[] for _ in range(K)]
    ms: list[list[float]] = [[] for _ in range(K)]
    for g, p_words in zip(gt, preds):
        gm = ws.map_all(g, level)
        pm = [ws.map_all(w, level) for w in p_words]
        for k in range(K):
            if gm[k] is None:
                continue
            P = {m[k] for m in pm} - {None}
            hit = 1.0 if gm[k] in P else 0.0
            hits[k].append(hit)
            if cand_sets is not None:
                denom = len(P & cand_sets[k])
                ms[k].append(hit / denom if denom else 0.0)
    out: dict[str, Any] = {
        "hit_rate": _mean([_mean(h) for h in hits]),
        "per_wheel": [
            {"name": n, "hit_rate": _mean(hits[k]), "n_samples": len(hits[k])}
            for k, n in enumerate(ws.names)
        ],
        "mean_pred_labels": _mean([len(p) for p in preds]),
        "n_total": len(gt),
    }
    if cand_sets is not None:
        out["mscore"] = _mean([_mean(m) for m in ms])
    return out


# ---------------------------------------------------------------------------------------------
# One-hot classification metrics (pure Python; checked against scikit-learn in the tests)
# ---------------------------------------------------------------------------------------------
def _labels(gt: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence | None) -> list:
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    if labels is not None:
        return list(labels)
    return sorted(set(gt) | set(pred), key=lambda x: (str(type(x)), x))


def accuracy(gt: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Fraction of exact matches in [0, 1] (0.0 for no samples)."""
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    return _mean([1.0 if g == p else 0.0 for g, p in zip(gt, pred)])


def confusion_matrix(
    gt: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence | None = None
) -> tuple[list[list[int]], list]:
    """``(matrix, labels)``; ``matrix[i][j]`` = samples of true ``labels[i]`` predicted ``labels[j]``.

    Labels default to the sorted union of gt and pred (scikit-learn's order); samples whose
    true or predicted label is outside ``labels`` are not counted (as in scikit-learn).
    """
    labs = _labels(gt, pred, labels)
    index = {lab: i for i, lab in enumerate(labs)}
    m = [[0] * len(labs) for _ in labs]
    for g, p in zip(gt, pred):
        if g in index and p in index:
            m[index[g]][index[p]] += 1
    return m, labs


def _per_class(gt: Sequence, pred: Sequence, labels: Sequence | None):
    labs = _labels(gt, pred, labels)
    m, labs = confusion_matrix(gt, pred, labs)
    tp = [m[i][i] for i in range(len(labs))]
    support = [sum(row) for row in m]
    predicted = [sum(m[i][j] for i in range(len(labs))) for j in range(len(labs))]
    prec = [tp[i] / predicted[i] if predicted[i] else 0.0 for i in range(len(labs))]
    rec = [tp[i] / support[i] if support[i] else 0.0 for i in range(len(labs))]
    f1 = [_harmonic(p, r) for p, r in zip(prec, rec)]
    return labs, prec, rec, f1, support


def war_uar(
    gt: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence | None = None
) -> dict[str, Any]:
    """WAR (overall accuracy) and UAR (mean per-class recall over classes present in gt).

    Returns ``{"war", "uar", "per_class_recall": {label: recall}, "support": {label: n}}``.
    """
    labs, _, rec, _, support = _per_class(gt, pred, labels)
    present = [i for i, s in enumerate(support) if s > 0]
    return {
        "war": accuracy(gt, pred),
        "uar": _mean([rec[i] for i in present]),
        "per_class_recall": {labs[i]: rec[i] for i in present},
        "support": {labs[i]: support[i] for i in present},
    }


def weighted_f1(
    gt: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence | None = None
) -> float:
    """Support-weighted mean of per-class F1 (scikit-learn ``average="weighted"``)."""
    _, _, _, f1, support = _per_class(gt, pred, labels)
    total = sum(support)
    return sum(f * s for f, s in zip(f1, support)) / total if total else 0.0


def macro_f1(
    gt: Sequence[Hashable], pred: Sequence[Hashable], labels: Sequence | None = None
) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: union of gt and pred labels),
    as scikit-learn ``average="macro"`` with ``zero_division=0``."""
    _, _, _, f1, _ = _per_class(gt, pred, labels)
    return _mean(f1)


def sentiment_waf(gt: Sequence[float], pred: Sequence[float]) -> dict[str, float]:
    """Sentiment weighted F1 (metrics.md 3): drop samples with gt == 0, compare ``gt > 0`` with
    ``pred > 0`` (a neutral prediction counts as negative). Returns ``{"waf", "accuracy", "n"}``.
    """
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    pairs = [(g > 0, p > 0) for g, p in zip(gt, pred) if g != 0]
    g = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    return {"waf": weighted_f1(g, p), "accuracy": accuracy(g, p), "n": len(pairs)}


# ---------------------------------------------------------------------------------------------
# Action units
# ---------------------------------------------------------------------------------------------
_AU = re.compile(r"^\s*au\s*0*(\d+)\s*$", re.IGNORECASE)


def normalise_au(au: str) -> str:
    """ "AU04", "au 4", "4" -> "AU4"; other strings are returned stripped and unchanged."""
    s = str(au).strip()
    m = _AU.match(s) or re.fullmatch(r"0*(\d+)", s)
    return f"AU{int(m.group(1))}" if m else s


def au_set_f1(
    pred: Iterable[str], gt: Iterable[str], beta: float = 1.0, normalise_ids: bool = True
) -> float:
    """Per-sample AU-set F_beta in [0, 1] (the Facial-R1 F, rewards.md 4, before rescaling).

    Empty gt -> 0.0; empty prediction -> 0.0 (the reward maps these to its own values, e.g. -1
    after the [-1, 1] rescale). ``normalise_ids`` treats "AU04" and "AU4" as the same unit.
    """
    if normalise_ids:
        P = {normalise_au(a) for a in pred}
        G = {normalise_au(a) for a in gt}
    else:
        P, G = set(pred), set(gt)
    if not G or not P:
        return 0.0
    hit = len(P & G)
    p, r = hit / len(P), hit / len(G)
    if p + r == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


def au_f1(
    gt: Sequence[Iterable[str]],
    pred: Sequence[Iterable[str]],
    aus: Sequence[str] | None = None,
    normalise_ids: bool = True,
) -> dict[str, Any]:
    """Per-AU binary F1 over the dataset, averaged over AUs (BP4D/DISFA protocol; metrics.md 6).

    ``aus`` defaults to the sorted union of AUs seen in gt (numeric order). Per AU: TP/FP/FN
    over samples, F1 = 2TP / (2TP + FP + FN) (0 when the AU never occurs on either side).
    Also reports the diagnostic per-sample set F1 mean (``sample_f1``).
    Returns ``{"f1", "per_au": {au: f1}, "aus": [...], "sample_f1", "definition"}``.
    """
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    norm = normalise_au if normalise_ids else (lambda a: str(a))
    G = [{norm(a) for a in g} for g in gt]
    P = [{norm(a) for a in p} for p in pred]
    if aus is None:
        seen = set().union(*G) if G else set()
        au_list = sorted(seen, key=lambda a: (int(a[2:]) if a[2:].isdigit() else 10**9, a))
    else:
        au_list = [norm(a) for a in aus]
    per_au: dict[str, float] = {}
    for au in au_list:
        tp = sum(1 for g, p in zip(G, P) if au in g and au in p)
        fp = sum(1 for g, p in zip(G, P) if au not in g and au in p)
        fn = sum(1 for g, p in zip(G, P) if au in g and au not in p)
        per_au[au] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    sample = [au_set_f1(p, g, normalise_ids=False) for g, p in zip(G, P) if g]
    return {
        "f1": _mean(list(per_au.values())),
        "per_au": per_au,
        "aus": au_list,
        "sample_f1": _mean(sample),
        "definition": "mean over AUs of per-AU binary F1 across samples",
    }


# ---------------------------------------------------------------------------------------------
# Reasoning-answer consistency
# ---------------------------------------------------------------------------------------------
def reasoning_consistency(
    reasoning: str, answer: Sequence[str] | str, wheels: WheelSet | None = None
) -> float | None:
    """Fraction of answer labels whose level-1 cluster (first wheel) is named in the reasoning.

    Emotion words are found in ``reasoning`` by scanning 1-3-word windows through the wheel
    mapping (negated mentions such as "not angry" do not count). ``None`` when no answer label
    maps. A cheap check that the think span supports the answer, not a judge.
    """
    ws = _wheels(wheels)
    labels = [a for a in _as_words(answer) if ws.map(a, 1) is not None]
    if not labels:
        return None
    words = re.findall(r"[a-zA-Z][a-zA-Z'-]*", reasoning.lower())
    mentioned: set[str] = set()
    negators = {"not", "no", "never", "without", "isn't", "wasn't", "aren't", "hardly"}
    for i in range(len(words)):
        if i > 0 and words[i - 1] in negators:
            continue
        for n in (3, 2, 1):
            if i + n <= len(words):
                c = ws.map(" ".join(words[i : i + n]), 1)
                if c is not None:
                    mentioned.add(c)
                    break
    counts = Counter(ws.map(a, 1) in mentioned for a in labels)
    return counts[True] / len(labels)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: (substitutions + deletions + insertions) / reference words.

    Words are lowercased and stripped of punctuation; the edit distance is summed over the
    pairs before dividing (the usual corpus WER, not a mean of per-sentence rates).

    >>> word_error_rate(["the cat sat"], ["the cat sat down"])
    0.3333333333333333
    """

    def words(text: str) -> list[str]:
        return re.sub(r"[^\w\s']", " ", str(text).lower()).split()

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    errors = total = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = words(ref), words(hyp)
        row = list(range(len(h) + 1))
        for i, rw in enumerate(r, start=1):
            prev, row[0] = row[0], i
            for j, hw in enumerate(h, start=1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
        errors += row[-1]
        total += len(r)
    return errors / total if total else 0.0
