"""The emotion-wheel score in numpy, over reference tables compiled to arrays.

:func:`ew_score_compiled` is :func:`mmemo.metrics.ew_score` in parity mode for
:class:`mmemo.taxonomy.compiled.CompiledWheels`, vectorised over samples: each word's clusters
are bits of a uint64 mask, a sample's set is the OR of its words' masks, and |G|, |P| and
|G & P| are bit counts. This is what ``mmemo metrics ew --reference-tables`` runs at 100k
samples; ``tests/taxonomy/test_compiled.py`` checks it equals ``ew_score``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmemo.metrics import ew_summary, wheel_score

__all__ = ["ew_score_compiled", "ew_score_ids"]


def ew_score_compiled(
    gt: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], compiled: Any, level: str = "level1"
) -> dict[str, Any]:
    """:func:`ew_score` in parity mode, vectorised over samples with compiled tables.

    ``compiled``: :class:`mmemo.taxonomy.compiled.CompiledWheels` (reference tables as arrays);
    ``gt[s]``/``pred[s]``: word lists or list strings. Same semantics and keys as
    ``ew_score(..., mode="parity")`` (a test checks equality); per wheel the sets become a
    boolean (sample x cluster) matrix, so |G|, |P| and |G & P| are row sums.
    """
    if len(gt) != len(pred):
        raise ValueError(f"gt has {len(gt)} samples but pred has {len(pred)}")
    g_sample, g_word = compiled.flat_ids(gt)
    p_sample, p_word = compiled.flat_ids(pred)
    return ew_score_ids(g_sample, g_word, p_sample, p_word, len(gt), compiled, level)


def ew_score_ids(
    g_sample: Any, g_word: Any, p_sample: Any, p_word: Any, n: int, compiled: Any, level: str
) -> dict[str, Any]:
    """:func:`ew_score_compiled` from ``(sample index, vocabulary index)`` arrays of every
    label word of the ``n`` GT and predicted samples (vocabulary index V: unknown word)."""
    import numpy as np

    g_sample, g_word = np.asarray(g_sample), np.asarray(g_word)
    p_sample, p_word = np.asarray(p_sample), np.asarray(p_word)
    bits, wheel_bits = _cluster_bits(compiled, level)
    G, P = _sample_bits(g_sample, bits[g_word], n), _sample_bits(p_sample, bits[p_word], n)
    per_wheel = []
    for name, masks in zip(compiled.names, wheel_bits, strict=True):
        # |G|, |P|, |G & P| of each sample: bits set in its clusters' masks
        g_size = p_size = hits = 0  # uint8 counts from one uint64 mask, else int64 sums
        for word, mask in masks:
            g, p = G[:, word] & mask, P[:, word] & mask
            g_n, p_n, hit_n = np.bitwise_count(g), np.bitwise_count(p), np.bitwise_count(g & p)
            if len(masks) > 1:
                g_n, p_n, hit_n = (x.astype(np.int64) for x in (g_n, p_n, hit_n))
            g_size, p_size, hits = g_size + g_n, p_size + p_n, hits + hit_n
        n_kept = int(np.count_nonzero(g_size))
        # a kept sample without a prediction scores 0, 0: hits is 0 wherever either size is
        # 0, so the sums run over all samples with the sizes floored at 1 (no masks)
        P_k = float((hits / np.maximum(p_size, 1)).sum()) / n_kept if n_kept else 0.0
        R_k = float((hits / np.maximum(g_size, 1)).sum()) / n_kept if n_kept else 0.0
        per_wheel.append(wheel_score(name, P_k, R_k, n_kept))
    return ew_summary(per_wheel, n, level, "parity", "reference")


def _cluster_bits(compiled: Any, level: str) -> tuple[Any, list[list[tuple[int, Any]]]]:
    """Each vocabulary word's clusters as bits: ``bits[v]`` (uint64 ``[V + 1, words]``), and
    per wheel its ``(word, mask)`` pairs: which uint64s hold its clusters and which bits they
    are. A wheel gets one bit per cluster it has at ``level`` (reference level 1: all 5
    wheels, 31 clusters, in one uint64)."""
    import numpy as np

    cache = compiled.__dict__.setdefault("_cluster_bits", {})
    if level in cache:
        return cache[level]
    table = np.asarray(compiled.table[level])
    locals_, widths = [], []
    for row in table:
        ids, local = np.unique(row, return_inverse=True)
        has_none = bool((ids < 0).any())
        locals_.append(np.where(row >= 0, local - has_none, -1))
        widths.append(len(ids) - has_none)
    # bit b of wheel k: uint64 number place[k] + b // 64 (a wheel of up to 64 clusters shares
    # one with its neighbours while they fit; a wider one gets whole uint64s of its own)
    place, word, used = [], 0, 0
    for w in widths:
        if used and used + w > 64:
            word, used = word + 1, 0
        place.append((word, used))
        word, used = word + (used + w) // 64, (used + w) % 64
    bits = np.zeros((table.shape[1], max(1, word + (used > 0))), np.uint64)
    wheel_bits = []
    for local, w, (first, offset) in zip(locals_, widths, place, strict=True):
        has = local >= 0
        at = local[has] + offset
        np.bitwise_or.at(bits, (np.flatnonzero(has), first + at // 64),
                         np.left_shift(np.uint64(1), (at % 64).astype(np.uint64)))  # fmt: skip
        masks = []
        for b0 in range(offset, offset + w, 64):
            n_bits = min(64, offset + w - b0)
            masks.append((first + b0 // 64, np.uint64(((1 << n_bits) - 1) << (b0 % 64))))
        wheel_bits.append(masks or [(0, np.uint64(0))])
    cache[level] = bits, wheel_bits
    return cache[level]


def _sample_bits(sample: Any, word_bits: Any, n: int) -> Any:
    """``[n, words]`` uint64: the OR of the cluster bits of each sample's label words."""
    import numpy as np

    out = np.zeros((n, word_bits.shape[1]), np.uint64)
    if not len(sample):
        return out
    if (sample[1:] < sample[:-1]).any():
        order = np.argsort(sample, kind="stable")
        sample, word_bits = sample[order], word_bits[order]
    starts = np.flatnonzero(sample[1:] != sample[:-1])  # (a bool pass: cheaper than np.diff)
    starts = np.concatenate(([0], starts + 1))
    if word_bits.shape[1] == 1:  # reduceat along a 1-D array: several times faster
        out[sample[starts], 0] = np.bitwise_or.reduceat(word_bits[:, 0], starts)
    else:
        out[sample[starts]] = np.bitwise_or.reduceat(word_bits, starts, axis=0)
    return out
