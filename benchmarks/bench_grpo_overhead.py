"""Step-time overhead of mmemo's GRPO trainer subclass over plain TRL ``GRPOTrainer``.

Run:  python benchmarks/bench_grpo_overhead.py [--steps 4] [--runs 5] [--completion 16]

Both trainers train the same tiny random-weight text model (``mmemo.models.tiny`` qwen2,
reloaded from the same folder for every run) on the same cue-text rows with the same
rewards (mmemo format + accuracy and a deterministic hash reward so groups vary) and the very
same ``GRPOConfig`` object that ``mmemo train`` builds (``GRPOStage.setup``). Completions are
forced to ``--completion`` tokens (``min_new_tokens``) so that both sides generate the same
amount. After one warm-up run each, the timed runs alternate mmemo / TRL; each run times
``trainer.train()`` over ``--steps`` optimizer steps (trainer construction and model loading
are not timed). Prints the median seconds per step of each and their ratio (target
<= 1.10). CPU, single process; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from pathlib import Path

CUE_ROWS = [
    ("happy", {"aus": {"AU6": 2.5, "AU12": 3.0}, "pitch_level": "high"}),
    ("sad", {"aus": {"AU1": 2.0, "AU15": 1.5}, "energy_level": "low"}),
    ("angry", {"aus": {"AU4": 3.0, "AU7": 2.0}, "energy_level": "high"}),
    ("neutral", {"aus": {"AU12": 0.2}, "pitch_level": "normal"}),
]


class HashReward:
    """Deterministic reward in [0, 1) from the completion text (varies within a group)."""

    __name__ = "hash_reward"

    def __call__(self, completions, **kwargs):
        return [(zlib.crc32(str(c).encode()) % 1000) / 1000.0 for c in completions]


def rows(n: int) -> list[dict]:
    out = []
    for i in range(n):
        label, cues = CUE_ROWS[i % len(CUE_ROWS)]
        out.append({"id": f"r{i}", "emotion": label, "emotions": [label], "cues": cues})
    return out


def make_rewards() -> list:
    from mmemo.rewards.outcome import get_accuracy_reward, get_format_reward

    return [
        (get_format_reward(mode="fullmatch"), 1.0),
        (get_accuracy_reward(column="emotion"), 1.0),
        (HashReward(), 1.0),
    ]


def grpo_args(steps: int, completion: int, batch: int, generations: int) -> dict:
    return {
        "max_steps": steps,
        "learning_rate": 1e-4,
        "num_generations": generations,
        "per_device_train_batch_size": batch,
        "gradient_accumulation_steps": 1,
        "max_completion_length": completion,
        "temperature": 1.0,
        "beta": 0.0,
        "save_strategy": "no",
        "generation_kwargs": {"min_new_tokens": completion},
        "disable_tqdm": True,
        "log_level": "warning",
    }


def mmemo_trainer(tiny: Path, data: list[dict], out: Path, args: dict):
    """The trainer exactly as ``mmemo train`` builds it for a cue-text recipe."""
    from mmemo.models.backbones import Backbone
    from mmemo.training.grpo import GRPOStage

    bb = Backbone.from_pretrained(tiny, inputs="cues", dtype="float32")
    stage = GRPOStage(bb, data, out, rewards=make_rewards(), args=args)
    stage.setup()
    return stage.trainer


def trl_trainer(tiny: Path, reference):
    """Plain TRL on the same model folder, dataset (prompts as mmemo renders them), rewards
    and the very same ``GRPOConfig`` object."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer

    from mmemo.models.backbones import Backbone

    bb = Backbone.from_pretrained(tiny, inputs="cues", dtype="float32")
    dataset = reference.train_dataset.map(lambda ex: {"prompt": bb.materialize(ex["prompt"])})
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype="float32")
    return GRPOTrainer(
        model=model,
        reward_funcs=[r for r, _ in make_rewards()],
        args=reference.args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )


class StepClock:
    """Trainer callback: wall seconds of each optimizer step (generation, rewards, loss,
    backward and optimizer update all happen between step begin and step end)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._t0 = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._t0)


def timed(trainer, steps: int) -> tuple[float, float]:
    """(median seconds per optimizer step, seconds of the whole ``train()`` per step)."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for quiet in (PrinterCallback, ProgressCallback):  # same for both; keeps the output short
        trainer.remove_callback(quiet)
    clock = type("Clock", (StepClock, TrainerCallback), {})()
    trainer.add_callback(clock)
    t0 = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - t0
    if trainer.state.global_step != steps or len(clock.times) != steps:
        raise RuntimeError(f"ran {trainer.state.global_step} steps, expected {steps}")
    return statistics.median(clock.times), elapsed / steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per timed run")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each trainer")
    ap.add_argument("--completion", type=int, default=16, help="completion tokens")
    ap.add_argument("--batch", type=int, default=8, help="per-device batch (completions)")
    ap.add_argument("--generations", type=int, default=4, help="G")
    opts = ap.parse_args()

    import torch

    from mmemo.models.tiny import build_tiny

    torch.set_num_threads(1)  # the machine is shared; one thread makes runs comparable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny = build_tiny("qwen2", root / "tiny")
        data = rows(16)
        args = grpo_args(opts.steps, opts.completion, opts.batch, opts.generations)

        def run(kind: str, i: int) -> tuple[float, float]:
            ours = mmemo_trainer(tiny, data, root / f"mm{i}", args)
            trainer = ours if kind == "mmemo" else trl_trainer(tiny, ours)
            return timed(trainer, opts.steps)

        run("mmemo", -1), run("trl", -1)  # warm-up: imports, kernels, caches
        times: dict[str, list[tuple[float, float]]] = {"mmemo": [], "trl": []}
        for i in range(opts.runs):
            for kind in ("mmemo", "trl") if i % 2 == 0 else ("trl", "mmemo"):
                times[kind].append(run(kind, i))
    print(
        f"GRPO step time, tiny qwen2, {opts.steps} steps x {opts.runs} runs, batch "
        f"{opts.batch}, G {opts.generations}, {opts.completion} completion tokens, CPU 1 thread"
    )
    for j, what in enumerate(("per step (callback)", "whole train() / steps")):
        med = {k: statistics.median(t[j] for t in v) for k, v in times.items()}
        print(f" {what}:")
        for kind in ("trl", "mmemo"):
            runs = " ".join(f"{t[j]:.3f}" for t in times[kind])
            print(f"  {kind:6s} median {med[kind]:.3f} s   runs: {runs}")
        ratio = med["mmemo"] / med["trl"]
        verdict = "ok" if ratio <= 1.10 else "MISSED"
        print(f"  ratio mmemo/trl = {ratio:.3f}  (target <= 1.10: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
