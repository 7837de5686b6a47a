"""Two processes on CPU under the shipped ``recipes/accelerate/ddp.yaml`` (gloo): both ranks
train both stages, the group shapers see whole groups after the gather, the SFT -> GRPO
hand-off never reads a half-written stage (saving is slowed on purpose), rank 0 alone writes,
and the saved model loads. ``--mixed_precision no``: the shipped config asks for bf16, which
CPUs refuse; ``--cpu`` would start a single process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmemo.resources import recipes_dir

REPO = Path(__file__).resolve().parents[2]


def test_two_process_recipe_run(tiny, manifest, tmp_path):
    from mmemo.models.backbones import Backbone

    out = tmp_path / "run"
    record = tmp_path / "groups.jsonl"
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(recipes_dir() / "accelerate" / "ddp.yaml"),
        "--num_processes", "2", "--mixed_precision", "no",
        str(REPO / "tests" / "training" / "ddp_entry.py"), "train", "cue_text",
        f"model.path={tiny('llama')}", f"data.train={manifest}", f"output_dir={out}",
        "sft.max_steps=2", "sft.per_device_train_batch_size=1", "sft.learning_rate=1e-3",
        "grpo.max_steps=2", "grpo.num_generations=4", "grpo.per_device_train_batch_size=4",
        "grpo.max_completion_length=8", "grpo.temperature=1.0", "grpo.learning_rate=1e-3",
        "rewards.2={_component_: tests.models.tiny_helpers.get_id_reward, weight: 1.0}",
        "reward_shapers.0={_component_: tests.training.ddp_entry.get_group_recorder}",
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MMEMO_TEST_RECORD": str(record),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert log.count("== stage sft:") == 1 and log.count("== stage grpo:") == 1  # rank 0 talks
    assert "OSError" not in log and "no model.safetensors" not in log

    recs = [json.loads(line) for line in record.read_text().splitlines()]
    assert {r["rank"] for r in recs} == {0, 1}, "a rank never scored its rollouts"
    for r in recs:  # 2 ranks x 4 rollouts, gathered: 2 whole groups of G=4 on every rank
        assert r["rows"] == 8 and r["group_size"] == 4
        ids = r["ids"]
        groups = [ids[i : i + 4] for i in range(0, 8, 4)]
        assert all(len(set(g)) == 1 for g in groups), f"a group mixes prompts: {ids}"
    for stage in ("sft", "grpo"):
        final = out / stage / "final"
        assert (final / "mmemo_stage_done.json").is_file()
        assert (final / "saved_by_rank").read_text() == "0"
        assert json.loads((final / "mmemo_stage_done.json").read_text())["global_step"] == 2
        assert not (out / stage / "final.partial").exists()
    bb = Backbone.from_pretrained(out / "grpo" / "final")
    assert (
        bb.family == "causal_lm"
        and len(bb.generate([{"id": "x", "cues": "pitch high"}], max_new_tokens=2)) == 1
    )
