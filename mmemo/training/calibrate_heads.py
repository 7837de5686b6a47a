"""Temperature calibration of the default heads on held-out predictions.

    python -m mmemo.training.calibrate_heads --data /work/shared/data --heads checkpoints/default \
        [--only speech|face|text] [--dry-run]

One temperature ``T`` per classifier (probabilities = ``softmax(logits / T)``), fitted by
minimising the negative log-likelihood of predictions the classifier was not trained on, and
never on the data its held-out metrics are reported on (see :func:`choose_temperature` for
when the NLL-optimal ``T`` is not shipped):

- speech: out-of-fold predictions of the shipped recipe over RAVDESS actors 01-16 (4 folds
  grouped by actor), one ``T`` for the single-clip classifier (``temperature``) and one for the
  speaker-normalised one (``temperature_speaker``). ECE is reported on actors 17-20 with the
  shipped head.
- text: out-of-fold predictions of the shipped recipe on MELD train (4 folds grouped by
  dialogue). ECE is reported on MELD dev with the shipped head.
- face: the shipped head's predictions on FER2013 PublicTest. PublicTest already chose the
  training epoch, so it is validation data, not test data; an honest ECE "after" on it comes
  from a 2-fold cross-fit (``T`` fitted on one half, scored on the other).

Only the ``temperature`` keys and a ``calibration`` record are written into ``<head>.json``;
the weights (and so their sha256) are untouched. ``T`` leaves the argmax, hence accuracy and
F1, unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.training import train_heads as th

ECE_BINS = 15


def log_probs(probs: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Log of probabilities ``[N, C]``; equal to the logits up to a per-row constant."""
    return np.log(np.maximum(np.asarray(probs, np.float64), floor))


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of labels ``y`` under ``softmax(logits / T)``."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The ``T`` in [0.05, 20] minimising :func:`nll` (bounded search over log T)."""
    from scipy.optimize import minimize_scalar

    if len(y) == 0:
        raise ValueError("no predictions to fit a temperature on")
    res = minimize_scalar(
        lambda lt: nll(logits, y, float(np.exp(lt))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(res.x))


def choose_temperature(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(T_nll, T)``: the NLL-optimal temperature and the one to ship.

    ``T`` is ``T_nll`` unless it raises the ECE on these same fit predictions, then 1.0: NLL
    is dominated by a few extreme logits (one RAVDESS clip has a logit range of ~1400), and a
    temperature that fixes those while miscalibrating the bulk is not wanted.
    """
    t = fit_temperature(logits, y)
    keep = ece(_softmax(logits, t), y) <= ece(_softmax(logits), y)
    return t, (t if keep else 1.0)


def ece(probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error of the top-1 confidence, ``bins`` equal-width bins (0..1)."""
    probs = np.asarray(probs, np.float64)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(conf[m].mean() - correct[m].mean())
    return float(total / len(y))


def _softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _report(
    logits: np.ndarray, y: np.ndarray, temperature: float, t_nll: float | None = None
) -> dict[str, float]:
    extra = {} if t_nll is None else {"temperature_nll_fit": t_nll}
    return {
        "n": len(y),
        **extra,
        "ece_before": ece(_softmax(logits), y),
        "ece_after": ece(_softmax(logits, temperature), y),
        "nll_before": nll(logits, y),
        "nll_after": nll(logits, y, temperature),
    }


def _round(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


# --------------------------------------------------------------------------- per head


def calibrate_speech(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperatures of the clip and speaker classifiers from actor-grouped OOF over 01-16."""
    from sklearn.model_selection import GroupKFold

    from mmemo.models.heads import SpeechHead, speaker_normalise

    X, y, actors = th.ravdess_features(data, cache)
    train = np.isin(actors, list(th.SPEECH_TRAIN_ACTORS))
    Xt, yt, at = X[train], y[train], actors[train]
    oof = {"clip": np.zeros((len(yt), 8)), "speaker": np.zeros((len(yt), 8))}
    for k, (tr, te) in enumerate(GroupKFold(4).split(Xt, yt, at)):
        models = th.fit_speech(Xt[tr], yt[tr], at[tr])
        oof["clip"][te] = models["clip"].logits(Xt[te])
        oof["speaker"][te] = models["speaker"].logits(
            speaker_normalise(Xt[te], at[te], th.SPEECH_SPEAKER_NORM)
        )
        th.log(f"speech OOF fold {k + 1}/4 actors {sorted(set(at[te].tolist()))}")
    fits = {name: choose_temperature(oof[name], yt) for name in oof}
    temps = {name: fit[1] for name, fit in fits.items()}
    head = SpeechHead.load(heads)  # the shipped classifiers, scored on actors 17-20
    Xh, yh, ah = X[~train], y[~train], actors[~train]
    held = {
        "clip": head.clip.logits(Xh),
        "speaker": head.speaker.logits(speaker_normalise(Xh, ah, head.speaker_norm)),
    }
    out = {
        "temperature": temps["clip"],
        "temperature_speaker": temps["speaker"],
        "calibration": {
            "fit_on": "out-of-fold logits of the same recipe, RAVDESS actors 01-16, 4 folds "
            "grouped by actor (clip and speaker-normalised classifiers separately)",
            "fit_oof": {n: _round(_report(oof[n], yt, temps[n], fits[n][0])) for n in oof},
            "heldout_actors_17_20": {n: _round(_report(held[n], yh, temps[n])) for n in held},
        },
    }
    return out


def calibrate_text(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperature of the utterance classifier from dialogue-grouped OOF on MELD train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    from mmemo.models.heads import TextHead
    from mmemo.training.text_context import meld_meta
    from mmemo.training.train_text import meld_embeddings

    head = TextHead.load(heads)
    if head.lora:
        # a fine-tuned encoder cannot be refitted per fold cheaply: train_text fits its
        # temperature on a held-out run of the same recipe; keep what it wrote
        th.log("text: LoRA head, temperature fitted by train_text (kept)")
        return {"temperature": head.config["temperature"],
                "calibration": head.config["calibration"]}  # fmt: skip
    Xtr, ytr = meld_embeddings(data, "train", cache)
    Xdv, ydv = meld_embeddings(data, "dev", cache)
    dialogues = np.array([m.dialogue for m in meld_meta(data, "train")])
    C = float(head.config["classifiers"]["utterance"]["C"])
    oof = np.zeros((len(ytr), 7))
    for tr, te in GroupKFold(4).split(Xtr, ytr, dialogues):
        sc = StandardScaler().fit(Xtr[tr])
        lr = LogisticRegression(C=C, max_iter=3000).fit(sc.transform(Xtr[tr]), ytr[tr])
        oof[te] = lr.decision_function(sc.transform(Xtr[te]))
    t_nll, t = choose_temperature(oof, ytr)
    return {
        "temperature": t,
        "calibration": {
            "fit_on": f"out-of-fold logits of the same recipe (C={C}), MELD train, 4 folds "
            "grouped by dialogue",
            "fit_oof": _round(_report(oof, ytr, t, t_nll)),
            "meld_dev": _round(_report(head.classifier.logits(Xdv), ydv, t)),
        },
    }


def calibrate_face(data: Path, heads: Path, cache: Path) -> dict[str, Any]:
    """Temperature of the face CNN from its FER2013 PublicTest predictions (validation split)."""
    from mmemo.models.heads import FaceHead
    from mmemo.training.train_face_geometry import face_landmarks

    head = FaceHead.load(heads)
    head.temperature = 1.0
    faces = th.face_data(data, cache)
    x, y = faces["fer_publictest_x"], faces["fer_publictest_y"]
    lms = face_landmarks(faces, cache)["fer_publictest"] if head.geometry is not None else None
    logits = log_probs(head.predict_proba(x, landmarks=lms))
    t_nll, t = choose_temperature(logits, y)
    # honest "after": 2-fold cross-fit on PublicTest (T from one half, scored on the other)
    half = np.random.default_rng(0).permutation(len(y)) < len(y) // 2
    cross = np.zeros_like(logits)
    for m in (half, ~half):
        cross[m] = logits[m] / choose_temperature(logits[~m], y[~m])[1]
    return {
        "temperature": t,
        "calibration": {
            "fit_on": "the shipped head's FER2013 PublicTest predictions (PublicTest already "
            "chose the stage-A epoch: validation data, not a test set)",
            "fer2013_publictest_in_sample": _round(_report(logits, y, t, t_nll)),
            "fer2013_publictest_2fold_crossfit": {
                "ece_before": round(ece(_softmax(logits), y), 4),
                "ece_after": round(ece(_softmax(cross), y), 4),
                "nll_after": round(nll(cross, y), 4),
            },
        },
    }


def write_temperature(heads: Path, name: str, result: dict[str, Any]) -> Path:
    """Merge the temperature keys and calibration record into ``<heads>/<name>.json``."""
    path = heads / f"{name}.json"
    cfg = json.loads(path.read_text())
    cfg.update(result)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")
    return path


CALIBRATORS = {"speech": calibrate_speech, "face": calibrate_face, "text": calibrate_text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmemo.training.calibrate_heads",
        description="Fit a temperature per head on held-out predictions; write it to the JSON.",
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--heads", type=Path, default=Path("checkpoints/default"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    parser.add_argument("--only", choices=tuple(CALIBRATORS), action="append")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    failed = 0
    for name in args.only or tuple(CALIBRATORS):
        try:
            result = CALIBRATORS[name](args.data, args.heads, args.cache)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            th.log(f"{name}: calibration failed: {exc}")
            failed += 1
            continue
        th.log(f"{name}: {json.dumps(result)}")
        if not args.dry_run:
            th.log(f"wrote {write_temperature(args.heads, name, result)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
