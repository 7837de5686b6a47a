"""Every shipped recipe runs on CPU with its tiny backbone, scored by the recipe's own rewards
only (no helper reward): a 2+2-step mechanics smoke for all, and, for every recipe, a run
(its real SFT stage, then its real GRPO stage) whose real rewards must vary within a GRPO group
and whose GRPO update must change the weights (cue_text and video_emotion by default, the
others under ``-m slow``). :func:`check_rewards_vary` is the check; a run whose recipe rewards
are made constant must fail it (``test_constant_recipe_rewards_fail_the_check``)."""

from __future__ import annotations

import json

import pytest

from mmemo.config import load_config
from mmemo.resources import recipes_dir

RECIPES = {
    "cue_text": "qwen2",
    "facial_r1": "qwen2_5_vl",
    "emotion_thinker": "qwen2_audio",
    "video_emotion": "qwen2_5_vl",
    "affectgpt_r1": "qwen2_5_omni_thinker",
}


def _face_reasoning(row: dict) -> dict:
    """Facial-R1 SFT targets reason from the face: the row's annotated AUs (the recipe asks
    for the active AUs to be named in the reasoning, and its AU-F1 reward reads them there;
    the shared rows' voice clause names none, so that reward would stay -1)."""
    return {**row, "reasoning": " ".join(row["aus"]) if row["aus"] else "face relaxed"}


# Recipes whose smoke rows differ from the shared manifest's (same media, labels and cues).
SMOKE_ROWS = {"facial_r1": _face_reasoning}


