"""The GRPOTrainer subclass: group layout of the gathered reward matrix, and media towers
running with gradients in the loss forward (what TRL 1.16 alone does not do)."""

from __future__ import annotations

import pytest
import torch

from mmemo.models.backbones import Backbone
from mmemo.training.common import read_rows
from mmemo.training.grpo import GRPOStage, apply_shapers
from tests.models.tiny_helpers import HashReward, IdReward

ARGS = {
    "max_steps": 1,
    "learning_rate": 1e-2,
    "num_generations": 4,
    "per_device_train_batch_size": 4,
    "max_completion_length": 8,
    "temperature": 1.0,
    "save_strategy": "no",
}


def test_apply_shapers_checks_group_multiple():
    with pytest.raises(RuntimeError, match="multiple of G"):
        apply_shapers(torch.zeros(6, 1), [lambda r, n, **k: None], 4, ["a"], None)


def test_reward_matrix_rows_are_grouped_by_row_div_g(tiny, manifest, tmp_path):
    seen = []

    def recorder(rewards, reward_names, *, group_size, trainer_state=None, lengths=None):
        assert len(lengths) == rewards.shape[0]
        seen.append((rewards.clone(), group_size, reward_names))
        rewards[:, 1] = 0.5  # in-place edit must reach TRL's advantages

    bb = Backbone.from_pretrained(tiny("qwen2"), inputs="cues")
    rows = read_rows(manifest)
    stage = GRPOStage(
        bb,
        rows,
        tmp_path,
        rewards=[(IdReward(), 1.0), (HashReward(), 1.0)],
        args={**ARGS, "max_steps": 2},
        shapers=[recorder],
    )
    stage.setup()
    stage.train(resume=False)
    assert len(seen) == 2
    for rewards, g, names in seen:
        assert names == ["id_reward", "hash_reward"]
        assert rewards.shape == (4, 2) and g == 4
        ids = rewards[:, 0]
        for start in range(0, rewards.shape[0], g):  # row // G is one prompt
            assert torch.all(ids[start : start + g] == ids[start])
    logs = stage.trainer.state.log_history
    # after the shaper, hash_reward is the constant 0.5 the recorder wrote
    assert [e["rewards/hash_reward/mean"] for e in logs if "rewards/hash_reward/mean" in e] == [
        0.5,
        0.5,
    ]


def _tower(model, name):
    return next(m for n, m in model.named_modules() if n.split(".")[-1] == name)


def _run_with_tower_hook(family, tower, drop, tiny, manifest, tmp_path, carry_media=True):
    """One GRPO step; returns (grad-enabled flags of every tower call, names of tower
    parameters the step changed)."""
    bb = Backbone.from_pretrained(tiny(family), inputs="media")
    rows = [{k: v for k, v in r.items() if k not in drop} for r in read_rows(manifest)]
    module = _tower(bb.model, tower)
    calls = []
    module.register_forward_hook(lambda m, i, o: calls.append(torch.is_grad_enabled()))
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    stage = GRPOStage(
        bb, rows, tmp_path, rewards=[(HashReward(), 1.0)], args=ARGS, carry_media=carry_media
    )
    stage.setup()
    stage.train(resume=False)
    changed = [n for n, p in module.named_parameters() if not torch.equal(p.detach(), before[n])]
    return calls, changed


TOWERS = [
    ("qwen2_audio", "audio_tower", ()),
    ("qwen2_5_omni_thinker", "audio_tower", ("image", "video")),
    ("qwen2_5_vl", "visual", ("image",)),  # video frames only
]


@pytest.mark.parametrize("family,tower,drop", TOWERS)
def test_media_tower_runs_with_gradients_in_loss_forward(
    family, tower, drop, tiny, manifest, tmp_path
):
    calls, changed = _run_with_tower_hook(family, tower, drop, tiny, manifest, tmp_path)
    assert any(calls), f"{tower} never ran with gradients (only in generation)"
    assert changed, f"no {tower} parameter was updated by the GRPO step"


@pytest.mark.parametrize("family,tower,drop", TOWERS)
def test_media_tower_skipped_in_loss_forward_without_feature_carrying(
    family, tower, drop, tiny, manifest, tmp_path
):
    """Negative control: TRL's own loss forward (carry_media=False) never runs the tower with
    gradients, so the positive test above can fail; the tower still runs in generation,
    so the hook itself is live."""
    calls, changed = _run_with_tower_hook(
        family, tower, drop, tiny, manifest, tmp_path, carry_media=False
    )
    assert calls, f"{tower} never ran at all: the hook or the prompt media is broken"
    assert not any(calls), f"{tower} ran with gradients although no features were carried"
    assert not changed, f"{tower} parameters changed without features in the loss forward"


def test_qwen2_5_vl_image_grpo_step_trains_the_vision_tower(tiny, manifest, tmp_path):
    """The Qwen2.5-VL image path (Facial-R1 rows: an image, no video or audio) through a
    GRPO step: the vision tower runs with gradients in the loss forward and is updated."""
    calls, changed = _run_with_tower_hook(
        "qwen2_5_vl", "visual", ("video", "audio"), tiny, manifest, tmp_path
    )
    assert any(calls) and changed
