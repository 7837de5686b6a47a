"""Leave-one-corpus-out table of the voice head, next to the baselines, in one run.

    python benchmarks/voice_loco.py --data ../shared/data [--old-head DIR] [--search]

Each of RAVDESS, ASED and EmoDB is held out in turn; the head is trained on the other two
and scored on the held-out corpus, on the four classes every corpus has (angry, happy,
neutral, sad: "core") and on all classes it shares with the training pair ("shared", which
adds fearful and, where present, disgust). Rows:

- ``egemaps+lr``: the plain baseline, eGeMAPSv02 functionals of the untrimmed clip,
  standardised, scikit-learn ``LogisticRegression(C=1)`` over the union of classes;
- ``before``: the recipe of the previous default head (ComParE_2016 + eGeMAPSv02, untrimmed,
  global standardisation, C 0.001; its speaker classifier rank-normalised, C 0.03), fitted
  without class masks or corpus balancing;
- ``shipped-before``: the previous shipped head itself (RAVDESS actors 01-16 only), when
  ``--old-head`` names a folder with its ``speech.json``;
- ``first-pass``: the first cross-corpus recipe of issue 12 (every feature kept for the
  single-clip classifier, C 0.003; speaker classifier C 0.01 read alone);
- ``voice12``: the second pass (the single clip leaves out the 10 % most corpus-shifted
  features, C 0.002; speaker classifier C 0.01 read alone);
- ``voice16``: the third pass (the speaker mode mixes a quarter of the clip classifier's
  log-probabilities into the speaker classifier's, C 0.003), fitted on the clips alone;
- ``after``: :class:`mmemo.heads.voice.learn.Recipe` defaults (the shipped recipe: voice16
  fitted on each clip plus three perturbed copies of it, 10 % slower, 10 % faster, and at
  another level and microphone colouring; :mod:`mmemo.heads.voice.augment`).

``--search`` runs the staged search that chose the recipe, every setting judged by the mean
LOCO UAR on the core classes (never on a corpus's own test speakers); the last two stages add
the mean speaker-grouped CV UAR. Each classifier is
scored in its own mode: ``clip`` (one clip alone) and ``speaker`` (several clips of the
speaker normalised together).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from mmemo.heads.bundle import MLP
from mmemo.heads.voice.augment import AUGMENTATIONS
from mmemo.heads.voice.calibrate import calibrate_from_loco
from mmemo.heads.voice.corpora import CORE_LABELS, CORPORA
from mmemo.heads.voice.dataset import corpus_features
from mmemo.heads.voice.features import speaker_normalise
from mmemo.heads.voice.learn import (
    VOICE_LABELS,
    Recipe,
    VoiceData,
    grouped_cv,
    loco,
    loco_summary,
    restricted_scores,
    shared_classes,
)

BEFORE = Recipe(
    feature_sets=("ComParE_2016", "eGeMAPSv02"),
    trim=False,
    speaker_norm="rank_gauss",
    C_clip=0.001,
    C_speaker=0.03,
    balance_corpora=False,
    masked=False,
    drop_shifted=0.0,
    speaker_clip_weight=0.0,
    augment=(),
)
# the first cross-corpus recipe of issue 12: every feature kept for the single clip
FIRST_PASS = Recipe(
    drop_shifted=0.0, C_clip=0.003, C_speaker=0.01, speaker_clip_weight=0.0, augment=()
)
# the second pass (branch voice12): the speaker mode reads the speaker classifier alone
VOICE12 = Recipe(C_speaker=0.01, speaker_clip_weight=0.0, augment=())
# the third pass (branch voice16): the shipped recipe before augmented copies
VOICE16 = Recipe(augment=())


def sklearn_fit(C_clip: float, C_speaker: float | None):
    """A fit function for :func:`loco`: scikit-learn LR on the recipe's features."""

    def fit(data: VoiceData, recipe: Recipe) -> dict[str, MLP]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = data.columns(recipe.feature_sets)
        y = np.array([VOICE_LABELS.index(lab) for lab in data.label])
        out = {}
        inputs = [("clip", X, C_clip)]
        if C_speaker is not None:
            xs = speaker_normalise(X, data.speaker, recipe.speaker_norm)
            inputs.append(("speaker", xs, C_speaker))
        for name, Xin, C in inputs:
            sc = StandardScaler().fit(Xin)
            lr = LogisticRegression(C=C, max_iter=3000).fit(sc.transform(Xin), y)
            full = MLP.from_sklearn(sc, lr)
            # re-key the fitted classes into the head's full label order
            W = np.zeros((full.weights[0].shape[0], len(VOICE_LABELS)), np.float32)
            b = np.full(len(VOICE_LABELS), -1e4, np.float32)
            W[:, lr.classes_] = full.weights[0]
            b[lr.classes_] = full.biases[0]
            out[name] = MLP(full.mean, full.scale, [W], [b])
        return out

    return fit