def smoke_manifest(recipe: str, manifest):
    """The manifest a recipe's smoke runs read: the shared one, or a sibling file (media
    paths stay relative) with the rows edited by ``SMOKE_ROWS[recipe]``."""
    edit = SMOKE_ROWS.get(recipe)
    if edit is None:
        return manifest
    path = manifest.with_name(f"{recipe}_smoke.jsonl")
    rows = [edit(json.loads(line)) for line in manifest.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def smoke_overrides(family_dir, manifest, out, sft_steps: int = 2) -> list[str]:
    return [
        f"model.path={family_dir}",
        f"data.train={manifest}",
        f"output_dir={out}",
        "model.dtype=float32",
        "seed=0",
        f"sft.max_steps={sft_steps}",
        "sft.learning_rate=5e-3",
        "sft.lr_scheduler_type=constant",
        "sft.gradient_accumulation_steps=1",
        "sft.per_device_train_batch_size=4",
        "grpo.max_steps=2",
        "grpo.learning_rate=1e-4",
        "grpo.gradient_accumulation_steps=1",
        "grpo.num_generations=4",
        "grpo.per_device_train_batch_size=4",
        "grpo.max_completion_length=24",
        "grpo.temperature=1.0",
        # the recipes' real-size pixel budgets would blow tiny test images up to 1280 tokens
        "model.min_pixels=3136",
        "model.max_pixels=12544",
        "model.video_min_pixels=3136",
        "model.video_max_pixels=12544",
    ]


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _changed(a, b) -> int:
    import torch

    return sum(not torch.equal(a[k], b[k]) for k in a if k in b)


def _run(recipe, tiny, manifest, tmp_path, sft_steps, extra=()):
    from mmemo.training.pipeline import run_recipe

    family_dir = tiny(RECIPES[recipe])
    out = tmp_path / "run"
    path = recipes_dir() / f"{recipe}.yaml"
    rows = smoke_manifest(recipe, manifest)
    cfg = load_config(path, [*smoke_overrides(family_dir, rows, out, sft_steps), *extra])
    final = run_recipe(cfg)
    assert final == out / "grpo" / "final"
    info = json.loads((final / "mmemo_stage_done.json").read_text())
    return cfg, family_dir, out, final, info


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_recipe_smoke(recipe, tiny, manifest, tmp_path):
    """2 SFT + 2 GRPO steps with the recipe's own rewards only: the stages run, log every
    reward and shaper, save and reload. After 2 SFT steps the tiny model writes random text,
    on which the real rewards are constant, so no GRPO update is expected here: that is
    what :func:`_rewards_vary_and_train` checks."""
    cfg, family_dir, out, final, info = _run(recipe, tiny, manifest, tmp_path, sft_steps=2)
    assert _changed(_tensors(family_dir), _tensors(out / "sft" / "final")) > 0, (
        "SFT changed nothing"
    )
    assert info["global_step"] == 2
    logged = set().union(*[set(entry) for entry in info["log_history"]])
    from mmemo.config import instantiate

    for node in cfg["rewards"]:
        name = instantiate(node, drop=("weight",)).__name__
        assert f"rewards/{name}/mean" in logged, f"{name} not logged"
    for node in cfg.get("reward_shapers") or []:
        cls = node["_component_"].rsplit(".", 1)[-1]
        assert any(k.startswith(f"shapers/{cls}/") for k in logged), f"{cls} not logged"
    sft_info = json.loads((out / "sft" / "final" / "mmemo_stage_done.json").read_text())
    assert [e["loss"] for e in sft_info["log_history"] if "loss" in e][0] > 0

    # the resolved config saved with the outputs reloads to the same recipe
    assert load_config(out / "resolved_config.yaml") == cfg


# What a learning run changes on top of smoke_overrides: 60 constant-rate SFT steps on the 4
# rows (the loss is then near its floor, the label guess; at 40 a tiny Gemma still garbled the
# template on every completion once the cue text changed), and GRPO groups of 8 (the media
# recipes' own G), two prompts per step: the spread then rests on the label guess (1 in 4
# correct), and all 4 groups of the run come out all-right or all-wrong with probability
# ((3/4)^8 + (1/4)^8)^4 ~ 1e-4, so an unrelated change of the smoke data will not turn it red.
LEARN_SFT_STEPS = 60
LEARN_OVERRIDES = [
    # LoRA trains adapters on the linear layers and leaves the norms and the (tied) output
    # embedding as built. In a random-weight tiny model those rows have norm ~0.16 and the
    # final norm scales hidden states to norm 8, so no logit can exceed ~1.3 and the SFT loss
    # cannot go below ~5.0 nats/token (measured on emotion_thinker: 6.28 -> 5.04 in 40 steps,
    # the template never appears; 0.19 with full fine-tuning). A pretrained head has no such
    # cap, so this is a property of the tiny stand-in, not of the recipes. The LoRA path
    # (adapters trained, merged into the saved checkpoint) is run by test_recipe_smoke.
    "lora.enabled=false",
    "grpo.num_generations=8",
    "grpo.per_device_train_batch_size=16",
]


def reward_spread(log_history: list[dict]) -> dict:
    """Per GRPO step: the spread of the weighted, shaped real reward over the step's
    completions (TRL's ``reward_std``), the fraction of prompt groups in which it varied
    (1 - ``frac_reward_zero_std``: those groups have non-zero advantages), and each reward
    component's own spread (``rewards/<name>/std``)."""
    steps = [e for e in log_history if "reward_std" in e]
    names = sorted(
        {k[len("rewards/") : -len("/std")] for e in steps for k in e
         if k.startswith("rewards/") and k.endswith("/std")}
    )  # fmt: skip
    return {
        "reward_std": [e["reward_std"] for e in steps],
        "varied_groups": [1.0 - e["frac_reward_zero_std"] for e in steps],
        "components": {n: [e.get(f"rewards/{n}/std") for e in steps] for n in names},
    }


def check_rewards_vary(log_history: list[dict], steps: int) -> dict:
    """Fail unless the recipe's summed reward varied within at least one GRPO group, i.e.
    some step had a non-zero advantage (constant rewards give zero advantages, no update).
    Returns :func:`reward_spread`."""
    spread = reward_spread(log_history)
    assert len(spread["reward_std"]) == steps, f"expected {steps} GRPO steps: {spread}"
    assert max(spread["reward_std"]) > 0 and max(spread["varied_groups"]) > 0, (
        f"the recipe's rewards never varied within a group: {spread}"
    )
    return spread


def _rewards_vary_and_train(recipe, tiny, manifest, tmp_path):
    # The rows share one clip, so the label is a guess the SFT model spreads over the four
    # labels, and sampled completions differ in answer (and, where the template is not yet
    # exact, in format): the recipe's own rewards, with no helper reward added, must vary.
    import time

    t0 = time.perf_counter()
    _, family_dir, out, final, info = _run(
        recipe, tiny, manifest, tmp_path, LEARN_SFT_STEPS, LEARN_OVERRIDES
    )
    sft = _tensors(out / "sft" / "final")
    assert _changed(_tensors(family_dir), sft) > 0, "SFT changed nothing"
    sft_info = json.loads((out / "sft" / "final" / "mmemo_stage_done.json").read_text())
    losses = [e["loss"] for e in sft_info["log_history"] if "loss" in e]
    spread = check_rewards_vary(info["log_history"], steps=2)
    assert _changed(sft, _tensors(final)) > 0, "GRPO changed nothing"
    print(
        f"{recipe}: SFT loss {losses[0]:.2f} -> {losses[-1]:.2f}; spread {spread}; "
        f"{time.perf_counter() - t0:.1f} s"
    )


DEFAULT_LEARNING = ("cue_text", "video_emotion")


@pytest.mark.parametrize("recipe", DEFAULT_LEARNING)
def test_recipe_rewards_vary_and_train(recipe, tiny, manifest, tmp_path):
    """Default suite: the text recipe and the cheapest media recipe (video frames + cue text)
    train on real reward signal."""
    _rewards_vary_and_train(recipe, tiny, manifest, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [r for r in RECIPES if r not in DEFAULT_LEARNING])
def test_media_recipe_rewards_vary_and_train(recipe, tiny, manifest, tmp_path):
    """The other media recipes (a minute each on CPU; audio pads to 30 s of features)."""
    _rewards_vary_and_train(recipe, tiny, manifest, tmp_path)


def test_check_rewards_vary_fails_on_constant_rewards():
    """The check itself: equal rewards within every group fail it, one varied group passes."""
    flat = [{"reward_std": 0.0, "frac_reward_zero_std": 1.0, "rewards/f/std": 0.0}] * 2
    with pytest.raises(AssertionError, match="never varied"):
        check_rewards_vary(flat, steps=2)
    # varied across groups only (each group constant): still no advantage, still fails
    across = [{"reward_std": 0.5, "frac_reward_zero_std": 1.0}] * 2
    with pytest.raises(AssertionError, match="never varied"):
        check_rewards_vary(across, steps=2)
    ok = [flat[0], {"reward_std": 0.5, "frac_reward_zero_std": 0.5, "rewards/f/std": 0.5}]
    assert check_rewards_vary(ok, steps=2)["components"] == {"f": [0.0, 0.5]}


def test_constant_recipe_rewards_fail_the_check(
    sft_cue_text, tiny, manifest, tmp_path, monkeypatch
):
    """The deliberate mutation, kept as a test: the cue_text learning run's GRPO stage (from
    the same SFT stage, ``conftest.sft_cue_text``) with each of the recipe's real rewards still
    called but its output replaced by a constant. The spread check fails, and GRPO leaves the
    weights as SFT made them (zero advantages, zero gradient)."""
    from mmemo.training import pipeline

    real = pipeline.build_rewards_and_shapers
    called = []

    class Constant:
        def __init__(self, reward):
            self.reward, self.__name__ = reward, reward.__name__

        def __call__(self, completions, **kwargs):
            self.reward(completions, **kwargs)
            called.append(self.__name__)
            return [1.0] * len(completions)

    def constant_rewards(cfg):
        rewards, shapers = real(cfg)
        return [(Constant(r), w) for r, w in rewards], shapers

    monkeypatch.setattr(pipeline, "build_rewards_and_shapers", constant_rewards)
    grpo_only = [*LEARN_OVERRIDES, f"model.path={sft_cue_text}", "stages=[grpo]"]
    _, _, _, final, info = _run("cue_text", tiny, manifest, tmp_path, LEARN_SFT_STEPS, grpo_only)
    assert set(called) == {"format_reward", "accuracy_reward"}
    with pytest.raises(AssertionError, match="never varied"):
        check_rewards_vary(info["log_history"], steps=2)
    assert _changed(_tensors(sft_cue_text), _tensors(final)) == 0
