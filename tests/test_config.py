from __future__ import annotations

import pytest

from mmemo.config import (
    ConfigError,
    apply_overrides,
    instantiate,
    load_config,
    parse_override,
    save_resolved,
    validate_recipe,
)
from mmemo.resources import recipes_dir


def test_parse_override_values():
    assert parse_override("grpo.learning_rate=1e-6") == (["grpo", "learning_rate"], 1e-6)
    assert parse_override("stages=[grpo]") == (["stages"], ["grpo"])
    assert parse_override("model.think=false") == (["model", "think"], False)
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("model.path")


def test_apply_overrides_lists_and_append():
    cfg = {"rewards": [{"_component_": "a.b", "weight": 1.0}], "grpo": {"beta": 0.0}}
    out = apply_overrides(
        cfg, ["rewards.0.weight=0.5", "rewards.1={_component_: c.d}", "grpo.beta=0.04", "new.key=3"]
    )
    assert out["rewards"][0]["weight"] == 0.5 and out["rewards"][1] == {"_component_": "c.d"}
    assert out["grpo"]["beta"] == 0.04 and out["new"] == {"key": 3}
    assert cfg["rewards"][0]["weight"] == 1.0  # input untouched
    with pytest.raises(ConfigError, match="rewards.5: index 5 out of range"):
        apply_overrides(cfg, ["rewards.5.weight=1"])


def test_instantiate_one_nesting_level_only():
    node = {
        "_component_": "collections.OrderedDict",
        "a": {"_component_": "fractions.Fraction", "numerator": 1, "denominator": 4},
    }
    assert float(instantiate(node)["a"]) == 0.25
    deep = {
        "_component_": "builtins.dict",
        "a": {"_component_": "builtins.dict", "b": {"_component_": "builtins.dict"}},
    }
    with pytest.raises(ConfigError, match="at most one level"):
        instantiate(deep)


def test_validation_names_each_bad_key():
    cfg = load_config(recipes_dir() / "cue_text.yaml")
    bad = apply_overrides(
        cfg,
        [
            "grpo.num_generatons=4",
            "rewards.0._component_=mmemo.rewards.nope",
            "stages=[sft, grpo, rl]",
            "colour=red",
        ],
    )
    with pytest.raises(ConfigError) as err:
        validate_recipe(bad)
    text = str(err.value)
    for key in ("grpo.num_generatons", "rewards[0]._component_", "stages[2]", "colour"):
        assert key in text


@pytest.mark.parametrize("path", sorted(recipes_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_recipe_validates_and_round_trips(path, tmp_path):
    text = path.read_text()
    assert text.startswith("# mmemo train "), "each recipe opens with its launch command"
    cfg = load_config(path, [f"output_dir={tmp_path}"])
    saved = save_resolved(cfg, tmp_path)
    assert load_config(saved) == cfg
