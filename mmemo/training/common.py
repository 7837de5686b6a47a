"""Pieces shared by the SFT and GRPO stages: rows, backbone loading, LoRA, TRL arguments,
checkpoints; and the timestamped progress lines of the head-training scripts.

Stages take plain values (paths, dicts of TRL arguments), never the recipe object.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

DONE_MARKER = "mmemo_stage_done.json"


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


def apply_lora(model: Any, lora: dict | None) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter when ``lora.enabled``; otherwise return it."""
    if not lora or not lora.get("enabled"):
        return model
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=lora.get("target_modules", "all-linear"),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, cfg)


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


def save_final(backbone: Any, model: Any, out_dir: str | Path, info: dict) -> Path:
    """Save a loadable checkpoint (LoRA merged), the processor and the family marker."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(out)
    backbone.processor.save_pretrained(out)
    (out / "mmemo_backbone.json").write_text(json.dumps({"family": backbone.family}) + "\n")
    (out / DONE_MARKER).write_text(json.dumps(info, indent=2) + "\n")
    return out


def stage_done(final_dir: str | Path) -> bool:
    return (Path(final_dir) / DONE_MARKER).is_file()


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
            "log_history": state.log_history,
        }
        return save_final(self.backbone, self.trainer.model, self.output_dir / "final", info)

    def cleanup(self) -> None:
        import gc

        self.trainer = None
        gc.collect()
