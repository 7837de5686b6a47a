"""Recompute the held-out numbers of the shipped default heads from the raw corpora.

    python benchmarks/eval_heads.py --data /work/shared/data [--heads checkpoints/default]
        [--only speech|face|text] [--cv]

- speech: the shipped head (fitted on RAVDESS actors 01-16) on actors 17-20, features
  recomputed from the FLAC files through ``SpeechHead.features_from_file`` (the predict-time
  path): single-clip accuracy, and speaker-normalised accuracy (each actor's 60 clips
  together). ``--cv`` also re-runs the 5-fold actor-grouped CV of the recipe.
- face: the shipped head on all FER2013 PublicTest images (accuracy, UAR). CK+ is in the
  shipped head's training data, so its subject-independent number needs ``--cv``, which
  re-runs the 5 subject-grouped fine-tunes from the cached stage-A CNN (minutes of CPU).
- text: the shipped head on MELD dev (weighted F1, accuracy), if the text extra is installed.

Every head also reports the ECE (15 bins) of its probabilities with its shipped calibration
temperature (``mmemo.heads.calibrate``) on the same held-out data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mmemo.heads.bundle import HeadError, default_dir
from mmemo.heads.calibration import ece
from mmemo.heads.face.data import face_data
from mmemo.heads.face.model import FACE_LABELS, FaceHead
from mmemo.heads.face.train import CK_FOLDS, _ck_acc, _finetune, face_stage_a
from mmemo.heads.face.train_geometry import face_landmarks, fit_geometry
from mmemo.heads.report import mean_std, uar
from mmemo.heads.text.meld import meld_rows
from mmemo.heads.text.model import TextHead
from mmemo.heads.voice.model import SpeechHead
from mmemo.heads.voice.train import RAVDESS_TEST_ACTORS


def eval_speech(data: Path, heads: Path, cv: bool, cache: Path) -> dict:
    """The shipped voice head on RAVDESS actors 17-20 (held out from its training), 8 classes."""
    from mmemo.heads.voice.corpora import ravdess_clips
    from mmemo.media import MediaError

    head = SpeechHead.load(heads)
    rows, ys, actors = [], [], []
    for clip in ravdess_clips(data / "ravdess"):
        if clip.speaker not in RAVDESS_TEST_ACTORS:
            continue
        try:
            rows.append(head.features_from_file(clip.path))
        except (MediaError, ValueError) as exc:
            print(f"skip {clip.path}: {exc}", file=sys.stderr)
            continue
        ys.append(head.labels.index(clip.label))
        actors.append(clip.speaker)
    X, y, a = np.stack(rows), np.array(ys), np.array(actors)
    p_clip, p_spk = head.predict_proba(X), head.predict_proba(X, speakers=a)
    clip, spk = p_clip.argmax(1), p_spk.argmax(1)
    out = {
        "ravdess_actors_17_20_n": len(y),
        "clip_acc": float((clip == y).mean()),
        "clip_uar": uar(y, clip),
        "speaker_norm_acc": float((spk == y).mean()),
        "speaker_norm_uar": uar(y, spk),
        "clip_ece": ece(p_clip, y),
        "speaker_norm_ece": ece(p_spk, y),
        "per_actor_speaker_norm_acc": {
            k: float((spk[a == k] == y[a == k]).mean()) for k in np.unique(a)
        },
    }
    if cv:
        from mmemo.heads.voice.dataset import corpus_features
        from mmemo.heads.voice.learn import Recipe, grouped_cv

        recipe = Recipe.from_dict({**head.config["recipe"], "feature_sets": head.feature_sets})
        vd = corpus_features(data, cache, recipe.trim, augment=recipe.augment)
        out["speaker_grouped_cv5"] = grouped_cv(vd, recipe)
    return out


def eval_face(data: Path, heads: Path, cv: bool, cache: Path) -> dict:
    head = FaceHead.load(heads)
    faces = face_data(data, cache)
    x, y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    # the cached landmarks are what the head would measure itself (same FaceMesh call)
    lms = face_landmarks(faces, cache) if head.geometry is not None else None
    probs = head.predict_proba(x, landmarks=lms["fer_publictest"] if lms else None)
    pred = probs.argmax(1)
    acc = float((pred == y).mean())
    out = {
        "fer2013_publictest_n": len(y),
        "fer2013_publictest_acc": acc,
        "fer2013_publictest_acc_stderr": float(np.sqrt(acc * (1 - acc) / len(y))),
        "fer2013_publictest_uar": uar(y, pred),
        "fer2013_publictest_ece": ece(probs, y),  # T was fitted here (validation split)
        "fer2013_publictest_recall": {
            FACE_LABELS[c]: float((pred[y == c] == c).mean()) for c in np.unique(y)
        },
    }
    if cv:
        from sklearn.model_selection import GroupKFold

        stage_a, _ = face_stage_a(faces, cache)
        idx = np.arange(len(faces["ck_y"]))
        folds = []
        for k, (tr, te) in enumerate(GroupKFold(CK_FOLDS).split(idx, groups=faces["ck_subject"])):
            m = _finetune(stage_a, faces, tr, k + 1)
            geo = fit_geometry(faces, lms, tr) if lms else None
            folds.append(
                _ck_acc(
                    m, faces["ck_x"][te], faces["ck_y"][te], geo, lms["ck"][te] if lms else None
                )
            )
        out["ckplus_subject_cv5_acc"] = mean_std(folds)
    return out


def eval_text(data: Path, heads: Path) -> dict:
    from sklearn.metrics import f1_score

    head = TextHead.load(heads)
    texts, y = meld_rows(data, "dev")
    probs = head.predict_proba(texts)
    pred = probs.argmax(1)
    return {
        "meld_dev_n": len(y),
        "meld_dev_weighted_f1": float(f1_score(y, pred, average="weighted")),
        "meld_dev_acc": float((pred == y).mean()),
        "meld_dev_macro_f1": float(f1_score(y, pred, average="macro")),
        "meld_dev_ece": ece(probs, y),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--heads", type=Path, default=None, help="default: the shipped heads")
    parser.add_argument("--only", choices=("speech", "face", "text"), action="append")
    parser.add_argument("--cv", action="store_true", help="also re-run the grouped-CV protocols")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    heads = args.heads or default_dir()
    results, failed = {}, 0
    for name in args.only or ("speech", "face", "text"):
        t0 = time.time()
        try:
            if name == "speech":
                results[name] = eval_speech(args.data, heads, args.cv, args.cache)
            elif name == "face":
                results[name] = eval_face(args.data, heads, args.cv, args.cache)
            else:
                results[name] = eval_text(args.data, heads)
        except (HeadError, OSError, ValueError, ImportError) as exc:
            print(f"{name}: failed: {exc}", file=sys.stderr)
            failed += 1
            continue
        results[name]["seconds"] = round(time.time() - t0, 1)
        print(json.dumps({name: results[name]}, indent=2), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
