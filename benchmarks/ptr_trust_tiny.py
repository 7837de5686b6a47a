"""A real GRPO-PTR run on a tiny backbone: does the logged trust factor ever fall below 1?

Run:  python benchmarks/ptr_trust_tiny.py [--cues FILE.jsonl ...] [--sft-steps 150]
      [--grpo-steps 12] [--outcome emotion_similarity_reward|accuracy_reward]

Rows: real cues measured by ``mmemo cues --json`` on RAVDESS clips and CK+48 images (pass the
JSONL files it printed with ``--cues``; without them the script measures 24 files of
``../shared/data`` itself), labelled from the corpus file names, kept for the labels with
close neighbours on the valence/arousal plane (angry/fearful/disgusted, happy/surprised) and
only where :mod:`mmemo.data.synthesis` writes a rationale. The ``cue_text`` recipe is run
through :func:`mmemo.training.pipeline.run_recipe` on the tiny random-weight ``qwen2`` model
(``mmemo.models.tiny``): an SFT stage on the synthesised rationales (``synthesis.enabled``),
then GRPO with format + accuracy + cue grounding, the graded outcome
``emotion_similarity_reward`` (weight 0) and the ``TrustWeightedReasoning`` shaper of the
emotion_thinker recipe reading ``--outcome``. Prints the shaper's logged trust, mu_c, mu_w
and gated fraction per GRPO step, and the minimum trust. CPU, nothing downloaded; a few
minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
           "06": "fearful", "07": "disgusted", "08": "surprised"}  # fmt: skip
CKPLUS = {"anger": "angry", "contempt": "contempt", "disgust": "disgusted", "fear": "fearful",
          "happy": "happy", "sadness": "sad", "surprise": "surprised"}  # fmt: skip
KEEP = ("angry", "fearful", "disgusted", "happy", "surprised")


def corpus_label(path: str) -> str | None:
    """The label a RAVDESS or CK+48 file name encodes (``None`` for other files)."""
    p = Path(path)
    if "ravdess" in p.parts:
        return RAVDESS.get(p.name.split("-")[2])
    if "ckplus48" in p.parts:
        return CKPLUS.get(p.parent.name)
    return None


def measure(n: int) -> list[dict]:
    """``mmemo cues`` JSON (``MediaCues.to_dict``) of ``n`` corpus files."""
    from mmemo.encoders.pipeline import extract_cues

    files = sorted((DATA / "ravdess").rglob("*.flac"))[::97][: n // 2]
    files += sorted((DATA / "ckplus48").rglob("*.png"))[::61][: n - len(files)]
    return [extract_cues(f).to_dict(contours=False) for f in files]


def load_rows(cue_files: list[Path], per_label: int, measure_n: int) -> list[dict]:
    from mmemo.data.synthesis import synthesise_reasoning

    records = []
    for f in cue_files:
        records += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    if not records:
        records = measure(measure_n)
    rows, counts = [], dict.fromkeys(KEEP, 0)
    for rec in records:
        label = corpus_label(rec["path"])
        if label not in KEEP or counts[label] >= per_label:
            continue
        if synthesise_reasoning(label, rec) is None:
            continue
        counts[label] += 1
        # the JSON string `mmemo cues --json` printed (a nested dict would become an Arrow struct)
        rows.append({"id": Path(rec["path"]).stem, "emotion": label, "cues": json.dumps(rec)})
    print(f"rows: {len(rows)} {counts}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cues", type=Path, nargs="*", default=[], help="mmemo cues --json output")
    ap.add_argument("--per-label", type=int, default=3)
    ap.add_argument("--measure", type=int, default=24, help="files to measure without --cues")
    ap.add_argument("--sft-steps", type=int, default=150)
    ap.add_argument("--grpo-steps", type=int, default=12)
    ap.add_argument("--outcome", default="emotion_similarity_reward")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from mmemo.config import load_config
    from mmemo.models.tiny import build_tiny
    from mmemo.resources import recipes_dir
    from mmemo.training.pipeline import run_recipe

    rows = load_rows(args.cues, args.per_label, args.measure)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = root / "train.jsonl"
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
        model = build_tiny("qwen2", root / "tiny", seed=args.seed)
        cfg = load_config(
            recipes_dir() / "cue_text.yaml",
            [
                f"model.path={model}", f"data.train={manifest}", f"output_dir={root / 'run'}",
                f"seed={args.seed}", "synthesis.enabled=true",
                f"sft.max_steps={args.sft_steps}", "sft.learning_rate=3e-3",
                "sft.per_device_train_batch_size=4", f"grpo.max_steps={args.grpo_steps}",
                "grpo.learning_rate=1e-4", "grpo.num_generations=4",
                "grpo.per_device_train_batch_size=8", "grpo.max_completion_length=96",
                "grpo.temperature=1.0",
            ],
        )  # fmt: skip
        cfg["rewards"] = [
            {"_component_": "mmemo.rewards.outcome.get_format_reward", "weight": 1.0},
            {"_component_": "mmemo.rewards.outcome.get_accuracy_reward", "weight": 1.0},
            {"_component_": "mmemo.rewards.grounding.get_cue_grounding_reward", "weight": 1.0},
            {"_component_": "mmemo.rewards.outcome.get_emotion_similarity_reward", "weight": 0.0},
        ]
        cfg["reward_shapers"] = [
            {
                "_component_": "mmemo.rewards.shapers.TrustWeightedReasoning",
                "outcome": args.outcome,
                "reasoning": "cue_grounding_reward",
                "t_on": 0.0,
                "t_full": 0.5,
            }
        ]
        final = run_recipe(cfg)
        sft = json.loads((root / "run" / "sft" / "final" / "mmemo_stage_done.json").read_text())
        info = json.loads((final / "mmemo_stage_done.json").read_text())
    losses = [e["loss"] for e in sft["log_history"] if "loss" in e]
    print(f"SFT loss: first {losses[0]:.3f}, last {losses[-1]:.3f} ({len(losses)} logged)")
    key = "shapers/TrustWeightedReasoning/"
    print("step  trust  mu_c    mu_w    gated  format  accuracy  grounding  similarity")
    trusts = []
    for e in info["log_history"]:
        if key + "trust" not in e:
            continue
        trusts.append(e[key + "trust"])
        print(
            f"{e.get('step', len(trusts)):>4}  {e[key + 'trust']:.3f}  {e[key + 'mu_c']:+.3f}  "
            f"{e[key + 'mu_w']:+.3f}  {e[key + 'gated']:.2f}   "
            f"{e.get('rewards/format_reward/mean', float('nan')):.2f}    "
            f"{e.get('rewards/accuracy_reward/mean', float('nan')):.2f}      "
            f"{e.get('rewards/cue_grounding_reward/mean', float('nan')):+.2f}      "
            f"{e.get('rewards/emotion_similarity_reward/mean', float('nan')):.2f}"
        )
    print(f"outcome column: {args.outcome}; steps logged: {len(trusts)}")
    print(f"min trust {min(trusts):.3f}; steps with trust < 1: {sum(t < 1 for t in trusts)}")


if __name__ == "__main__":
    main()
