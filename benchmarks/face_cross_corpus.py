"""The face CNN across corpora: trained on FER2013 only and tested on CK+48, and the reverse.

    python benchmarks/face_cross_corpus.py --data ../shared/data [--epochs 5]

- FER -> CK+: the face CNN (same architecture and stage-A recipe as the shipped head, with
  ``--epochs`` epochs of OneCycle instead of 14, to fit this machine) trained on FER2013 train
  only, scored on all 774 CK+48 images with the argmax over CK+'s 7 classes (it never saw
  contempt, so the 54 contempt images count as errors; the 6-class figure leaves them out).
  This is the out-of-corpus reliability of the face head used for its fusion weight.
- CK+ -> FER: the CNN trained on CK+48 only (30 epochs), scored on FER2013 PublicTest over
  the 6 classes both share (no neutral, no contempt).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--write", type=Path, help="merge the reliability and cross-corpus numbers "
                    "into HEADS/face.json (e.g. checkpoints/default); the weights are untouched")  # fmt: skip
    args = ap.parse_args(argv)
    import torch

    from mmemo.heads.face.cnn import build_face_cnn, face_logits, train_cnn
    from mmemo.heads.face.data import CK_HEAD_IDX, face_data
    from mmemo.heads.face.model import FACE_LABELS
    from mmemo.heads.face.train import FACE_LR, FACE_WIDTH, ck_accuracy
    from mmemo.heads.fusion import kappa

    torch.set_num_threads(1)
    faces = face_data(args.data, args.cache)
    torch.manual_seed(0)
    fer_model, hist = train_cnn(
        build_face_cnn(FACE_WIDTH), faces["fer_train_x"], faces["fer_train_y"], args.epochs,
        FACE_LR, 0, val=(faces["fer_publictest_x"], faces["fer_publictest_y"]), tag="FER only",
    )  # fmt: skip
    ck_lo = face_logits(fer_model, faces["ck_x"])
    contempt = FACE_LABELS.index("contempt")
    six = faces["ck_y"] != contempt
    six_idx = [i for i in CK_HEAD_IDX if i != contempt]
    pred6 = np.asarray(six_idx)[ck_lo[six][:, six_idx].argmax(1)]
    acc7 = ck_accuracy(ck_lo, faces["ck_y"])
    acc6 = float((pred6 == faces["ck_y"][six]).mean())
    # reverse: CK+ only -> FER PublicTest on the shared 6 classes
    torch.manual_seed(0)
    ck_model, _ = train_cnn(
        build_face_cnn(FACE_WIDTH), faces["ck_x"], faces["ck_y"], 30, FACE_LR, 0, batch=64,
        tag="CK+ only",
    )  # fmt: skip
    shared = [
        FACE_LABELS.index(c) for c in ("angry", "disgust", "fear", "happy", "sad", "surprise")
    ]
    keep = np.isin(faces["fer_publictest_y"], shared)
    fer_lo = face_logits(ck_model, faces["fer_publictest_x"][keep])
    pred = np.asarray(shared)[fer_lo[:, shared].argmax(1)]
    rev = float((pred == faces["fer_publictest_y"][keep]).mean())
    result = {
        "fer_only_epochs": args.epochs,
        "fer_only_publictest_acc": max(h.get("val_acc", 0) for h in hist),
        "fer_to_ckplus_acc_7class": acc7,
        "fer_to_ckplus_acc_6class_no_contempt": acc6,
        "ckplus_to_fer_publictest_acc_6class": rev,
        "reliability": {
            "skill": round(kappa(acc7, 1 / 7), 4),
            "measure": "kappa over chance (1/7) of the FER-only CNN on all CK+48 images, "
            f"7 classes ({args.epochs}-epoch stage A: a lower bound for the shipped head)",
        },
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    if args.write:
        from mmemo.heads.calibration import write_temperature

        cross = {k: v for k, v in result.items() if k != "reliability"}
        write_temperature(args.write, "face", {"reliability": result["reliability"],
                                               "cross_corpus": cross})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
