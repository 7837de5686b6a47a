"""Test-time augmentation of the shipped face head: FER2013 PublicTest accuracy and ms per face.

    python benchmarks/face_tta.py --data ../shared/data [--heads checkpoints/default] [--limit N]

For the head's own network, scores three view sets on FER2013 PublicTest (CNN alone and fused
with the head's landmark-geometry classifier, landmarks from the training cache):
centre only, centre + mirror (the head before issue 12), and ``TTA_SHIFTS`` (centre and 2-px
shifts) each mirrored. Then times ``FaceHead.logits`` per face at batch 8 (a clip's frames,
``mmemo.predict.FACE_FRAMES``) on one thread for each view set, median of ``--repeats``.

CK+ cannot be scored this way: the shipped network was fine-tuned on all of CK+; its
subject-grouped number needs the fold models of ``python -m mmemo.heads.train --only face``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

VIEW_SETS = {
    "centre": (((0, 0),), False),
    "centre+mirror (before)": (((0, 0),), True),
    "TTA_SHIFTS+mirror": (None, True),  # None: mmemo.heads.face.cnn.TTA_SHIFTS
}


def main() -> None:
    import torch

    from mmemo.heads.face.cnn import TTA_SHIFTS, face_logits
    from mmemo.heads.face.data import face_data
    from mmemo.heads.face.geometry import fused_logits
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.face.train_geometry import face_landmarks

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
    out: dict[str, dict[str, float]] = {}
    for name, (shifts, mirror) in VIEW_SETS.items():
        shifts = TTA_SHIFTS if shifts is None else shifts
        lo = face_logits(head.model, x, tta=mirror, views=shifts)
        rec = {"views": len(shifts) * (2 if mirror else 1),
               "fer_publictest_acc_cnn": float((lo.argmax(1) == y).mean())}  # fmt: skip
        if head.geometry is not None:
            fused = fused_logits(lo, head.geometry, lms, head.geometry_weight)
            rec["fer_publictest_acc_fused"] = float((fused.argmax(1) == y).mean())
        head.views, head.mirror = tuple(shifts), mirror
        crops = x[:8]
        head.logits(crops)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            head.logits(crops)
            times.append((time.perf_counter() - t0) / len(crops) * 1000)
        rec["cnn_ms_per_face_batch8"] = statistics.median(times)
        out[name] = rec
        print(name, json.dumps(rec), flush=True)
    print(json.dumps({"n": len(y), "results": out}, indent=1))


if __name__ == "__main__":
    main()
