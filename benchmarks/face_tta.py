"""Test-time views of the shipped face head: FER2013 PublicTest accuracy and ms per face.

    python benchmarks/face_tta.py --data ../shared/data [--heads checkpoints/default] [--limit N]

Scores view sets of the head's own network on FER2013 PublicTest (CNN alone and fused with the
head's landmark-geometry classifier, landmarks from the training cache): every set is mirrored;
a view is ``(dy, dx)`` (the 40-px window shifted) or ``(dy, dx, scale)`` (a window of
40 * scale px resized to 40, see ``mmemo.heads.face.cnn.TTA_SHIFTS``). "centre" is the head as
shipped before issue 12; "shifts_2px" (``TTA_SHIFTS``) was fixed before measuring; the others
were tried after, on PublicTest, so their rows are optimistic. The cross-fit row picks the best
set (at most 2 or 4 views) on one random half of PublicTest and scores it on the other, both
ways, over 5 splits. Then times ``FaceHead.logits`` and ``predict_proba`` (CNN + landmarks) per
face at batch 8 (a clip's frames, ``mmemo.predict.FACE_FRAMES``) on one thread.

CK+ cannot be scored this way: the shipped network was fine-tuned on all of CK+, so the CK+
accuracies printed for the timed sets are in-sample (a sanity check, not a held-out number);
the subject-grouped number per view set comes from ``python -m mmemo.heads.train --only face``
(``metrics.by_test_time_views``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from mmemo.heads.face.cnn import TTA_SHIFTS

VIEW_SETS: dict[str, tuple[tuple[float, ...], ...]] = {
    "centre (before)": ((0, 0),),
    "shifts_2px (a priori)": TTA_SHIFTS,
    "shifts_3px": ((0, 0), (-3, 0), (3, 0), (0, -3), (0, 3)),
    "diagonal_2px": ((0, 0), (-2, -2), (-2, 2), (2, -2), (2, 2)),
    "zoom_0.9": ((0, 0, 0.9),),
    "zoom_1.05": ((0, 0, 1.05),),
    "zoom_1.1": ((0, 0, 1.1),),
    "zoom_1.15": ((0, 0, 1.15),),
    "zoom_1.2": ((0, 0, 1.2),),
    "centre+zoom_0.9": ((0, 0), (0, 0, 0.9)),
    "centre+zoom_1.1": ((0, 0), (0, 0, 1.1)),
    "centre+zoom_1.2": ((0, 0), (0, 0, 1.2)),
}
TIMED = ("centre (before)", "shifts_2px (a priori)", "zoom_1.1", "centre+zoom_1.1")


def _crossfit(fused: dict, y, max_views: int, sets: dict) -> tuple[float, list[str]]:
    import numpy as np

    accs, picks = [], []
    for seed in range(5):
        half = np.random.default_rng(seed).permutation(len(y)) < len(y) // 2
        right = np.zeros(len(y), bool)
        for a, b in ((half, ~half), (~half, half)):
            cand = [k for k in sets if len(sets[k]) * 2 <= max_views]
            best = max(cand, key=lambda k: (fused[k][a].argmax(1) == y[a]).mean())
            picks.append(best)
            right[b] = fused[best][b].argmax(1) == y[b]
        accs.append(float(right.mean()))
    return float(np.mean(accs)), picks


def main() -> None:
    import numpy as np
    import torch
    from scipy.stats import binomtest

    from mmemo.heads.face.cnn import face_logits
    from mmemo.heads.face.data import face_data
    from mmemo.heads.face.geometry import fused_logits
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.face.train_geometry import face_landmarks
    from mmemo.heads.report import uar

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--heads", type=Path, default=Path("checkpoints/default"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    ap.add_argument("--limit", type=int, default=0, help="first N PublicTest images only")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    head = FaceHead.load(args.heads)
    faces = face_data(args.data, args.cache)
    x, y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    lms = face_landmarks(faces, args.cache)["fer_publictest"] if head.geometry else None
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
        lms = lms[: args.limit] if lms is not None else None
    # each distinct view once (with its mirror); a set's logits are the mean over its views
    per_view = {}
    for v in dict.fromkeys(v for views in VIEW_SETS.values() for v in views):
        per_view[v] = face_logits(head.model, x, tta=True, views=(v,))

    def fuse(lo):
        return lo if head.geometry is None else fused_logits(lo, head.geometry, lms,
                                                             head.geometry_weight)  # fmt: skip

    cnn = {k: np.mean([per_view[v] for v in views], 0) for k, views in VIEW_SETS.items()}
    fused = {k: fuse(lo) for k, lo in cnn.items()}
    base = fused["centre (before)"].argmax(1) == y
    rows = {}
    for k, views in VIEW_SETS.items():
        pred = fused[k].argmax(1)
        lost, won = int((base & (pred != y)).sum()), int((~base & (pred == y)).sum())
        rows[k] = {
            "views": len(views) * 2,
            "fer_publictest_acc_cnn": round(float((cnn[k].argmax(1) == y).mean()), 4),
            "fer_publictest_acc_fused": round(float((pred == y).mean()), 4),
            "fer_publictest_uar_fused": round(uar(y, pred), 4),
            "vs_before_lost_won": [lost, won],
            "mcnemar_p": round(binomtest(lost, lost + won).pvalue, 4) if lost + won else 1.0,
        }
        print(f"{k:24s} {json.dumps(rows[k])}", flush=True)
    cross = {f"max_{m}_views": _crossfit(fused, y, m, VIEW_SETS) for m in (2, 4, 10)}
    for k, (acc, picks) in cross.items():
        print(f"cross-fit selection, {k}: {acc:.4f} (picked {sorted(set(picks))})")
    from mmemo.heads.face.train import ck_accuracy

    ck_in_sample = {}
    for k in TIMED:  # the CNN alone: CK+ landmarks are not needed for this sanity check
        lo = face_logits(head.model, faces["ck_x"], tta=True, views=VIEW_SETS[k])
        ck_in_sample[k] = round(ck_accuracy(lo, faces["ck_y"]), 4)
    print(f"CK+ in-sample (CNN alone, all 774 images, trained on): {json.dumps(ck_in_sample)}")
    timing = {}
    crops = x[:8]
    for k in TIMED:
        head.views, head.mirror = VIEW_SETS[k], True
        head.predict_proba(crops)  # warm-up
        cnn_ms, all_ms = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            head.logits(crops)
            cnn_ms.append((time.perf_counter() - t0) / len(crops) * 1000)
            t0 = time.perf_counter()
            head.predict_proba(crops)
            all_ms.append((time.perf_counter() - t0) / len(crops) * 1000)
        timing[k] = {"cnn_ms_per_face": round(statistics.median(cnn_ms), 2),
                     "head_ms_per_face": round(statistics.median(all_ms), 2)}  # fmt: skip
        print(f"{k:24s} {json.dumps(timing[k])} (batch 8, one thread)", flush=True)
    print(json.dumps({"n": len(y), "sets": rows, "timing": timing, "ck_in_sample": ck_in_sample,
                      "crossfit": {k: v[0] for k, v in cross.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
