"""Pitch level without guessing the speaker's sex from F0, and the "expressive" intonation class.

Run:  python benchmarks/validate_pitch_gender.py [--cache /tmp/prosody_cache.jsonl]
      [--ased-every 3] [--emodb-every 1] [--ravdess-every 1]

1. **Calibration** on ASED (Amharic, sex in the file name) and EmoDB (German, sex per
   speaker): every clip is measured with :func:`mmemo.encoders.prosody.measure_prosody`;
   the timbre sex model (:mod:`mmemo.encoders.timbre`: logistic regression on mean MFCCs) is
   fitted and its speaker-grouped cross-validated accuracy printed, and the "expressive" intonation thresholds (pitch movements, 5-95 % span)
   the pair that keeps neutral clips "expressive" in at most 25 % while calling as many
   high-arousal clips (anger, fear, joy) expressive as possible. RAVDESS is not used here.
2. **Validation** on RAVDESS (speech, actors 01-20; odd actors male) with the chosen values
   and no speaker baselines: sex accuracy of the timbre estimate; pitch level of the strong
   angry/happy clips of male actors (old rule: sex guessed from F0); neutral clips called
   "expressive"; the share of "expressive" per emotion.

Measurements are cached (one JSON line per clip: MFCC means, F0 median, the F0 contour)
so a rerun only recomputes the summaries. The module constants
``mmemo.encoders.timbre.MODEL`` and ``mmemo.encoders.prosody.EXPRESSIVE_*`` must
equal the chosen values; the script says so.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EMODB_MALE = {"03", "10", "11", "12", "15"}
HIGH_AROUSAL = {"angry", "fearful", "happy"}


def clip_info(path: Path) -> dict | None:
    """corpus, speaker, sex, emotion (and RAVDESS intensity) from the file name."""
    name = path.stem
    if "ravdess" in path.parts:
        f = name.split("-")
        emo = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
               "06": "fearful", "07": "disgust", "08": "surprised"}[f[2]]  # fmt: skip
        actor = int(f[6])
        return {"corpus": "ravdess", "speaker": actor, "sex": "male" if actor % 2 else "female",
                "emotion": emo, "strong": f[3] == "02"}  # fmt: skip
    if "ased" in path.parts:
        f = name.split("-")
        emo = {"n": "neutral", "f": "fearful", "h": "happy", "s": "sad", "a": "angry"}[f[0][0]]
        return {"corpus": "ased", "speaker": int(f[4]), "emotion": emo,
                "sex": "female" if f[3] == "01" else "male"}  # fmt: skip
    if "emodb" in path.parts:
        emo = {"W": "angry", "L": "bored", "N": "neutral", "F": "happy", "A": "fearful",
               "T": "sad", "E": "disgust"}.get(name[5])  # fmt: skip
        return {"corpus": "emodb", "speaker": name[:2], "emotion": emo,
                "sex": "male" if name[:2] in EMODB_MALE else "female"}  # fmt: skip
    return None


def measure(paths: list[Path], cache: Path) -> list[dict]:
    from mmemo.encoders.prosody import measure_prosody

    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            rec = json.loads(line)
            done[rec["path"]] = rec
    with cache.open("a") as out:
        for i, p in enumerate(paths):
            if str(p) in done:
                continue
            c = measure_prosody(p)
            rec = {"path": str(p), "empty": c.empty,
                   "f0_median_hz": c.f0_median_hz, "ceps": c.cepstrum_means,
                   "contour": None if c.empty else [None if not math.isfinite(v) else round(
                       float(v), 1) for v in c.f0_contour_hz]}  # fmt: skip
            done[str(p)] = rec
            out.write(json.dumps(rec) + "\n")
            if i % 200 == 0:
                print(f"  measured {i}/{len(paths)}", flush=True)
    return [{**done[str(p)], **clip_info(p)} for p in paths]


def pitch_level(f0: float, sex: str) -> str:
    from mmemo.encoders.pitch import hz_to_st
    from mmemo.encoders.prosody import NORMS

    d = float(np.asarray(hz_to_st(f0, NORMS[sex]["f0_hz"])))
    band = NORMS["f0_band_st"]["value"]
    return "high" if d > band else "low" if d < -band else "normal"


def f0_sex(f0: float) -> str:
    return "male" if f0 < math.sqrt(120.0 * 210.0) else "female"


def intonation(rec: dict, moves: int, span: float) -> str:
    from mmemo.encoders.prosody import classify_intonation

    f = np.array([np.nan if v is None else v for v in rec["contour"]], float)
    return classify_intonation(f, moves, span)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_prosody_cache.jsonl"))
    ap.add_argument("--ased-every", type=int, default=3)
    ap.add_argument("--emodb-every", type=int, default=1)
    ap.add_argument("--ravdess-every", type=int, default=1)
    args = ap.parse_args()

    from mmemo.encoders import prosody, timbre

    calib_paths = sorted((DATA / "ased").rglob("*.flac"))[:: args.ased_every]
    calib_paths += sorted((DATA / "emodb").rglob("*.flac"))[:: args.emodb_every]
    rav_paths = sorted((DATA / "ravdess").rglob("*.flac"))[:: args.ravdess_every]
    calib = [r for r in measure(calib_paths, args.cache) if not r["empty"]]
    rav = [r for r in measure(rav_paths, args.cache) if not r["empty"]]

    # 1. calibration: timbre sex model (speaker-grouped CV, then fit on all) and expressive
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    with_f = [r for r in calib if r["ceps"] is not None]
    X = np.array([r["ceps"] for r in with_f])
    y = np.array([r["sex"] == "male" for r in with_f])
    groups = np.array([f"{r['corpus']}:{r['speaker']}" for r in with_f])
    mean, scale = X.mean(0), X.std(0)
    Z = (X - mean) / scale
    cv = np.zeros(len(y), bool)
    for tr, te in GroupKFold(n_splits=5).split(Z, y, groups):
        clf = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000).fit(Z[tr], y[tr])
        cv[te] = clf.predict(Z[te]) == y[te]
    clf = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000).fit(Z, y)
    model = {"mean": [round(float(v), 4) for v in mean], "scale": [round(float(v), 4) for v in scale],
             "weights": [round(float(v), 4) for v in clf.coef_[0]],
             "bias": round(float(clf.intercept_[0]), 4)}  # fmt: skip
    print(f"calibration: {len(calib)} clips (ASED every {args.ased_every}, EmoDB every "
          f"{args.emodb_every}), {len(with_f)} with cepstra, {len(set(groups))} speakers")  # fmt: skip
    print(
        f"  timbre sex model, speaker-grouped 5-fold CV accuracy: {100 * cv.mean():.1f}% "
        f"(male {100 * cv[y].mean():.1f}%, female {100 * cv[~y].mean():.1f}%)"
    )
    print(f"  MODEL = {json.dumps(model)}")
    neutral = [r for r in calib if r["emotion"] == "neutral"]
    aroused = [r for r in calib if r["emotion"] in HIGH_AROUSAL]
    choice = None
    for moves in (3, 4, 5):
        for span in np.arange(6.0, 16.5, 1.0):
            n_rate = np.mean([intonation(r, moves, span) == "expressive" for r in neutral])
            a_rate = np.mean([intonation(r, moves, span) == "expressive" for r in aroused])
            if n_rate <= 0.25 and (choice is None or a_rate - n_rate > choice[0]):
                choice = (a_rate - n_rate, moves, float(span), n_rate, a_rate)
    _, moves, span, n_rate, a_rate = choice
    print(f"  expressive = >= {moves} movements spanning >= {span:.0f} st: neutral "
          f"{100 * n_rate:.0f}% expressive, high-arousal {100 * a_rate:.0f}% "
          f"(n = {len(neutral)}, {len(aroused)})")  # fmt: skip
    same = (model == timbre.MODEL, moves == prosody.EXPRESSIVE_MOVES,
            abs(prosody.EXPRESSIVE_SPAN_ST - span) < 1e-6)  # fmt: skip
    print(
        f"  module constants equal the chosen values: timbre.MODEL {same[0]}, EXPRESSIVE_MOVES "
        f"{prosody.EXPRESSIVE_MOVES} {same[1]}, EXPRESSIVE_SPAN_ST "
        f"{prosody.EXPRESSIVE_SPAN_ST} {same[2]}"
    )

    # 2. validation on RAVDESS with the chosen values, no speaker baselines
    print(f"validation: RAVDESS, {len(rav)} clips")

    def timbre_sex(r: dict) -> str | None:
        p = timbre.p_male(None if r["ceps"] is None else np.array(r["ceps"]), model)
        return None if p is None else ("male" if p >= 0.5 else "female")

    rf = [r for r in rav if r["ceps"] is not None]
    sex_acc = np.mean([timbre_sex(r) == r["sex"] for r in rf])
    print(
        f"  sex from timbre correct: {100 * sex_acc:.1f}% of {len(rf)}; from F0: "
        f"{100 * np.mean([f0_sex(r['f0_median_hz']) == r['sex'] for r in rav]):.1f}%"
    )
    target = [r for r in rav if r["sex"] == "male" and r["strong"]
              and r["emotion"] in ("angry", "happy")]  # fmt: skip
    for name, sex_of in (
        ("old: sex guessed from F0", lambda r: f0_sex(r["f0_median_hz"])),
        ("new: sex from timbre", lambda r: timbre_sex(r) or f0_sex(r["f0_median_hz"])),
    ):  # fmt: skip
        levels = collections.Counter(pitch_level(r["f0_median_hz"], sex_of(r)) for r in target)
        norms = collections.Counter(sex_of(r) for r in target)
        print(
            f"  strong angry/happy, male actors ({len(target)} clips), {name}: pitch "
            f"{dict(levels)} -> high {100 * levels['high'] / max(1, len(target)):.1f}%; "
            f"norm used {dict(norms)}"
        )
    neut = [r for r in rav if r["emotion"] == "neutral"]
    for name, (m, s) in (("old (3 moves, 6 st)", (3, 6.0)), ("new", (moves, span))):
        classes = collections.Counter(intonation(r, m, s) for r in neut)
        print(
            f"  neutral clips ({len(neut)}), intonation {name}: {dict(classes)} -> "
            f"expressive {100 * classes['expressive'] / max(1, len(neut)):.1f}%"
        )
    for emo in ("calm", "happy", "angry", "fearful", "sad", "surprised", "disgust"):
        sub = [r for r in rav if r["emotion"] == emo]
        rate = np.mean([intonation(r, moves, span) == "expressive" for r in sub])
        print(f"    {emo:<9} expressive {100 * rate:5.1f}% of {len(sub)}")


if __name__ == "__main__":
    main()