def logits_of(models: dict[str, MLP], data: VoiceData, recipe: Recipe) -> dict[str, np.ndarray]:
    X = data.columns(recipe.feature_sets)
    out = {"clip": models["clip"].logits(X)}
    if "speaker" in models:
        xs = speaker_normalise(X, data.speaker, recipe.speaker_norm)
        out["speaker"] = models["speaker"].logits(xs)
    return out


def shipped_before(old: Path, raw: VoiceData) -> dict:
    """The previous shipped head (trained on RAVDESS 01-16) on ASED and EmoDB."""
    from mmemo.heads.voice.model import SpeechHead

    head = SpeechHead.load(old)
    out = {}
    for held in ("ased", "emodb"):
        test = raw.subset(raw.corpus == held)
        X = test.X  # the previous head read ComParE + eGeMAPS of the untrimmed clip
        logits = {
            "clip": head.clip.logits(X),
            "speaker": head.speaker.logits(speaker_normalise(X, test.speaker, head.speaker_norm)),
        }
        shared = shared_classes(held, ("ravdess",))
        out[held] = {
            "train": ["ravdess 01-16"],
            "scores": {
                m: {
                    "core": restricted_scores(lo, test.label, CORE_LABELS),
                    "shared": restricted_scores(lo, test.label, shared),
                }
                for m, lo in logits.items()
            },
        }
    return out


def ece_table(result: dict, temperatures: dict[str, float]) -> dict:
    """Out-of-corpus ECE per held-out corpus (shared classes) at the given temperatures."""
    from mmemo.heads.calibration import ece, softmax_t

    out = {}
    for held, r in result.items():
        idx = [VOICE_LABELS.index(c) for c in r["shared_classes"]]
        keep = np.isin(r["labels"], r["shared_classes"])
        y = np.array([r["shared_classes"].index(lab) for lab in r["labels"][keep]])
        out[held] = {
            mode: round(ece(softmax_t(lo[keep][:, idx], temperatures[mode]), y), 4)
            for mode, lo in r["logits"].items()
        }
    return out


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| model | mode | " + " | ".join(f"{c} acc / UAR (core)" for c in CORPORA)
        + " | mean UAR (core) | min | shared-class UAR per corpus |",
        "|---|---|" + "---|" * (len(CORPORA) + 3),
    ]  # fmt: skip
    for name, res in rows.items():
        modes = sorted({m for r in res.values() for m in r["scores"]})
        for mode in modes:
            cells, uars = [], []
            shared = []
            for c in CORPORA:
                s = res.get(c, {}).get("scores", {}).get(mode)
                if s is None:
                    cells.append("-")
                    shared.append("-")
                    continue
                cells.append(f"{s['core']['acc']:.3f} / {s['core']['uar']:.3f}")
                uars.append(s["core"]["uar"])
                shared.append(f"{s['shared']['uar']:.3f}")
            mean = f"{np.mean(uars):.3f}" if uars else "-"
            low = f"{np.min(uars):.3f}" if uars else "-"
            lines.append(
                f"| {name} | {mode} | " + " | ".join(cells) + f" | {mean} | {low} | "
                + " / ".join(shared) + " |"
            )  # fmt: skip
    return "\n".join(lines)


