"""Pieces shared by the SFT and GRPO stages: rows, backbone loading, LoRA, TRL arguments,
checkpoints; and the timestamped progress lines of the head-training scripts.

Stages take plain values (paths, dicts of TRL arguments), never the recipe object.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

DONE_MARKER = "mmemo_stage_done.json"
# Checkpoint defaults when a recipe sets none: a 7B model checkpointed every step would fill
# a disk in an hour; keep the newest two (resume needs only the last).
SAVE_DEFAULTS = {"save_strategy": "steps", "save_steps": 100, "save_total_limit": 2}
# Stage arguments whose change after a stage finished means "train more", which a finished
# stage cannot do silently.
LENGTH_KEYS = ("max_steps", "num_train_epochs")


def log(msg: str) -> None:
    """Print ``[HH:MM:SS] msg`` at once (progress of long head-training runs)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_rows(manifest: str | Path, limit: int | None = None) -> list[dict]:
    """Valid manifest rows (media paths absolute). Bad rows are reported on stderr with their
    line and reason and skipped, so one broken row does not stop a run."""
    from mmemo.data.manifest import read_manifest

    rows, report = read_manifest(manifest, on_error="skip")
    for err in report.errors:
        print(f"skipping {manifest}: {err}", file=sys.stderr)
    if not rows:
        raise ValueError(f"{manifest}: no valid rows ({len(report.errors)} rejected)")
    return rows[:limit] if limit else rows


def load_backbone(model_cfg: dict, path: str | Path | None = None) -> Any:
    """Instantiate the ``model`` component; ``path`` replaces ``model.path`` (stage hand-off)."""
    from mmemo.config import instantiate

    node = dict(model_cfg)
    if path is not None:
        node["path"] = str(path)
    path_value = node.pop("path")
    return instantiate(node, path_or_id=path_value)


def apply_lora(model: Any, lora: dict | None, seed: int = 0) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter when ``lora.enabled``; otherwise return it.
    The adapter's random initialisation is seeded with ``seed`` (two runs with one seed start
    from the same adapter)."""
    if not lora or not lora.get("enabled"):
        return model
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    set_seed(seed)
    cfg = LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=lora.get("target_modules", "all-linear"),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


def stage_args(
    args: dict | None, output_dir: str | Path, seed: int, report_to: str, **stage: Any
) -> dict:
    """TRL arguments of a stage: mmemo's shared defaults, then the stage's own (``stage``),
    then the recipe's section (``args``, less mmemo's ``enabled`` switch), fitted to the device."""
    defaults = {
        "output_dir": str(output_dir),
        "seed": seed,
        "data_seed": seed,
        "report_to": report_to,
        "logging_steps": 1,
        **SAVE_DEFAULTS,
        "remove_unused_columns": False,
        **stage,
    }
    extra = {k: v for k, v in (args or {}).items() if k != "enabled"}
    return device_args({**defaults, **extra})


def device_args(args: dict) -> dict:
    """TRL/Trainer arguments that make a run work on this machine: on CPU ``use_cpu`` and no
    bf16 (a bare config raises there), no gradient checkpointing unless asked for."""
    import torch

    out = dict(args)
    if not torch.cuda.is_available():
        out.setdefault("use_cpu", True)
        out["bf16"] = False
        out.setdefault("fp16", False)
    out.setdefault("gradient_checkpointing", False)
    return out


def last_checkpoint(stage_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder in ``stage_dir`` (None when there is none)."""
    from transformers.trainer_utils import get_last_checkpoint

    d = Path(stage_dir)
    return get_last_checkpoint(str(d)) if d.is_dir() else None


def is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def wait_for_everyone() -> None:
    """A barrier across the launched processes (a no-op in a single process)."""
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def save_final(
    backbone: Any, model: Any, out_dir: str | Path, info: dict, accelerator: Any = None
) -> Path:
    """Save a loadable checkpoint (LoRA merged), the processor and the backbone settings.

    Safe on several processes: every rank joins the state-dict gather (ZeRO-3 shards the
    weights), rank 0 alone writes, into ``<final>.partial``: weights, processor, settings,
    then the done-marker, then one rename to ``final``; all ranks then wait at a barrier, so
    nobody reads a half-written stage and a job killed mid-save leaves no ``final`` at all.
    """
    out = Path(out_dir)
    state = None
    if accelerator is not None:
        from transformers.integrations import is_deepspeed_zero3_enabled

        if is_deepspeed_zero3_enabled() and hasattr(
            accelerator.unwrap_model(model), "merge_and_unload"
        ):
            raise NotImplementedError(
                "LoRA under DeepSpeed ZeRO-3: merging a sharded adapter into the final "
                "checkpoint is not supported; use zero2.yaml for LoRA runs, or lora.enabled=false"
            )
        state = accelerator.get_state_dict(model)  # collective: gathers ZeRO-3 shards
        model = accelerator.unwrap_model(model)
    if is_main_process():
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
            state = None  # merged weights differ from the adapter state
        model.save_pretrained(tmp, state_dict=state)
        backbone.processor.save_pretrained(tmp)
        backbone.save_settings(tmp)
        (tmp / DONE_MARKER).write_text(json.dumps(info, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    wait_for_everyone()
    return out


def stage_done(final_dir: str | Path) -> bool:
    return (Path(final_dir) / DONE_MARKER).is_file()


def done_info(final_dir: str | Path) -> dict:
    return json.loads((Path(final_dir) / DONE_MARKER).read_text())


def check_finished(stage: str, final_dir: str | Path, args: dict | None) -> None:
    """Refuse a rerun that asks a finished stage for a different length (more steps or
    epochs): it would be skipped while the recipe claims the new value."""
    asked = {k: (args or {}).get(k) for k in LENGTH_KEYS}
    info = done_info(final_dir)
    if "lengths" not in info:
        return
    done = info["lengths"]
    changed = [k for k in LENGTH_KEYS if asked[k] != done.get(k)]
    if changed:
        detail = ", ".join(f"{k} {done.get(k)} -> {asked[k]}" for k in changed)
        raise ValueError(
            f"stage {stage} already finished in {final_dir} ({info.get('global_step')} steps) "
            f"and this run asks for a different length ({detail}). A finished stage is never "
            "extended: use a new output_dir, or --no-resume to train every stage again"
        )


class Stage:
    """What SFT and GRPO share: resume, the final checkpoint, cleanup.

    A subclass sets ``name``, ``output_dir``, ``backbone`` and builds ``self.trainer`` in
    ``setup``; ``train`` resumes from the stage's last checkpoint when there is one.
    """

    name = "stage"
    output_dir: Path
    backbone: Any
    trainer: Any = None

    def train(self, resume: bool = True) -> Any:
        ckpt = last_checkpoint(self.output_dir) if resume else None
        if ckpt:
            print(f"{self.name}: resuming from {ckpt}")
        return self.trainer.train(resume_from_checkpoint=ckpt)

    def save_checkpoint(self) -> Path:
        """Write ``output_dir/final`` (LoRA merged): the checkpoint the next stage loads."""
        state = self.trainer.state
        info = {
            "stage": self.name,
            "global_step": state.global_step,
            "lengths": {k: getattr(self, "args", {}).get(k) for k in LENGTH_KEYS},
            "log_history": state.log_history,
        }
        return save_final(
            self.backbone,
            self.trainer.model_wrapped,  # the DeepSpeed engine under ZeRO (its gather)
            self.output_dir / "final",
            info,
            accelerator=self.trainer.accelerator,
        )

    def cleanup(self) -> None:
        import gc

        self.trainer = None
        gc.collect()
