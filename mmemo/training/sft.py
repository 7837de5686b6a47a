"""The SFT stage: TRL ``SFTTrainer`` on manifest rows, full fine-tuning or LoRA (PEFT).

Rows become ``prompt`` (chat messages with media paths) + ``completion`` (think/answer target)
and are collated by the backbone adapter (media decoded by :mod:`mmemo.media`, loss on the
assistant turn only), because TRL's own collators know images but not audio or video.

Run through the pipeline (``mmemo train recipe.yaml``) or directly::

    stage = SFTStage(backbone, rows, output_dir="out/sft", args={"max_steps": 2})
    stage.setup(); stage.train(); stage.save_checkpoint(); stage.cleanup()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmemo.data.prompts import PromptError
from mmemo.training.common import Stage, apply_lora, stage_args


def sft_config(
    args: dict | None, output_dir: str | Path, seed: int = 0, report_to: str = "none"
) -> Any:
    """The TRL ``SFTConfig`` of a stage (recipe ``sft`` arguments over mmemo's defaults).
    Built before the model is loaded, so a DeepSpeed ZeRO-3 launch shards it as it loads."""
    from trl import SFTConfig

    stage = {"max_length": None, "dataset_kwargs": {"skip_prepare_dataset": True}}
    return SFTConfig(**stage_args(args, output_dir, seed, report_to, **stage))


def sft_examples(backbone: Any, rows: list[dict]) -> list[dict]:
    """``{"prompt", "completion", "id"}`` per row; rows without a usable target are reported
    (id and reason) and skipped."""
    import sys

    out = []
    for row in rows:
        try:
            out.append(
                {
                    "id": row["id"],
                    "prompt": backbone.messages(row),
                    "completion": backbone.target(row),
                }
            )
        except PromptError as exc:
            print(f"sft: skipping {exc}", file=sys.stderr)
    if not out:
        raise ValueError("sft: no row has an SFT target (see the messages above)")
    return out


class SFTStage(Stage):
    """One SFT stage. ``args`` are TRL ``SFTConfig`` arguments (learning_rate, max_steps, ...)."""

    name = "sft"

    def __init__(
        self,
        backbone: Any,
        rows: list[dict],
        output_dir: str | Path,
        args: dict | None = None,
        lora: dict | None = None,
        seed: int = 0,
        report_to: str = "none",
        callbacks: list | None = None,
        config: Any = None,
    ) -> None:
        self.config = config
        self.backbone = backbone
        self.rows = rows
        self.output_dir = Path(output_dir)
        self.args = {k: v for k, v in (args or {}).items() if k != "enabled"}
        self.lora = lora
        self.seed = seed
        self.report_to = report_to
        self.callbacks = callbacks or []
        self.trainer = None

    def setup(self) -> None:
        from trl import SFTTrainer

        import datasets

        examples = sft_examples(self.backbone, self.rows)
        dataset = datasets.Dataset.from_list(examples)
        config = self.config or sft_config(self.args, self.output_dir, self.seed, self.report_to)
        model = apply_lora(self.backbone.model, self.lora, self.seed)
        self.trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=self.backbone.processor,
            data_collator=self.backbone.collate_sft,
            callbacks=self.callbacks,
        )
