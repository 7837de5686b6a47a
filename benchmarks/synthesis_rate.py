"""How often :mod:`mmemo.data.synthesis` writes a rationale for rows whose cues agree with the label.

Run:  python benchmarks/synthesis_rate.py [--cues FILE.jsonl ...]

Cues: what ``mmemo cues --json`` printed for RAVDESS clips and CK+48 images (``--cues``;
without it the script measures every 10th file of both corpora under ``../shared/data``).
A row's cues *agree* with its label when at least one cue of the label's prototype, as
the encoders' own rationale writer defines it (:data:`mmemo.encoders.describe.PROTOTYPE_AUS`,
after EMFACS, and :data:`~mmemo.encoders.describe.PROTOTYPE_PROSODY`, after Juslin & Laukka
2003), is present. This definition is independent of synthesis' own evidence table, which
also rejects rows with a contradicting cue. The rate is reported on the "training" rows
(RAVDESS actors 01-16, CK+ even-numbered subjects, the split the AU calibration uses) and on
all rows, for both cue forms the contract reads: the JSON dict and its ``description`` text.
The rows are then passed through :func:`mmemo.data.synthesis.fill_reasoning`, the function the
recipe's SFT stage calls when ``synthesis.enabled`` (emotion_thinker.yaml sets it).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from ptr_trust_tiny import DATA, corpus_label


def training_row(path: str) -> bool:
    p = Path(path)
    if "ravdess" in p.parts:
        return int(p.stem.split("-")[6]) <= 16
    return int(p.name[1:4]) % 2 == 0  # CK+48: S010_004_... -> subject 10


def agrees(rec: dict, label: str) -> bool:
    from mmemo.encoders.contract import parse_cues
    from mmemo.encoders.describe import PROTOTYPE_AUS, PROTOTYPE_PROSODY, canonical_label

    canon = canonical_label(label) or label
    p = parse_cues(rec)
    if set(PROTOTYPE_AUS.get(canon, ())) & set(p.present):
        return True
    return any(p.level(dim) == value for dim, value in PROTOTYPE_PROSODY.get(canon, ()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cues", type=Path, nargs="*", default=[], help="mmemo cues --json output")
    args = ap.parse_args()

    from mmemo.data.synthesis import fill_reasoning, synthesise_reasoning

    records = []
    for f in args.cues:
        records += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    if not records:
        from mmemo.encoders.pipeline import extract_cues

        files = sorted((DATA / "ravdess").rglob("*.flac"))[::10]
        files += sorted((DATA / "ckplus48").rglob("*.png"))[::10]
        records = [extract_cues(f).to_dict(contours=False) for f in files]
    counts: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    rows = []
    for rec in records:
        label = corpus_label(rec["path"])
        if label is None:
            continue
        corpus = "RAVDESS" if "ravdess" in rec["path"] else "CK+48"
        ok = agrees(rec, label)
        for split in ("train", "all") if training_row(rec["path"]) else ("all",):
            c = counts[(corpus, split)]
            c["rows"] += 1
            c["agree"] += ok
            if ok:
                c["json"] += synthesise_reasoning(label, rec) is not None
                c["text"] += synthesise_reasoning(label, rec["description"]) is not None
        if training_row(rec["path"]) and ok:
            rows.append({"id": Path(rec["path"]).stem, "emotion": label, "cues": rec})
    print(f"{'corpus':<8} {'rows':<6} {'n':>5} {'agree':>6} {'from JSON':>14} {'from text':>14}")
    for (corpus, split), c in sorted(counts.items()):
        n = max(1, c["agree"])
        print(
            f"{corpus:<8} {split:<6} {c['rows']:>5} {c['agree']:>6} "
            f"{c['json']:>5} ({100 * c['json'] / n:5.1f}%) {c['text']:>5} ({100 * c['text'] / n:5.1f}%)"
        )
    filled = fill_reasoning(rows, verbose=True)
    made = sum(r.get("reasoning_source") == "synthesis" for r in filled)
    print(
        f"fill_reasoning (the SFT stage's call) on the agreeing training rows: {made}/{len(rows)}"
    )
    print("example:", next(r["reasoning"] for r in filled if r.get("reasoning")))


if __name__ == "__main__":
    main()
