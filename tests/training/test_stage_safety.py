"""Stage hand-off safety: a finished stage asked for more steps is refused (and the saved
recipe is left alone), a save interrupted half-way leaves no ``final``, the LoRA
initialisation is seeded, and checkpoints are not written every step by default."""

from __future__ import annotations

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir


def _cfg(tiny, manifest, out, *extra):
    return load_config(
        recipes_dir() / "cue_text.yaml",
        [
            f"model.path={tiny('qwen2')}",
            f"data.train={manifest}",
            f"output_dir={out}",
            "stages=[sft]",
            "sft.max_steps=2",
            "sft.learning_rate=1e-3",
            "sft.per_device_train_batch_size=2",
            *extra,
        ],
    )


def test_more_steps_for_a_finished_stage_is_refused(tiny, manifest, tmp_path):
    from mmemo.training.pipeline import run_recipe

    run_recipe(_cfg(tiny, manifest, tmp_path))
    saved = (tmp_path / "resolved_config.yaml").read_text()
    with pytest.raises(ValueError, match=r"stage sft already finished.*max_steps 2 -> 3"):
        run_recipe(_cfg(tiny, manifest, tmp_path, "sft.max_steps=3"))
    assert (tmp_path / "resolved_config.yaml").read_text() == saved  # not rewritten
    run_recipe(_cfg(tiny, manifest, tmp_path))  # the same length: skipped, no error


def test_interrupted_save_leaves_no_final(tiny, manifest, tmp_path, monkeypatch):
    from mmemo.training import common
    from mmemo.training.pipeline import run_recipe

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # killed while the processor files are written

    from mmemo.models.backbones import Backbone

    monkeypatch.setattr(Backbone, "save_settings", crash)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(_cfg(tiny, manifest, tmp_path))
    assert not (tmp_path / "sft" / "final").exists()
    assert (tmp_path / "sft" / "final.partial" / "model.safetensors").is_file()
    monkeypatch.undo()
    final = run_recipe(_cfg(tiny, manifest, tmp_path))  # a rerun completes the stage
    assert common.stage_done(final) and not (tmp_path / "sft" / "final.partial").exists()


def test_lora_init_is_seeded(tiny):
    import torch

    from mmemo.models.backbones import Backbone
    from mmemo.training.common import apply_lora

    lora = {"enabled": True, "r": 4, "alpha": 8, "target_modules": "all-linear"}

    def adapter(seed):
        torch.manual_seed(1234 + seed)  # whatever the global RNG holds before
        model = apply_lora(Backbone.from_pretrained(tiny("qwen2")).model, lora, seed=0)
        return {k: v.clone() for k, v in model.state_dict().items() if "lora_A" in k}

    a, b = adapter(0), adapter(1)
    assert a and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_defaults_are_sane(tmp_path):
    from mmemo.training.grpo import grpo_config
    from mmemo.training.sft import sft_config

    for config in (sft_config({}, tmp_path), grpo_config({}, tmp_path, [1.0])):
        assert config.save_steps == 100 and config.save_total_limit == 2
    assert sft_config({"save_steps": 7}, tmp_path).save_steps == 7
