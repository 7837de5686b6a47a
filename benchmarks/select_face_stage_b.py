"""Nested, subject-grouped CV for the face head's stage-B fine-tune settings on CK+48.

    python benchmarks/select_face_stage_b.py --data /work/shared/data [--threads 1]

The stage-A CNN (FER2013 train; cached by ``train_heads``) is fine-tuned on CK+ plus a FER
replay sample with each setting of ``GRID`` (fixed before any run). For each of the 5 outer
folds (GroupKFold by subject, the same folds as ``train_heads``), the setting is chosen by a
3-fold subject-grouped CV **inside the outer training subjects only**; the chosen setting is
then fine-tuned on all outer-training subjects and scored on the outer test subjects. The
mean over outer folds is an unbiased estimate of "stage B with settings chosen by CV", which
is what the shipped head uses (its setting is chosen by the same 3-fold CV over all
subjects, printed last). FER2013 PublicTest accuracy of every outer model is printed too,
since a longer fine-tune can forget FER, and so are CK+ and FER of the WiSE-FT interpolation
``(1 - alpha) * stage A + alpha * stage B`` that the shipped head uses (``--alpha``).
``--fixed 12,0.001,1500`` skips the inner selection (only the outer fits and scores).
``--fixed 12,0.001,1500 --geometry-select`` chooses the WiSE-FT alpha and the weight of the
landmark-geometry classifier fused with the CNN together, the same nested way (about 25 min).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import mmemo.heads.face.train as face_train
from mmemo.heads.face.cnn import face_logits, wise_interpolate
from mmemo.heads.face.data import face_data
from mmemo.heads.face.train import (
    CK_FOLDS,
    FT_SOUP,
    FT_WISE_ALPHA,
    _ck_acc,
    _finetune,
    ck_accuracy,
    face_stage_a,
)
from mmemo.heads.face.train_geometry import face_landmarks, fit_geometry, fused_logits
from mmemo.heads.report import log

# (epochs, lr, FER replay images); the first is the shipped setting before this selection
GRID = ((5, 5e-4, 1500), (12, 1e-3, 1500), (12, 1e-3, 3000))
INNER_FOLDS = 3


def inner_cv(stage_a, faces, idx: np.ndarray, seed: int) -> dict[tuple, float]:
    from sklearn.model_selection import GroupKFold

    out = {}
    groups = faces["ck_subject"][idx]
    for g in GRID:
        accs = []
        for k, (tr, te) in enumerate(GroupKFold(INNER_FOLDS).split(idx, groups=groups)):
            m = _finetune(stage_a, faces, idx[tr], seed + 100 + k, *g, alpha=1.0)
            accs.append(_ck_acc(m, faces["ck_x"][idx[te]], faces["ck_y"][idx[te]]))
        out[g] = float(np.mean(accs))
        log(f"  inner CV {g}: {out[g]:.4f} ({np.round(accs, 3).tolist()})")
    return out


ALPHAS = (0.6, 0.7, 0.8, 0.9, 1.0)  # WiSE-FT weights of stage B considered
FER_FLOOR = 0.625  # the FER PublicTest accuracy a setting must keep (the target is 0.62)


WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)  # geometry weights for --geometry-select


def grid_scores(
    stage_a, faces, lms, idx: np.ndarray, seed: int, setting: tuple, weights: tuple
) -> dict:
    """(alpha, geometry weight) -> (CK+, FER PublicTest) accuracy, means over a 3-fold subject
    CV inside ``idx``: the CNN fine-tuned and the geometry classifier fitted on each inner
    training part (not fitted when every weight is 0)."""
    from sklearn.model_selection import GroupKFold

    ck: dict[tuple, list] = {(a, w): [] for a in ALPHAS for w in weights}
    fer: dict[tuple, list] = {(a, w): [] for a in ALPHAS for w in weights}
    fer_x, fer_y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    for k, (tr, te) in enumerate(
        GroupKFold(INNER_FOLDS).split(idx, groups=faces["ck_subject"][idx])
    ):
        plain = _finetune(stage_a, faces, idx[tr], seed + 100 + k, *setting, alpha=1.0)
        geo = fit_geometry(faces, lms, idx[tr]) if any(weights) else None
        for a in ALPHAS:
            m = wise_interpolate(stage_a, plain, a)
            lo_ck, lo_fer = face_logits(m, faces["ck_x"][idx[te]]), face_logits(m, fer_x)
            for w in weights:
                fused = fused_logits(lo_ck, geo, lms["ck"][idx[te]], w)
                ck[(a, w)].append(ck_accuracy(fused, faces["ck_y"][idx[te]]))
                fused = fused_logits(lo_fer, geo, lms["fer_publictest"], w)
                fer[(a, w)].append(float((fused.argmax(1) == fer_y).mean()))
    return {g: (float(np.mean(ck[g])), float(np.mean(fer[g]))) for g in ck}


def pick_pair(table: dict) -> tuple:
    """The best CK+ pair among those keeping FER >= FER_FLOOR (ties: higher FER)."""
    ok = [g for g, v in table.items() if v[1] >= FER_FLOOR]
    if not ok:
        return max(table, key=lambda g: table[g][1])
    return max(ok, key=lambda g: table[g])


def _table_lines(table: dict) -> str:
    weights = sorted({w for _, w in table})
    return "\n".join(f"  a={a}: " + " ".join(f"w{w}: {table[(a, w)][0]:.3f}/{table[(a, w)][1]:.3f}"
                      for w in weights) for a in ALPHAS)  # fmt: skip


def geometry_select(args, stage_a, faces, weights: tuple = WEIGHTS) -> int:
    """Nested CV of (WiSE-FT alpha, geometry weight), stage-B setting fixed to ``args.fixed``;
    ``weights=(0.0,)`` (``--alpha-select``) chooses the alpha of the CNN alone."""
    from sklearn.model_selection import GroupKFold

    lms = face_landmarks(faces, args.cache)
    idx = np.arange(len(faces["ck_y"]))
    outer = []
    for k, (tr, te) in enumerate(GroupKFold(CK_FOLDS).split(idx, groups=faces["ck_subject"])):
        if args.outer_folds and k + 1 not in args.outer_folds:
            continue
        table = grid_scores(stage_a, faces, lms, tr, k + 1, args.fixed, weights)
        a, w = pick_pair(table)
        log(f"outer fold {k + 1} inner CV (CK+/FER):\n{_table_lines(table)}\n  -> a={a}, w={w}")
        plain = _finetune(stage_a, faces, tr, k + 1, *args.fixed, alpha=1.0)
        m = wise_interpolate(stage_a, plain, a)
        geo = fit_geometry(faces, lms, tr) if w else None
        lo = face_logits(m, faces["ck_x"][te])
        rec = {"fold": k + 1, "alpha": a, "weight": w, "inner": table[(a, w)],
               "ck_acc": ck_accuracy(fused_logits(lo, geo, lms["ck"][te], w), faces["ck_y"][te]),
               "ck_acc_cnn_alone": ck_accuracy(lo, faces["ck_y"][te]),
               "fer_acc": float((fused_logits(face_logits(m, faces["fer_publictest_x"]), geo,
                                 lms["fer_publictest"], w).argmax(1)
                                 == faces["fer_publictest_y"]).mean())}  # fmt: skip
        outer.append(rec)
        log(f"outer fold {k + 1}: CK+ {rec['ck_acc']:.4f} (CNN alone "
               f"{rec['ck_acc_cnn_alone']:.4f}), FER {rec['fer_acc']:.4f}")  # fmt: skip
    accs, fers = [o["ck_acc"] for o in outer], [o["fer_acc"] for o in outer]
    if outer:
        log(f"nested (alpha, weight): CK+ {np.mean(accs):.4f} +- {np.std(accs):.4f} "
               f"({np.round(accs, 3).tolist()}); FER {np.mean(fers):.4f} +- {np.std(fers):.4f}")  # fmt: skip
    result = {"soup": face_train.FT_SOUP, "outer": outer, "ck_mean": float(np.mean(accs or [np.nan])),
              "ck_std": float(np.std(accs or [np.nan])), "fer_mean": float(np.mean(fers or [np.nan]))}  # fmt: skip
    if not args.outer_folds or 0 in args.outer_folds:
        table = grid_scores(stage_a, faces, lms, idx, 0, args.fixed, weights)
        chosen = pick_pair(table)
        log(f"3-fold CV over all subjects:\n{_table_lines(table)}\n  for shipping: {chosen}")
        result.update(chosen=list(chosen), table_all={f"{a},{w}": v for (a, w), v in table.items()})
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import GroupKFold

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    ap.add_argument(
        "--alpha",
        type=float,
        default=FT_WISE_ALPHA,
        help="WiSE-FT weight of stage B, reported beside the plain fine-tune",
    )
    ap.add_argument("--fixed", type=lambda v: (int(v.split(",")[0]), float(v.split(",")[1]),
                    int(v.split(",")[2])), default=None, metavar="EPOCHS,LR,REPLAY",
                    help="skip the inner selection and fine-tune every outer fold with this")  # fmt: skip
    ap.add_argument("--alpha-select", action="store_true",
                    help="nested CV of the WiSE-FT alpha of the CNN alone (needs --fixed): "
                    "--geometry-select with geometry weight 0 only")  # fmt: skip
    ap.add_argument("--geometry-select", action="store_true",
                    help="nested CV of the WiSE-FT alpha and the landmark-geometry fusion weight "
                    f"(needs --fixed): CK+ accuracy, subject to FER PublicTest >= {FER_FLOOR}")  # fmt: skip
    ap.add_argument(
        "--soup",
        type=int,
        default=FT_SOUP,
        help="stage-B fine-tunes averaged per model (weight-space soup)",
    )
    ap.add_argument("--outer-folds", type=lambda v: [int(f) for f in v.split(",")],
                    default=None, metavar="1,2,...", help="only these outer folds (to split a "
                    "run over processes); with it the all-subject choice is skipped unless "
                    "'0' is listed")  # fmt: skip
    args = ap.parse_args(argv)
    face_train.FT_SOUP = args.soup  # read by _finetune's default
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    faces = face_data(args.data, args.cache)
    stage_a, _ = face_stage_a(faces, args.cache, 0)
    if args.alpha_select:
        return geometry_select(args, stage_a, faces, weights=(0.0,))
    if args.geometry_select:
        return geometry_select(args, stage_a, faces)
    fer_x, fer_y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    idx = np.arange(len(faces["ck_y"]))
    outer = []
    for k, (tr, te) in enumerate(GroupKFold(CK_FOLDS).split(idx, groups=faces["ck_subject"])):
        log(f"outer fold {k + 1}/{CK_FOLDS}: choosing on {len(tr)} training images")
        scores = {args.fixed: float("nan")} if args.fixed else inner_cv(stage_a, faces, tr, k + 1)
        best = max(scores, key=lambda g: scores[g]) if not args.fixed else args.fixed
        plain = _finetune(stage_a, faces, tr, k + 1, *best, alpha=1.0)
        rec = {"fold": k + 1, "chosen": list(best), "inner": {str(g): v for g, v in scores.items()}}
        for name, m in (("", plain), ("wise_", wise_interpolate(stage_a, plain, args.alpha))):
            rec[name + "ck_acc"] = _ck_acc(m, faces["ck_x"][te], faces["ck_y"][te])
            rec[name + "fer_acc"] = float((face_logits(m, fer_x).argmax(1) == fer_y).mean())
        outer.append(rec)
        log(f"outer fold {k + 1}: chose {best}, CK+ {rec['ck_acc']:.4f}, FER PublicTest "
               f"{rec['fer_acc']:.4f}; WiSE-FT a={args.alpha}: CK+ {rec['wise_ck_acc']:.4f}, "
               f"FER {rec['wise_fer_acc']:.4f}")  # fmt: skip
    for name in ("", "wise_"):
        accs = [o[name + "ck_acc"] for o in outer]
        fers = [o[name + "fer_acc"] for o in outer]
        log(f"{name or 'plain '}CK+ accuracy {np.mean(accs):.4f} +- {np.std(accs):.4f} "
               f"({np.round(accs, 3).tolist()}); FER PublicTest {np.mean(fers):.4f}")  # fmt: skip
    accs = [o["ck_acc"] for o in outer]
    if args.fixed:
        print(json.dumps(outer, indent=1))
        return 0
    log("setting for the shipped head: 3-fold CV over all subjects")
    final = inner_cv(stage_a, faces, idx, 0)
    chosen = max(GRID, key=lambda g: final[g])
    log(f"chosen for shipping: {chosen} ({time.time() - t0:.0f} s in all)")
    result = {"outer": outer, "nested_mean": float(np.mean(accs)),
              "nested_std": float(np.std(accs)), "all_subjects_inner": {str(g): v for g, v in
              final.items()}, "chosen": list(chosen)}  # fmt: skip
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
