"""The multi-stage pipeline: SFT then GRPO (or either alone), with hand-off and resume.

``run_recipe(cfg)`` takes a resolved recipe (``mmemo.config.load_config``) and

- writes ``output_dir/resolved_config.yaml`` first (the run can be reloaded from it),
- runs each stage in ``stages`` into ``output_dir/<stage>/``; a finished stage leaves
  ``<stage>/final`` (loadable checkpoint, LoRA merged) that the next stage loads,
- on a rerun, skips finished stages (refusing one asked for more steps) and resumes an
  interrupted one from its last ``checkpoint-N`` (TRL/Trainer state: weights, optimizer,
  scheduler, RNG, step),
- prints, before each stage, what each modality feeds the model (:mod:`mmemo.training.feeds`),
- is safe under ``accelerate launch`` with several processes: rank 0 writes, the others wait
  at barriers, and a stage's ``final`` appears only complete (``common.save_final``),
- returns the last stage's ``final`` folder.

Progress and per-component reward means (``rewards/<name>/mean``) are printed by TRL's logging
and sent to ``report_to`` (none, tensorboard, wandb).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmemo.config import instantiate, save_resolved
from mmemo.training.common import (
    check_finished,
    is_main_process,
    load_backbone,
    read_rows,
    stage_done,
    wait_for_everyone,
)


def build_rewards(nodes: list[dict]) -> list[tuple[Any, float]]:
    """``(reward callable, weight)`` for each reward component (``weight`` defaults to 1)."""
    out = []
    for node in nodes:
        reward = instantiate(node, drop=("weight",))
        out.append((reward, float(node.get("weight", 1.0))))
    return out


def build_rewards_and_shapers(cfg: dict) -> tuple[list[tuple[Any, float]], list[Any]]:
    """The GRPO rewards and shapers of a recipe: its ``reward_preset`` (if any) first, then
    its own ``rewards`` and ``reward_shapers`` lists."""
    rewards = build_rewards(cfg.get("rewards") or [])
    shapers = [instantiate(n) for n in cfg.get("reward_shapers") or []]
    if cfg.get("reward_preset"):
        from mmemo.rewards.core import to_trl

        preset = instantiate(cfg["reward_preset"])
        funcs, weights = to_trl(preset.components)
        rewards = list(zip(funcs, weights, strict=True)) + rewards
        shapers = list(preset.shapers) + shapers
    return rewards, shapers


def sft_rows(cfg: dict, rows: list[dict]) -> list[dict]:
    """The rows the SFT stage trains on: with ``synthesis.enabled``, rows lacking a
    ``reasoning`` get one written from their measured cues where those agree with the label
    (:func:`mmemo.data.synthesis.fill_reasoning`)."""
    synthesis = cfg.get("synthesis") or {}
    if not synthesis.get("enabled"):
        return rows
    from mmemo.data.synthesis import fill_reasoning

    return fill_reasoning(rows, **{k: v for k, v in synthesis.items() if k != "enabled"})


def run_stage(
    stage: str,
    cfg: dict,
    model_path: str | Path | None,
    resume: bool = True,
    callbacks: list | None = None,
) -> Path:
    """Run one stage of ``cfg`` starting from ``model_path`` (None: ``model.path``)."""
    from mmemo.training.feeds import describe_feeds
    from mmemo.training.grpo import GRPOStage, grpo_config
    from mmemo.training.sft import SFTStage, sft_config

    out_dir = Path(cfg["output_dir"]) / stage
    data = cfg["data"]
    manifest = data.get("sft") if stage == "sft" and data.get("sft") else data["train"]
    rows = read_rows(manifest, data.get("limit"))
    seed = int(cfg.get("seed", 0))
    report_to = cfg.get("report_to", "none")
    rewards: list = []
    shapers: list = []
    # The TRL config exists before the model loads: under DeepSpeed ZeRO-3 with
    # zero3_init_flag the weights are then sharded as they load (deepspeed.zero.Init).
    if stage == "sft":
        config = sft_config(cfg.get("sft"), out_dir, seed, report_to)
    else:
        rewards, shapers = build_rewards_and_shapers(cfg)
        config = grpo_config(cfg.get("grpo"), out_dir, [w for _, w in rewards], seed, report_to)
    backbone = load_backbone(cfg["model"], model_path)
    # generation at inference = the length the model was trained to complete
    grpo_len = (cfg.get("grpo") or {}).get("max_completion_length")
    if grpo_len and "max_new_tokens" not in cfg["model"]:
        backbone.settings.max_new_tokens = int(grpo_len)
    # the label space the model was trained on, kept with its settings (closed-set tasks)
    if backbone.settings.task != "emotions" and "labels" not in cfg["model"]:
        labels = sorted({str(r["emotion"]) for r in rows if r.get("emotion")})
        backbone.settings.labels = labels or backbone.settings.labels
    common = {
        "output_dir": out_dir,
        "lora": cfg.get("lora"),
        "seed": seed,
        "report_to": report_to,
        "callbacks": callbacks,
        "config": config,
    }
    if stage == "sft":
        runner: Any = SFTStage(backbone, sft_rows(cfg, rows), args=cfg.get("sft"), **common)
    else:
        runner = GRPOStage(
            backbone,
            rows,
            rewards=rewards,
            args=cfg.get("grpo"),
            shapers=shapers,
            **common,
        )
    if is_main_process():
        print(f"== stage {stage}: {len(rows)} rows, model {backbone.path} ({backbone.family})")
        print(describe_feeds(backbone, rows), flush=True)
    runner.setup()
    runner.train(resume=resume)
    final = runner.save_checkpoint()
    runner.cleanup()
    if is_main_process():
        print(f"== stage {stage} done: {final}")
    return final


def run_recipe(cfg: dict, resume: bool = True, callbacks: list | None = None) -> Path:
    """Run every stage of a resolved recipe; returns the last stage's checkpoint folder.

    A finished stage is skipped on a rerun, and refused (``ValueError``) when the rerun asks
    it for a different ``max_steps``/``num_train_epochs``; the check runs before
    ``resolved_config.yaml`` is rewritten, so the saved recipe stays the one that ran.
    """
    out = Path(cfg["output_dir"])
    if resume:
        for stage in cfg["stages"]:
            if stage_done(out / stage / "final"):
                check_finished(stage, out / stage / "final", cfg.get(stage))
    if is_main_process():
        save_resolved(cfg, out)
    wait_for_everyone()
    model_path: Path | None = None
    final: Path | None = None
    for stage in cfg["stages"]:
        final = out / stage / "final"
        if resume and stage_done(final):
            if is_main_process():
                print(f"== stage {stage}: already finished ({final}), skipping")
        else:
            final = run_stage(stage, cfg, model_path, resume=resume, callbacks=callbacks)
        model_path = final
    assert final is not None
    return final
