"""The GRPO stage: TRL's ``GRPOTrainer`` with a thin subclass for what TRL 1.16 lacks.

TRL 1.16 generates from audio/video prompts (the processor turns media parts into features for
``generate``) but its loss forward only re-creates *image* features, so audio
(``input_features``, ``feature_attention_mask``) and video (``pixel_values_videos``,
``video_grid_thw``) never reach the policy log-probs (dependencies.md §4). The subclass:

1. ``_generate_and_score_completions``: decodes each row's media (:mod:`mmemo.media`, same
   frames as SFT and inference), computes its media features once per prompt, and carries them
   per row (``mm_features``, a list TRL shuffles and splits with the batch);
2. ``_get_per_token_logps_and_entropies``: the loss forward, feeding those features (and the
   Qwen multimodal token types) to the model chunk by chunk;
3. ``_calculate_rewards``: calls TRL's, then applies group-aware shapers to the gathered
   ``[B*G, K]`` reward matrix (row ``i`` belongs to group ``i // num_generations``).

A shaper follows :mod:`mmemo.rewards.shapers`:
``shaper(rewards, names, *, group_size, trainer_state=None, **context) -> rewards`` on the float
tensor ``rewards`` (context: ``lengths``, the completion token counts of every gathered row);
it may edit in place and return ``None``. Its ``last_metrics`` are logged as
``shapers/<class>/<key>``.
Everything else (advantages, clipping, loss types, vLLM generation) is TRL's. Prompts are
tokenised by the backbone (video timing metadata, pixel limits). With ``use_vllm`` TRL 1.16
sends vLLM token ids and images only: image and text prompts go through, audio or video
prompts are refused with an error naming what would be dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mmemo.data.prompts import PromptError
from mmemo.models.backbones import concat_features
from mmemo.training.common import Stage, apply_lora, stage_args

_TRL_IMAGE_KEYS = ("pixel_values", "image_grid_thw", "num_images", "mm_token_type_ids")


def grpo_examples(backbone: Any, rows: list[dict]) -> list[dict]:
    """Dataset rows: ``prompt`` (chat with media paths) plus every label column the rewards
    read. Rows that cannot be prompted are reported and skipped."""
    out = []
    for row in rows:
        try:
            prompt = backbone.messages(row)
        except PromptError as exc:
            print(f"grpo: skipping {exc}", file=sys.stderr)
            continue
        ex = {k: v for k, v in row.items() if k not in ("image", "video", "audio")}
        if isinstance(ex.get("cues"), dict):  # one Arrow type per column; rewards parse JSON
            ex["cues"] = json.dumps(ex["cues"])
        ex["prompt"] = prompt
        out.append(ex)
    if not out:
        raise ValueError("grpo: no usable rows")
    return out


def mm_token_types(input_ids: Any, config: Any) -> Any:
    """Qwen-VL multimodal token types for 3-D RoPE: 1 image token, 2 video token, 0 text."""
    import torch

    types = torch.zeros_like(input_ids, dtype=torch.int32)
    image_id = getattr(config, "image_token_id", None)
    video_id = getattr(config, "video_token_id", None)
    if image_id is not None:
        types[input_ids == image_id] = 1
    if video_id is not None:
        types[input_ids == video_id] = 2
    return types


def build_trainer_class():
    """The GRPOTrainer subclass (built lazily: importing TRL costs seconds)."""
    import inspect

    import torch
    from trl import GRPOTrainer

    class MMGRPOTrainer(GRPOTrainer):
        """GRPOTrainer + media features in the loss forward + reward shapers (module doc)."""

        def __init__(
            self,
            *args: Any,
            backbone: Any,
            shapers: list | None = None,
            carry_media: bool = True,
            **kwargs: Any,
        ):
            self.backbone = backbone
            self.carry_media = carry_media
            self.shapers = list(shapers or [])
            self._active_mm: list[dict] | None = None
            media_ids = backbone.media_token_ids()
            config = backbone.model.config
            # TRL suppresses `config.image_token_id` in generation; audio-only configs lack it.
            # Set it for TRL's init only, then suppress every media placeholder token.
            borrowed = media_ids and not hasattr(config, "image_token_id")
            if borrowed:
                config.image_token_id = media_ids[0]
            try:
                super().__init__(*args, **kwargs)
            finally:
                if borrowed:
                    del config.image_token_id
            if media_ids:
                self.generation_kwargs["suppress_tokens"] = media_ids
                self.generation_config.suppress_tokens = media_ids
            base = (
                self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            )
            self._wants_token_types = (
                "mm_token_type_ids" in inspect.signature(base.forward).parameters
            )

        # -- 1. media per row ---------------------------------------------------------------
        def _generate_and_score_completions(self, inputs):
            inputs = [{**x, "prompt": self.backbone.materialize(x["prompt"])} for x in inputs]
            feats, cache = [], {}
            for x in inputs:
                key = str(x.get("id", id(x)))
                if key not in cache:
                    cache[key] = (
                        self.backbone.media_features(x["prompt"])
                        if self.carry_media and not self.backbone.spec.causal_lm
                        else {}
                    )
                feats.append(cache[key])
            has_media = any(feats)
            self._active_mm = feats if has_media else None
            try:
                out = super()._generate_and_score_completions(inputs)
            finally:
                self._active_mm = None
            if has_media:
                for k in _TRL_IMAGE_KEYS:  # our per-row features replace TRL's image-only ones
                    out.pop(k, None)
                out["mm_features"] = feats
            return out

        def _tokenize_prompts(self, prompts):
            if self.backbone.spec.causal_lm:
                return super()._tokenize_prompts(prompts)
            if self.use_vllm:
                # TRL 1.16 hands vLLM token ids + images only: refuse audio/video, pass images
                refuse_vllm_media(media_kinds(prompts), self.backbone.family)
                return super()._tokenize_prompts(prompts)
            # The backbone tokenises (video timing, pixel limits: what TRL's call lacks), one
            # prompt at a time as TRL expects unpadded ids; returning no images stops TRL from
            # re-processing images alone for the loss (we carry all media per row).
            prompt_ids, fields = [], {}
            for prompt in prompts:
                enc = self.backbone.encode([prompt], add_generation_prompt=True)
                prompt_ids.append(enc["input_ids"][0].tolist())
                for k, v in enc.items():
                    if k in ("input_ids", "attention_mask"):
                        continue
                    if k == "mm_token_type_ids":  # per token: TRL left-pads the lists
                        fields.setdefault(k, []).append(v[0].tolist())
                    else:
                        fields.setdefault(k, []).append(v)
            fields = {k: v if k == "mm_token_type_ids" else torch.cat(v) for k, v in fields.items()}
            return prompt_ids, None, fields

        def _compute_loss(self, model, inputs):
            self._active_mm = inputs.get("mm_features")
            try:
                return super()._compute_loss(model, inputs)
            finally:
                self._active_mm = None

        # -- 2. the loss forward with audio/video -------------------------------------------
        def _get_per_token_logps_and_entropies(
            self,
            model,
            input_ids,
            attention_mask,
            logits_to_keep,
            batch_size=None,
            compute_entropy=False,
            compute_aux_loss=False,
            **trl_media,
        ):
            feats = self._active_mm
            if feats is None:
                return super()._get_per_token_logps_and_entropies(
                    model,
                    input_ids,
                    attention_mask,
                    logits_to_keep,
                    batch_size=batch_size,
                    compute_entropy=compute_entropy,
                    compute_aux_loss=compute_aux_loss,
                    **trl_media,
                )
            if len(feats) != input_ids.size(0):
                raise RuntimeError(
                    f"media features for {len(feats)} rows, batch has {input_ids.size(0)}"
                )
            batch_size = batch_size or input_ids.size(0)
            config = self.backbone.model.config
            logps, entropies, aux = [], [], []
            for start in range(0, input_ids.size(0), batch_size):
                end = min(start + batch_size, input_ids.size(0))
                ids, mask = input_ids[start:end], attention_mask[start:end]
                model_inputs = {"input_ids": ids, "attention_mask": mask}
                for k, v in concat_features(feats[start:end]).items():
                    model_inputs[k] = v.to(ids.device)
                if self._wants_token_types:
                    model_inputs["mm_token_type_ids"] = mm_token_types(ids, config)
                if compute_aux_loss:
                    model_inputs["output_router_logits"] = True
                labels = ids.masked_fill(mask == 0, -100)
                labels[:, :-logits_to_keep] = -100
                with self.accelerator.autocast():
                    outputs = model(**model_inputs, labels=labels, fused_lm_head=True)
                logps.append(outputs.log_probs[:, -logits_to_keep:])
                if compute_entropy:
                    entropies.append(outputs.entropy[:, -logits_to_keep:])
                if compute_aux_loss:
                    aux.append(outputs.aux_loss)
            return (
                torch.cat(logps, dim=0),
                torch.cat(entropies, dim=0) if compute_entropy else None,
                torch.stack(aux).mean() if compute_aux_loss else None,
            )

        # -- 3. group-aware shapers after the gather ----------------------------------------
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            if not self.shapers:
                return rewards
            mode = "train" if self.model.training else "eval"
            group = self.num_generations if mode == "train" else self.num_generations_eval
            local = torch.tensor([len(c) for c in completion_ids_list], device=rewards.device)
            lengths = self.accelerator.gather(local).tolist()  # rows in the gathered order
            rewards = apply_shapers(
                rewards, self.shapers, group, self.reward_func_names, self.state, lengths=lengths
            )
            for shaper in self.shapers:
                for key, value in (getattr(shaper, "last_metrics", None) or {}).items():
                    self._metrics[mode][f"shapers/{type(shaper).__name__}/{key}"].append(value)
            return rewards

    return MMGRPOTrainer


def media_kinds(prompts: list) -> set[str]:
    """Media part types (image, video, audio) in a batch of chat prompts."""
    return {
        part.get("type")
        for prompt in prompts
        for msg in prompt
        if not isinstance(msg["content"], str)
        for part in msg["content"]
        if part.get("type") in ("image", "video", "audio")
    }


def refuse_vllm_media(kinds: set[str], family: str) -> None:
    """Raise when vLLM generation would silently drop media: TRL 1.16's vLLM path (server and
    colocate) takes prompt token ids plus images, nothing for audio or video."""
    dropped = sorted(kinds & {"audio", "video"})
    if dropped:
        raise ValueError(
            f"grpo.use_vllm=true cannot generate from {' and '.join(dropped)}: TRL 1.16 passes "
            f"vLLM the prompt token ids and images only, so the {family} model would answer "
            "without hearing/seeing them. Set grpo.use_vllm=false (mmemo's generation feeds "
            "every modality), or feed them as cue text (model.inputs=cues)."
        )


def check_vllm(config: Any, backbone: Any, examples: list[dict] | None = None) -> None:
    """Refuse ``use_vllm`` up front when the rows carry audio/video (see refuse_vllm_media)."""
    if not getattr(config, "use_vllm", False) or backbone.spec.causal_lm:
        return
    prompts = [ex["prompt"] for ex in examples or []]
    refuse_vllm_media(media_kinds(prompts), backbone.family)


def apply_shapers(
    rewards: Any,
    shapers: list,
    num_generations: int,
    names: list[str],
    state: Any,
    **context: Any,
) -> Any:
    """Apply each shaper to the gathered ``[B*G, K]`` reward matrix (rows grouped by
    ``row // num_generations``); shapers edit in place or return a new tensor."""
    if rewards.shape[0] % num_generations:
        raise RuntimeError(
            f"{rewards.shape[0]} reward rows is not a multiple of G={num_generations}"
        )
    for shaper in shapers:
        result = shaper(
            rewards, list(names), group_size=num_generations, trainer_state=state, **context
        )
        if result is not None:
            rewards = result
    return rewards


class GRPOStage(Stage):
    """One GRPO stage. ``args`` are TRL ``GRPOConfig`` arguments; ``rewards`` a list of
    ``(callable, weight)``; ``shapers`` group-aware shapers. ``carry_media=False`` leaves the
    loss forward to TRL alone (media reach generation only; a control for tests, not for
    training)."""

    name = "grpo"

    def __init__(
        self,
        backbone: Any,
        rows: list[dict],
        output_dir: str | Path,
        rewards: list[tuple[Any, float]],
        args: dict | None = None,
        shapers: list | None = None,
        lora: dict | None = None,
        seed: int = 0,
        report_to: str = "none",
        callbacks: list | None = None,
        carry_media: bool = True,
        config: Any = None,
    ) -> None:
        self.config = config
        if not rewards:
            raise ValueError("grpo: at least one reward is needed")
        self.backbone = backbone
        self.rows = rows
        self.output_dir = Path(output_dir)
        self.rewards = rewards
        self.args = {k: v for k, v in (args or {}).items() if k != "enabled"}
        self.shapers = shapers or []
        self.lora = lora
        self.seed = seed
        self.report_to = report_to
        self.callbacks = callbacks or []
        self.carry_media = carry_media
        self.trainer = None

    def setup(self) -> None:
        import datasets

        examples = grpo_examples(self.backbone, self.rows)
        dataset = datasets.Dataset.from_list(examples)
        config = self.config or grpo_config(
            self.args, self.output_dir, [w for _, w in self.rewards], self.seed, self.report_to
        )
        check_vllm(config, self.backbone, examples)
        self.backbone.tokenizer.padding_side = "left"
        cls = build_trainer_class()
        self.trainer = cls(
            model=apply_lora(self.backbone.model, self.lora, self.seed),
            reward_funcs=[r for r, _ in self.rewards],
            args=config,
            train_dataset=dataset,
            processing_class=self.backbone.processor,
            callbacks=self.callbacks,
            backbone=self.backbone,
            shapers=self.shapers,
            carry_media=self.carry_media,
        )


def grpo_config(
    args: dict | None,
    output_dir: str | Path,
    reward_weights: list[float],
    seed: int = 0,
    report_to: str = "none",
) -> Any:
    """The TRL ``GRPOConfig`` of a stage (recipe ``grpo`` arguments over mmemo's defaults).
    Built before the model is loaded, so a DeepSpeed ZeRO-3 launch shards it as it loads."""
    from trl import GRPOConfig

    weights = [float(w) for w in reward_weights]
    return GRPOConfig(**stage_args(args, output_dir, seed, report_to, reward_weights=weights))
