"""Validity of the prosody cues on RAVDESS speech (actors 01-20, 16 kHz FLAC).

Prints per-class mean F0 and energy, then checks, for the same speakers, that
strong-intensity angry and happy speech is louder than strong sad and calm speech, and that
the speaker-relative levels (baseline = all of the actor's clips) say so: strong angry/happy
mostly "high" energy, strong sad/calm mostly "low"/"normal".

File names: ``MM-VV-EE-II-SS-RR-AA.flac`` (EE emotion, II intensity 01 normal / 02 strong,
AA actor; odd = male). Run from the repository root:

    nice -n 10 python benchmarks/validate_prosody_ravdess.py [--data ../shared/data]

Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}  # fmt: skip
LOUD, QUIET = ("happy", "angry"), ("calm", "sad")


def main(argv: list[str] | None = None) -> int:
    from mmemo.encoders.prosody import apply_levels, measure_prosody, speaker_baseline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = ap.parse_args(argv)
    files = sorted((args.data / "ravdess").glob("Actor_*/*.flac"))
    if not files:
        print(f"no RAVDESS files under {args.data / 'ravdess'}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    rows = []
    for f in files:
        _, _, emo, inten, _, _, actor = f.stem.split("-")
        c = measure_prosody(f, gender="male" if int(actor) % 2 else "female")
        rows.append((actor, EMOTIONS[emo], inten, c))
    dt = time.perf_counter() - t0
    empty = [(a, e, c.reason) for a, e, _, c in rows if c.empty]
    print(
        f"{len(rows)} files, {len(empty)} empty, {dt:.1f} s ({1000 * dt / len(rows):.0f} ms/file)"
    )
    for a, e, r in empty[:5]:
        print(f"  empty: actor {a} {e}: {r}")
    rows = [r for r in rows if not r[3].empty]

    by_actor = defaultdict(list)
    for r in rows:
        by_actor[r[0]].append(r[3])
    stats = {a: speaker_baseline(cs) for a, cs in by_actor.items()}
    rel = [(a, e, i, apply_levels(c, stats[a])) for a, e, i, c in rows]

    print("\nper class (all actors; F0 re speaker median in semitones; energy dBFS)")
    print(f"{'emotion':<10}{'int':>4}{'n':>5}{'F0 Hz M':>9}{'F0 Hz F':>9}{'F0 st spk':>10}"
          f"{'energy dB':>10}{'rate syl/s':>11}  energy levels (speaker)")  # fmt: skip
    for emo in EMOTIONS.values():
        for inten in ("01", "02"):
            sel = [(a, c) for a, e, i, c in rel if e == emo and i == inten]
            if not sel:
                continue
            male = [c.f0_mean_hz for a, c in sel if int(a) % 2]
            female = [c.f0_mean_hz for a, c in sel if not int(a) % 2]
            lv = Counter(c.energy_level for _, c in sel)
            print(
                f"{emo:<10}{'S' if inten == '02' else 'N':>4}{len(sel):>5}"
                f"{np.mean(male):>9.0f}{np.mean(female):>9.0f}"
                f"{np.mean([c.f0_mean_st_speaker for _, c in sel]):>10.1f}"
                f"{np.mean([c.energy_mean_db for _, c in sel]):>10.1f}"
                f"{np.mean([c.speech_rate_syl_s for _, c in sel]):>11.2f}  "
                f"low {lv['low']:>2} normal {lv['normal']:>2} high {lv['high']:>2}"
            )

    ok = True
    # 1. per actor: strong angry and happy louder than strong sad and calm
    wins, pairs, actors_all = 0, 0, 0
    for actor, _ in sorted(by_actor.items()):
        means = {
            e: np.mean([c.energy_mean_db for a, ee, i, c in rel if a == actor and ee == e and i == "02"])
            for e in LOUD + QUIET
        }  # fmt: skip
        w = sum(means[hi] > means[lo] for hi in LOUD for lo in QUIET)
        wins, pairs = wins + w, pairs + 4
        actors_all += w == 4
    frac = wins / pairs
    print(f"\nenergy, same actor, strong: angry/happy > sad/calm in {wins}/{pairs} class pairs "
          f"({100 * frac:.0f}%); all 4 pairs in {actors_all}/{len(by_actor)} actors")  # fmt: skip
    ok &= _check("loud classes louder than quiet ones in >= 90% of actor class pairs", frac >= 0.9)

    # 2. speaker-relative levels
    def levels(emos, key):
        return Counter(getattr(c, key) for a, e, i, c in rel if e in emos and i == "02")

    loud_e, quiet_e = levels(LOUD, "energy_level"), levels(QUIET, "energy_level")
    n_loud, n_quiet = sum(loud_e.values()), sum(quiet_e.values())
    print(f"speaker-relative energy level, strong angry/happy: {dict(loud_e)}")
    print(f"speaker-relative energy level, strong sad/calm:    {dict(quiet_e)}")
    ok &= _check("strong angry/happy mostly 'high' energy", loud_e["high"] / n_loud > 0.5)
    ok &= _check(
        "strong sad/calm mostly 'low'/'normal' energy",
        (quiet_e["low"] + quiet_e["normal"]) / n_quiet > 0.8,
    )
    print(f"speaker-relative pitch level, strong angry/happy: {dict(levels(LOUD, 'pitch_level'))}")
    print(f"speaker-relative pitch level, strong sad/calm:    {dict(levels(QUIET, 'pitch_level'))}")
    norm = Counter(c.energy_level for a, e, i, c in rows if e in LOUD and i == "02")
    print(f"gender-norm energy level (no speaker baseline), strong angry/happy: {dict(norm)}")
    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def _check(what: str, passed: bool) -> bool:
    print(f"[{'PASS' if passed else 'FAIL'}] {what}")
    return passed


if __name__ == "__main__":
    sys.exit(main())
