"""Every reward of every recipe and preset on completions written against real measured cues.

Run:  python benchmarks/reward_table.py [--cues FILE.jsonl ...] [--per-corpus 25]

Cues: what ``mmemo cues --json`` printed for RAVDESS clips and CK+48 images (pass the JSONL
files with ``--cues``; without them the script measures ``--per-corpus`` files of each corpus
under ``../shared/data`` itself). Samples are spread over the labels (RAVDESS by the emotion
code of the file name, CK+ by folder); CK+ images where no AU is present are skipped (there
is nothing to ground). Even samples pass the cues as the ``mmemo cues`` JSON dict, odd ones
as its ``description`` text, so both contract forms are scored.

For each sample, 8 completions are written from its own cues, 2 of each kind:

- ``grounded``: the ``mmemo cues`` description, or the present AUs by name and the level
  words; answer = the label;
- ``contradicting``: measured-but-absent AUs and flipped levels, arguing for (and answering)
  another emotion;
- ``spam``: denial lists ("no AU1, no AU2, ..., no AU99"; once short, once repeated ~60
  times) and a sprayed answer ("happy, sad, angry, fearful, neutral");
- ``malformed``: no tags, or unclosed think/answer tags.

Columns: ``emotion`` = the label, ``emotions`` = [label], ``aus`` = the AUs the encoder found
present (a stand-in for AU annotations, which these corpora lack), ``cues``. Rewards: those
of every ``recipes/*.yaml`` (built from the YAML) and of the presets ``facial_r1``,
``emotion_thinker_ptr``, ``affectgpt_r1``, ``cue_grounded`` (``videmo_tree``'s caption and
tree rewards need references these corpora do not have). Prints per reward: mean per kind,
std over all completions, and whether grounded > contradicting and grounded > spam; then
the weighted total of each recipe/preset the same way. The layout/length-only rewards
(format, label count, overlong) are only required to vary: a well-formed contradicting
completion is as well-formed as a grounded one.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ptr_trust_tiny import DATA, corpus_label

KINDS = ("grounded", "contradicting", "spam", "malformed")
OPPOSITE = {"happy": "sad", "sad": "happy", "angry": "calm", "fearful": "happy",
            "disgusted": "happy", "surprised": "sad", "neutral": "angry", "calm": "angry",
            "contempt": "happy"}  # fmt: skip
FLIP = {"high": "low", "low": "high", "normal": "high"}
LEVEL_WORDS = {
    "pitch_level": {"high": "high pitch", "low": "low pitch", "normal": "normal pitch"},
    "energy_level": {"high": "loud voice", "low": "soft voice", "normal": "normal loudness"},
    "speed_level": {"high": "fast speech", "low": "slow speech", "normal": "normal rate"},
}
SPRAY = "happy, sad, angry, fearful, neutral"


def load_records(files: list[Path], per_corpus: int) -> list[dict]:
    records = []
    for f in files:
        records += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    if records:
        return records
    from mmemo.encoders.pipeline import extract_cues

    paths = sorted((DATA / "ravdess").rglob("*.flac"))[::41][:per_corpus]
    paths += sorted((DATA / "ckplus48").rglob("*.png"))[::13][: 2 * per_corpus]
    return [extract_cues(p).to_dict(contours=False) for p in paths]


def select(records: list[dict], per_corpus: int) -> list[tuple[dict, str]]:
    from mmemo.encoders.contract import parse_cues

    by: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        label = corpus_label(rec["path"])
        if label is None:
            continue
        p = parse_cues(rec)
        if p.has_face and not p.present:
            continue
        corpus = "ravdess" if "ravdess" in rec["path"] else "ckplus"
        by.setdefault((corpus, label), []).append(rec)
    out = []
    for corpus in ("ravdess", "ckplus"):
        groups = [v for (c, _), v in sorted(by.items()) if c == corpus]
        i = 0
        while sum(1 for _, c in out if c == corpus) < per_corpus and any(groups):
            group = groups[i % len(groups)]
            if group:
                out.append((group.pop(len(group) // 2), corpus))
            i += 1
    return [(rec, corpus_label(rec["path"])) for rec, _ in out]


def completions(rec: dict, label: str) -> dict[str, list[str]]:
    from mmemo.encoders.contract import AU_NAMES, parse_cues

    p = parse_cues(rec)
    present = sorted(p.present, key=lambda a: int(a[2:]))
    absent = [a for a in AU_NAMES if p.measured and a in p.measured and a not in p.present]
    levels = {d: v for d, v in (p.voice or {}).items() if v and d in LEVEL_WORDS}
    named = [f"{a} ({AU_NAMES[a]})" for a in present]
    words = [LEVEL_WORDS[d][v] for d, v in levels.items()]
    if p.voice and p.voice.get("intonation"):
        words.append(f"intonation {p.voice['intonation']}")
    other = OPPOSITE.get(label, "happy")
    wrong_aus = [f"{a} ({AU_NAMES[a]})" for a in absent[:3]]
    wrong_levels = [LEVEL_WORDS[d][FLIP[v]] for d, v in levels.items()]
    denials = ", ".join(f"no {a}" for a in [*AU_NAMES, "AU99"])

    def wrap(think: str, answer: str) -> str:
        return f"<think>{think}</think>\n<answer>{answer}</answer>"

    grounded_b = "The face shows " + ", ".join(named) + ". " if named else ""
    grounded_b += ("The voice has " + ", ".join(words) + ". ") if words else ""
    wrong = "The face shows " + ", ".join(wrong_aus) + ". " if wrong_aus else ""
    wrong += ("The voice has " + ", ".join(wrong_levels) + ". ") if wrong_levels else ""
    return {
        "grounded": [
            wrap(f"{rec['description']} These cues point to {label}.", label),
            wrap(f"{grounded_b}So the speaker seems {label}.", label),
        ],
        "contradicting": [
            wrap(f"{wrong}These cues point to {other}.", other),
            wrap(f"I see {', '.join(absent[:3]) or 'AU12'}; {', '.join(wrong_levels)}.", other),
        ],
        "spam": [
            wrap(denials + ".", SPRAY),
            wrap("No AU4, no AU9, not loud, no AU99. " * 60, SPRAY),
        ],
        "malformed": [
            f"I think the person is {label} because of the face.",
            f"<think>{grounded_b}<answer>{label}",
        ],
    }


def reward_sets() -> dict[str, list[tuple[object, float]]]:
    from mmemo.config import instantiate, load_config
    from mmemo.resources import recipes_dir
    from mmemo.rewards import presets

    sets: dict[str, list[tuple[object, float]]] = {}
    for path in sorted(recipes_dir().glob("*.yaml")):
        cfg = load_config(path)
        sets[f"recipe:{path.stem}"] = [
            (instantiate(node, drop=("weight",)), float(node.get("weight", 1.0)))
            for node in cfg["rewards"]
        ]
    for name in ("facial_r1", "emotion_thinker_ptr", "affectgpt_r1", "cue_grounded"):
        sets[f"preset:{name}"] = [(r, w) for r, w, _ in getattr(presets, name)().components]
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cues", type=Path, nargs="*", default=[], help="mmemo cues --json output")
    ap.add_argument("--per-corpus", type=int, default=25)
    args = ap.parse_args()

    samples = select(load_records(args.cues, args.per_corpus), args.per_corpus)
    texts, kinds, cols = [], [], {"emotion": [], "emotions": [], "aus": [], "cues": []}
    from mmemo.encoders.contract import parse_cues

    for n, (rec, label) in enumerate(samples):
        present = sorted(parse_cues(rec).present, key=lambda a: int(a[2:]))
        for kind, items in completions(rec, label).items():
            for text in items:
                texts.append(text)
                kinds.append(kind)
                cols["emotion"].append(label)
                cols["emotions"].append([label])
                cols["aus"].append(present)
                cols["cues"].append(rec if n % 2 == 0 else rec["description"])
    n_rav = sum("ravdess" in r["path"] for r, _ in samples)
    print(
        f"{len(samples)} samples ({n_rav} RAVDESS, {len(samples) - n_rav} CK+48), "
        f"{len(texts)} completions ({len(texts) // len(KINDS)} per kind)"
    )
    ok_all = True
    header = f"{'set':<28} {'reward':<28}" + "".join(f"{k[:8]:>9}" for k in KINDS)
    print(header + f"{'std':>7}  g>c  g>s")
    for set_name, rewards in reward_sets().items():
        totals = [0.0] * len(texts)
        for reward, weight in rewards:
            values = reward(texts, **cols)
            nums = [v for v in values if v is not None]
            for i, v in enumerate(values):
                totals[i] += weight * (v or 0.0)
            ok_all &= _row(set_name, reward.__name__, values, kinds, nums)
        _row(set_name, f"TOTAL (weighted, n={len(rewards)})", totals, kinds, totals)
    print(
        "every reward: spread > 0; grounded > contradicting and > spam except the "
        f"layout/length-only rewards {FORM_ONLY}: {ok_all}"
    )


# rewards of the layout/length only: well-formed contradicting or spam completions may tie
FORM_ONLY = ("format_reward", "label_count_penalty", "soft_overlong_reward")


def _row(set_name: str, name: str, values: list, kinds: list[str], nums: list[float]) -> bool:
    means = {}
    for kind in KINDS:
        vals = [v for v, k in zip(values, kinds) if k == kind and v is not None]
        means[kind] = statistics.fmean(vals) if vals else float("nan")
    std = statistics.pstdev(nums) if len(nums) > 1 else 0.0
    gc = means["grounded"] > means["contradicting"]
    gs = means["grounded"] > means["spam"]
    cells = "".join(f"{means[k]:>9.3f}" for k in KINDS)
    print(
        f"{set_name:<28} {name:<28}{cells}{std:>7.3f}  {'yes' if gc else 'no ':<4} {'yes' if gs else 'no'}"
    )
    return std > 0 and (name in FORM_ONLY or (gs and gc))


if __name__ == "__main__":
    main()