def _strip(res: dict) -> dict:
    return {k: {"train": v["train"], "scores": v["scores"]} for k, v in res.items()}


def search(trim: VoiceData, raw: VoiceData) -> list[dict]:
    """The staged search behind the shipped recipe; every row is a full LOCO run."""
    runs = []

    def run(recipe: Recipe) -> dict:
        t0 = time.time()
        res = loco(trim if recipe.trim else raw, recipe)
        row = {
            "recipe": recipe.to_dict(),
            "clip": loco_summary(res, "clip"),
            "speaker": loco_summary(res, "speaker"),
            "per_corpus": {c: res[c]["scores"] for c in CORPORA},
        }
        runs.append(row)
        print(f"{time.time() - t0:5.0f} s  {json.dumps(row['recipe'])}  clip UAR "
              f"{row['clip']['uar_mean']:.3f} (min {row['clip']['uar_min']:.3f})  speaker UAR "
              f"{row['speaker']['uar_mean']:.3f} (min {row['speaker']['uar_min']:.3f})",
              flush=True)  # fmt: skip
        return row

    # stages 1-3 ran before stage 4 existed: every feature kept for the single clip
    base = dataclasses.replace(Recipe(), drop_shifted=0.0, speaker_clip_weight=0.0, augment=())
    # stage 1: features x trimming (trimming is judged on both feature sets' default C)
    for feats in (("eGeMAPSv02",), ("ComParE_2016", "eGeMAPSv02")):
        for tr in (False, True):
            run(dataclasses.replace(base, feature_sets=feats, trim=tr))
    best = max(runs, key=lambda r: r["speaker"]["uar_mean"] + r["clip"]["uar_mean"])
    base = dataclasses.replace(
        base, feature_sets=tuple(best["recipe"]["feature_sets"]), trim=best["recipe"]["trim"]
    )
    # stage 2: C of both classifiers (fitted independently, so one grid serves both); a
    # small feature set needs less regularisation
    grid = (
        (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
        if len(base.feature_sets) > 1
        else (3e-3, 1e-2, 3e-2, 0.1)
    )
    stage2 = [(C, run(dataclasses.replace(base, C_clip=C, C_speaker=C))) for C in grid]
    c_clip = max(stage2, key=lambda t: t[1]["clip"]["uar_mean"])[0]
    c_spk = max(stage2, key=lambda t: t[1]["speaker"]["uar_mean"])[0]
    base = dataclasses.replace(base, C_clip=c_clip, C_speaker=c_spk)
    # stage 3: normalisation, corpus balancing, class masks
    run(dataclasses.replace(base, speaker_norm="zscore"))
    run(dataclasses.replace(base, balance_corpora=False))
    run(dataclasses.replace(base, masked=False))
    # stage 4: the share of the most corpus-shifted features the clip classifier leaves out
    # (scored on each fold's training corpora); it does not touch the speaker classifier
    stage4 = [(q, run(dataclasses.replace(base, drop_shifted=q)))
              for q in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)]  # fmt: skip
    base = dataclasses.replace(
        base, drop_shifted=max(stage4, key=lambda t: t[1]["clip"]["uar_mean"])[0]
    )
    # stage 5: C of the clip classifier at that share
    stage5 = [(C, run(dataclasses.replace(base, C_clip=C))) for C in (0.001, 0.002, 0.005, 0.01)]
    stage5.append((base.C_clip, max(stage4, key=lambda t: t[1]["clip"]["uar_mean"])[1]))
    base = dataclasses.replace(base, C_clip=max(stage5, key=lambda t: t[1]["clip"]["uar_mean"])[0])
    # stage 6 (speaker mode only; the clip classifier is fixed by now): the share of the clip
    # classifier's log-probabilities mixed into the speaker mode, with the speaker C, judged
    # by both halves of the protocol: mean LOCO UAR plus mean speaker-grouped CV UAR
    stage6 = []
    for C in (0.003, 0.01, 0.03):
        for wt in (0.0, 0.25, 0.35, 0.5):
            recipe = dataclasses.replace(base, C_speaker=C, speaker_clip_weight=wt)
            row = run(recipe)
            cv = grouped_cv(trim if recipe.trim else raw, recipe)
            row["grouped_cv"] = cv
            cv_mean = float(np.mean([cv[c]["speaker"]["uar"] for c in CORPORA]))
            print(f"      grouped CV speaker-mode UAR {cv_mean:.3f}", flush=True)
            stage6.append(((C, wt), row["speaker"]["uar_mean"] + cv_mean))
    C_spk, wt = max(stage6, key=lambda t: t[1])[0]
    base = dataclasses.replace(base, C_speaker=C_spk, speaker_clip_weight=wt)
    # stage 7: perturbed copies of the training clips (both classifiers), judged by the sum of
    # mean LOCO UAR and mean grouped-CV UAR over both modes
    speeds = ("speed_0.9", "speed_1.1")
    stage7 = []
    for augment in ((), speeds, ("gain_eq",), (*speeds, "gain_eq"), (*speeds, "noise"),
                    (*speeds, "gain_eq", "noise")):  # fmt: skip
        recipe = dataclasses.replace(base, augment=augment)
        row = run(recipe)
        cv = grouped_cv(trim, recipe)
        row["grouped_cv"] = cv
        cv_means = {m: float(np.mean([cv[c][m]["uar"] for c in CORPORA])) for m in cv[CORPORA[0]]}
        print(f"      grouped CV UAR clip {cv_means['clip']:.3f} speaker "
              f"{cv_means['speaker']:.3f}", flush=True)  # fmt: skip
        score = sum(row[m]["uar_mean"] + cv_means[m] for m in ("clip", "speaker"))
        stage7.append((augment, score))
    base = dataclasses.replace(base, augment=max(stage7, key=lambda t: t[1])[0])
    print(f"chosen: {json.dumps(base.to_dict())}", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    ap.add_argument("--old-head", type=Path, help="folder of the previous shipped speech head")
    ap.add_argument("--search", action="store_true", help="run the staged recipe search")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    from threadpoolctl import threadpool_limits

    # one BLAS thread: on a busy 2-core machine threads spin-wait and a fit takes 5x longer
    threadpool_limits(1)
    after = Recipe()
    # the search tries every augmentation; the table needs the shipped recipe's
    augment = AUGMENTATIONS if args.search else after.augment
    trim = corpus_features(args.data, args.cache, trim=True, augment=augment)
    raw = corpus_features(args.data, args.cache, trim=False)
    results: dict = {}
    if args.search:
        results["search"] = search(trim, raw)
    egemaps = Recipe(feature_sets=("eGeMAPSv02",), trim=False, masked=False,
                     balance_corpora=False, drop_shifted=0.0, augment=())  # fmt: skip
    before = loco(raw, BEFORE, fit=sklearn_fit(0.001, 0.03), logits_of=logits_of)
    rows = {
        "egemaps+lr": _strip(loco(raw, egemaps, fit=sklearn_fit(1.0, None), logits_of=logits_of)),
        "before": _strip(before),
    }
    old_t = {"clip": 1.0, "speaker": 1.0}
    if args.old_head is not None:
        rows["shipped-before"] = shipped_before(args.old_head, raw)
        cfg = json.loads((args.old_head / "speech.json").read_text())
        old_t = {
            "clip": cfg.get("temperature", 1.0),
            "speaker": cfg.get("temperature_speaker", 1.0),
        }
    rows["first-pass"] = _strip(loco(trim, FIRST_PASS))
    rows["voice12"] = _strip(loco(trim, VOICE12))
    rows["voice16"] = _strip(loco(trim, VOICE16))
    after_res = loco(trim if after.trim else raw, after)
    rows["after"] = _strip(after_res)
    results["table"] = rows
    results["after_recipe"] = after.to_dict()
    results["calibration"] = {
        "before": ece_table(before, old_t),
        "after": calibrate_from_loco(after_res, trim if after.trim else raw, after)["record"],
    }
    print(table(rows))
    print(json.dumps(results["calibration"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
