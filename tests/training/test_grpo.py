"""The GRPOTrainer subclass: group layout of the gathered reward matrix, and media towers
running with gradients in the loss forward (what TRL 1.16 alone does not do).

These are trainer-mechanics tests on random-weight models, so they score with the test
rewards of ``tests.models.tiny_helpers`` (no recipe reward is involved, none is masked):
``IdReward`` marks which prompt a row belongs to, ``HashReward`` gives completions different
rewards so that a GRPO step has non-zero advantages and therefore gradients. Each test asserts
that precondition, so a run whose rewards happened to be constant fails instead of passing
the "no update" control for the wrong reason. Whether a recipe's own rewards vary and train
is checked in ``test_recipes.py``, with no helper reward."""

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
    # the hash column was not 0.5 already, so the logged 0.5 below comes from the edit
    assert not all(torch.all(r[:, 1] == 0.5) for r, _, _ in seen)
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
    parameters the step changed). Asserts the step had non-zero advantages and updated the
    language model, so "the tower did not change" can only mean no gradient reached it."""
    bb = Backbone.from_pretrained(tiny(family), inputs="media")
    rows = [{k: v for k, v in r.items() if k not in drop} for r in read_rows(manifest)]
    module = _tower(bb.model, tower)
    calls = []
    module.register_forward_hook(lambda m, i, o: calls.append(torch.is_grad_enabled()))
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    head = bb.model.get_input_embeddings().weight
    head_before = head.detach().clone()
    stage = GRPOStage(
        bb, rows, tmp_path, rewards=[(HashReward(), 1.0)], args=ARGS, carry_media=carry_media
    )
    stage.setup()
    stage.train(resume=False)
    (step,) = [e for e in stage.trainer.state.log_history if "frac_reward_zero_std" in e]
    assert step["frac_reward_zero_std"] < 1, f"rewards constant in every group: {step}"
    assert not torch.equal(head.detach(), head_before), "the step updated nothing at all"
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
