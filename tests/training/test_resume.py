"""Kill-and-resume: an interrupted run resumed from its last checkpoint ends where an
uninterrupted run with the same seed ends."""

from __future__ import annotations

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir


class Interrupt(Exception):
    pass


def _cfg(tiny, manifest, out):
    return load_config(
        recipes_dir() / "cue_text.yaml",
        [
            f"model.path={tiny('qwen2')}",
            f"data.train={manifest}",
            f"output_dir={out}",
            "stages=[sft]",
            "sft.max_steps=4",
            "sft.learning_rate=1e-3",
            "sft.per_device_train_batch_size=2",
            "sft.save_steps=1",
        ],
    )


def test_interrupted_sft_resumes_to_the_same_weights(tiny, manifest, tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from mmemo.training.pipeline import run_recipe

    class KillAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise Interrupt

    ref = run_recipe(_cfg(tiny, manifest, tmp_path / "a"))
    cfg = _cfg(tiny, manifest, tmp_path / "b")
    with pytest.raises(Interrupt):
        run_recipe(cfg, callbacks=[KillAt()])
    assert (tmp_path / "b" / "sft" / "checkpoint-2").is_dir()
    assert not (tmp_path / "b" / "sft" / "final").exists()
    resumed = run_recipe(cfg)  # picks up checkpoint-2
    a, b = load_file(str(ref / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)
    # and a finished stage is skipped on the next rerun
    assert run_recipe(cfg) == resumed


def _grpo_cfg(model_dir, manifest, out):
    # the recipe's own rewards only (format + accuracy), from its SFT stage (conftest.py)
    return load_config(
        recipes_dir() / "cue_text.yaml",
        [
            f"model.path={model_dir}",
            f"data.train={manifest}",
            f"output_dir={out}",
            "model.dtype=float32",
            "stages=[grpo]",
            "grpo.max_steps=4",
            "grpo.learning_rate=1e-2",
            "grpo.num_generations=4",
            "grpo.per_device_train_batch_size=4",
            "grpo.max_completion_length=24",  # the 16-token template and its end token fit
            "grpo.temperature=1.0",
            "grpo.save_steps=1",
        ],
    )


def test_interrupted_grpo_resumes_to_the_same_weights(sft_cue_text, manifest, tmp_path):
    import json

    import torch
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from mmemo.training.pipeline import run_recipe

    class KillAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise Interrupt

    ref = run_recipe(_grpo_cfg(sft_cue_text, manifest, tmp_path / "a"))
    cfg = _grpo_cfg(sft_cue_text, manifest, tmp_path / "b")
    with pytest.raises(Interrupt):
        run_recipe(cfg, callbacks=[KillAt()])
    assert (tmp_path / "b" / "grpo" / "checkpoint-2").is_dir()
    assert not (tmp_path / "b" / "grpo" / "final").exists()
    resumed = run_recipe(cfg)  # picks up checkpoint-2: generation RNG and step restored
    a, b = load_file(str(ref / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    # a trajectory to reproduce: the real rewards varied, so GRPO moved the SFT weights
    from tests.training.test_recipes import check_rewards_vary

    check_rewards_vary(json.loads((ref / "mmemo_stage_done.json").read_text())["log_history"], 4)
    start = load_file(str(sft_cue_text / "model.safetensors"))
    assert any(not torch.equal(a[k], start[k]) for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
    logs = [json.loads((p / "mmemo_stage_done.json").read_text()) for p in (ref, resumed)]
    rewards = [[e["reward"] for e in info["log_history"] if "reward" in e] for info in logs]
    assert rewards[0][-1] == pytest.approx(rewards[1][-1], rel=1e-4)
