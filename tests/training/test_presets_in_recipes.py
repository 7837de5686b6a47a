"""A recipe can take its rewards and shapers from a preset by dotted path."""

from __future__ import annotations

import pytest

from mmemo.config import ConfigError, load_config
from mmemo.resources import recipes_dir
from mmemo.training.pipeline import build_rewards_and_shapers


def test_preset_rewards_and_shapers_come_first():
    cfg = {
        "reward_preset": {"_component_": "mmemo.rewards.presets.emotion_thinker_ptr"},
        "rewards": [
            {
                "_component_": "mmemo.rewards.length.get_length_band_reward",
                "lo": 5,
                "hi": 50,
                "weight": 0.5,
            }
        ],  # fmt: skip
    }
    rewards, shapers = build_rewards_and_shapers(cfg)
    names = [r.__name__ for r, _ in rewards]
    assert names[:2] == ["format_reward", "accuracy_reward"]
    assert names[-1] == "length_band_reward" and rewards[-1][1] == 0.5
    assert [type(s).__name__ for s in shapers] == ["TrustWeightedReasoning"]
    scores = rewards[0][0](["<think>x</think><answer>sad</answer>", "no tags"], emotion=["sad"] * 2)
    assert scores == [1.0, 0.0]


def test_recipe_with_only_a_preset_validates(tmp_path):
    text = (recipes_dir() / "facial_r1.yaml").read_text()
    cfg = load_config(recipes_dir() / "facial_r1.yaml")
    assert cfg["rewards"]
    path = tmp_path / "r.yaml"
    path.write_text(text)
    preset = load_config(
        path, ["rewards=[]", "reward_preset={_component_: mmemo.rewards.presets.facial_r1}"]
    )
    rewards, _ = build_rewards_and_shapers(preset)
    assert [r.__name__ for r, _ in rewards] == ["format_reward", "accuracy_reward", "au_f1_reward"]
    with pytest.raises(ConfigError, match="reward_preset"):
        load_config(path, ["rewards=[]"])
