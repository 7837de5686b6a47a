"""Per-class AU *presence* rates on CK+48 (what the cue text and the rewards see).

Run:  python benchmarks/au_presence_ckplus.py [--cues FILE.jsonl] [--subjects odd|even|all]
      [--save FILE.jsonl]

Presence is the encoder's own decision (``AUCues.presence``: intensity >= 1, i.e. beyond
the AU's presence threshold, see :mod:`mmemo.encoders.au`), read from the JSON that ``mmemo cues --json`` printed for
the CK+48 images (``--cues``; without it the images under ``../shared/data/ckplus48`` are
measured here). Default: the odd-numbered subjects, which no AU choice has used. For each AU
the table marks the classes where FACS prototypes expect it (EMFACS, as in
:data:`mmemo.encoders.describe.PROTOTYPE_AUS`, plus AU14 for contempt, AU23/AU17 for anger,
AU17 for sadness) and says whether it fires (presence >= 10 %) on at least one of them.
``exp``/``other`` = presence over all images of the expected classes / of the other classes
(an AU firing everywhere is no success); ``sep`` = the first minus the second. AU45 (blink)
on disgust is compared with the neutral-looking classes (CK+48 has no neutral class:
contempt and sadness, whose faces move least) and with happy and surprise (no squint).
``--fer-neutral`` adds the false-alarm rate per AU on FER2013 PublicTest neutral faces.
``EXPECTED`` also sets the thresholds of ``mmemo.encoders.au.TUNED_AUS`` on the even
subjects (``validate_au_ckplus.py --calibrate``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
EXPECTED = {
    "AU1": ("fear", "sadness", "surprise"), "AU2": ("fear", "surprise"),
    "AU4": ("anger", "fear", "sadness"), "AU5": ("anger", "fear", "surprise"),
    "AU6": ("happy",), "AU7": ("anger", "fear"), "AU9": ("disgust",), "AU10": ("disgust",),
    "AU12": ("happy",), "AU14": ("contempt",), "AU15": ("disgust", "sadness"),
    "AU17": ("anger", "sadness"), "AU20": ("fear",), "AU23": ("anger",),
    "AU25": ("fear", "surprise"), "AU26": ("fear", "surprise"), "AU45": (),
}  # fmt: skip
FIRES = 0.10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cues", type=Path, help="mmemo cues --json output for ckplus48")
    ap.add_argument("--subjects", choices=("odd", "even", "all"), default="odd")
    ap.add_argument(
        "--fer-neutral",
        action="store_true",
        help="also: presence on FER2013 PublicTest neutral faces (no AU choice used them)",
    )
    ap.add_argument("--save", type=Path, help="write the measured cues here (JSON lines)")
    args = ap.parse_args()

    if args.cues:
        records = [json.loads(x) for x in args.cues.read_text().splitlines() if x.strip()]
    else:
        from mmemo.encoders.pipeline import extract_cues

        files = sorted((DATA / "ckplus48").rglob("*.png"))
        if args.subjects != "all":
            parity = 1 if args.subjects == "odd" else 0
            files = [f for f in files if int(f.name[1:4]) % 2 == parity]
        records = [extract_cues(f, prosody=False).to_dict() for f in files]
        if args.save:
            args.save.write_text("".join(json.dumps(r) + "\n" for r in records))
    rates: dict[str, dict[str, list[int]]] = {c: {} for c in CLASSES}
    for rec in records:
        p = Path(rec["path"])
        subject = int(p.name[1:4])
        if args.subjects != "all" and subject % 2 != (1 if args.subjects == "odd" else 0):
            continue
        face = rec.get("face") or {}
        if face.get("empty") or not face.get("presence"):
            continue
        for au, on in zip(face["aus"], face["presence"][0]):
            rates[p.parent.name].setdefault(au, []).append(bool(on))
    n = {c: len(next(iter(rates[c].values()), [])) for c in CLASSES}
    print(f"CK+48 {args.subjects} subjects: images per class {n}")
    print("presence rate (%) per class; * = FACS expects the AU in that class")
    print(f"{'AU':<6}" + "".join(f"{c[:8]:>10}" for c in CLASSES)
          + f"{'exp':>6}{'other':>6}{'sep':>6}   fires where expected")  # fmt: skip
    ok_all = True
    aus = list(rates["happy"])

    def pooled(classes, au: str) -> float:
        v = [x for c in classes for x in rates[c].get(au, [])]
        return sum(v) / max(1, len(v))

    for au in aus:
        row, fires = "", False
        for c in CLASSES:
            rate = pooled((c,), au)
            mark = "*" if c in EXPECTED.get(au, ()) else " "
            fires |= mark == "*" and rate >= FIRES
            row += f"{100 * rate:>9.0f}{mark}"
        exp = EXPECTED.get(au, ())
        if exp:
            on, off = pooled(exp, au), pooled([c for c in CLASSES if c not in exp], au)
            row += f"{100 * on:>6.0f}{100 * off:>6.0f}{100 * (on - off):>+6.0f}"
        else:
            row += " " * 18
        verdict = "n/a" if not exp else ("yes" if fires else "NO")
        ok_all &= verdict != "NO"
        print(f"{au:<6}{row}   {verdict}")

    blink = pooled(("disgust",), "AU45")
    calm = pooled(("contempt", "sadness"), "AU45")
    still = max(pooled(("happy",), "AU45"), pooled(("surprise",), "AU45"))
    print(f"AU45 on disgust {100 * blink:.0f}% vs contempt+sadness {100 * calm:.0f}%: "
          f"{'ok' if blink <= calm else 'squinting read as a blink'}; "
          f"vs happy/surprise (max) {100 * still:.0f}%")  # fmt: skip
    print(f"every AU fires on a class where FACS expects it: {ok_all}")
    if args.fer_neutral:
        fer_neutral_presence()


def fer_neutral_presence() -> None:
    """Share of FER2013 PublicTest neutral faces showing each AU (false alarms)."""
    import numpy as np

    from mmemo.encoders.pipeline import extract_cues

    files = sorted((DATA / "fer2013" / "publictest" / "neutral").glob("*.jpg"))
    pres = []
    for f in files:
        face = extract_cues(f, prosody=False).to_dict().get("face") or {}
        if not face.get("empty") and face.get("presence"):
            pres.append(face["presence"][0])
            aus = face["aus"]
    rate = 100 * np.mean(pres, axis=0)
    print(f"FER2013 PublicTest neutral: {len(pres)}/{len(files)} faces measured; presence (%)")
    print("  " + "  ".join(f"{au} {r:.0f}" for au, r in zip(aus, rate)))


if __name__ == "__main__":
    main()
