"""Backbone adapters: one per model family, all behind :class:`Backbone`.

An adapter loads processor + model from a local folder (or a hub id whose files are already
in the local Hugging Face cache; nothing is downloaded), turns manifest rows into chats with
media parts and/or cue text (:mod:`mmemo.data.prompts`), decodes media with
:mod:`mmemo.media`, collates SFT batches (labels on the assistant turn only), computes the media
features a forward pass needs, generates with the think/answer template, and parses answers.

| family | transformers class | media read |
|---|---|---|
| ``qwen2`` | ``Qwen2ForCausalLM`` | none (cue text) |
| ``causal_lm`` | ``AutoModelForCausalLM`` (Llama, Mistral, Gemma, Phi, Qwen3, SmolLM...) | none (cue text; the model's own chat template) |
| ``qwen2_vl`` | ``Qwen2VLForConditionalGeneration`` | image, video frames |
| ``qwen2_5_vl`` | ``Qwen2_5_VLForConditionalGeneration`` | image, video frames |
| ``qwen2_audio`` | ``Qwen2AudioForConditionalGeneration`` | audio (a video's audio track) |
| ``qwen2_5_omni_thinker`` | ``Qwen2_5OmniThinkerForConditionalGeneration`` | image, video, audio (a video's own track too) |

Adding a family = one entry in ``mmemo.models.loading.FAMILIES`` (and a tiny builder in
``mmemo.models.tiny``). Video frames are sampled by mmemo (``num_frames`` uniform frames, even
count because the Qwen vision towers patch 2 frames at a time), so training and inference see
the same frames; their real spacing goes to the processor as video metadata (Qwen2.5-VL) or
``fps`` (Omni), so temporal positions match the clip's time. The settings that shape prompts
and generation (:mod:`mmemo.models.backbone_settings`) are saved beside every trained
checkpoint and restored on load.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmemo.data.prompts import PromptOptions, build_messages, parse_completion, target_text
from mmemo.models.backbone_settings import BackboneSettings, load_settings, save_settings
from mmemo.models.loading import (  # noqa: F401 - re-exported
    FAMILIES,
    BackboneNotFound,
    FamilySpec,
    detect_family,
    load_model,
    load_processor,
    resolve_checkpoint,
)

# Keys of processor output that a forward pass needs besides input_ids/attention_mask.
MEDIA_FEATURE_KEYS = (
    "pixel_values",
    "image_grid_thw",
    "pixel_values_videos",
    "video_grid_thw",
    "second_per_grid_ts",
    "video_second_per_grid",
    "input_features",
    "feature_attention_mask",
)
_UNSET: Any = None  # from_pretrained arguments left unset take the saved settings


class _MediaCache:
    """Small LRU of decoded media keyed by (kind, path), so G generations of one prompt and
    repeated epochs decode each file once."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, key: tuple, load):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = load()
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


class Backbone:
    """A loaded model + processor of one family, with the row -> chat -> tensors plumbing.

    Build with :meth:`from_pretrained`. ``settings`` (:class:`BackboneSettings`) decide the
    prompt (inputs mode, task, think switch, system prompt, question), the media (frames per
    clip, frame size, pixel limits, audio rate, audio from a video's track) and generation
    (``max_new_tokens``); :meth:`save_settings` writes them beside a checkpoint so that
    inference rebuilds exactly the training prompt.
    """

    def __init__(self, model: Any, processor: Any, path: str | Path, settings: BackboneSettings):
        family = settings.family
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        if settings.num_frames % 2:
            raise ValueError(
                f"num_frames must be even (Qwen vision patches 2 frames), got {settings.num_frames}"
            )
        self.model = model
        self.processor = processor
        self.settings = settings
        self.family = family
        self.spec = FAMILIES[family]
        self.path = str(path)
        self.prompt = PromptOptions(
            inputs=settings.inputs,
            think=settings.think,
            task=settings.task,
            modalities=self.spec.modalities,
            audio_from_video=settings.audio_from_video,
            **({"system": settings.system} if settings.system is not None else {}),
            question=settings.question,
        )
        self._cache = _MediaCache()
        if hasattr(processor, "video_processor"):
            # The Omni processor class carries a default video size (~100k-600k pixels) that
            # overrides the saved video processor's; the saved one (or the settings' pixel
            # limits) is authoritative in mmemo.
            defaults = dict(getattr(processor, "videos_kwargs", {}) or {})
            defaults.pop("size", None)
            processor.videos_kwargs = defaults

    # Settings shortcuts (read-only views; change ``settings`` to change them).
    num_frames = property(lambda self: self.settings.num_frames)
    max_side = property(lambda self: self.settings.max_side)
    sample_rate = property(lambda self: self.settings.sample_rate)

    # ---- loading -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str | Path,
        *,
        family: str | None = None,
        dtype: str | None = _UNSET,
        device: str | None = None,
        attn_implementation: str | None = None,
        **settings: Any,
    ) -> Backbone:
        """Load a checkpoint folder (or cached hub id) with its saved settings.

        ``settings`` are :class:`BackboneSettings` fields (``inputs``, ``think``, ``task``,
        ``num_frames``, ``max_side``, ``min_pixels``, ``max_new_tokens``, ...); a value given
        here overrides the one saved with the checkpoint, ``None`` keeps the saved one.
        ``dtype``: float32, bfloat16, float16 (default: the saved training dtype, else float32).
        ``device``: ``cuda``, ``cuda:1``, ``cpu`` (default: the GPU when there is one; under
        ``accelerate launch`` the process's own, ``cuda:$LOCAL_RANK``).
        """
        import torch

        path = resolve_checkpoint(path_or_id)
        family = family or detect_family(path)
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        from dataclasses import fields

        known = {f.name for f in fields(BackboneSettings)} - {"family"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(
                f"unknown backbone option(s) {unknown}; valid: {', '.join(sorted(known))}, "
                "device, family, attn_implementation"
            )
        saved = load_settings(path)
        base = replace(saved, family=family) if saved else BackboneSettings(family=family)
        chosen = {k: v for k, v in settings.items() if v is not None}
        if dtype is not None:
            chosen["dtype"] = dtype
        resolved = replace(base, **chosen)
        if resolved.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {resolved.dtype!r}")
        kwargs: dict[str, Any] = {"dtype": getattr(torch, resolved.dtype)}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        model = load_model(path, family, **kwargs)
        if device is None and torch.cuda.is_available():
            # this process's GPU (under accelerate launch each rank has its own)
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        if device:
            model.to(device)
        processor = load_processor(path, family)
        return cls(model, processor, path, resolved)

    def save_settings(self, out_dir: str | Path) -> Path:
        """Write this backbone's settings (``mmemo_backbone.json``) into ``out_dir``."""
        return save_settings(out_dir, self.settings)

    @property
    def tokenizer(self) -> Any:
        return self.processor if self.spec.causal_lm else self.processor.tokenizer

    def media_token_ids(self) -> list[int]:
        """Ids of the media placeholder and media start/end tokens (never to be generated: a
        generated ``<|audio_bos|>`` or ``<|vision_bos|>`` makes the Qwen 3-D RoPE index count
        a media item that has no placeholder tokens, and the loss forward fails)."""
        cfg = self.model.config
        names = (
            "image_token_id",
            "video_token_id",
            "audio_token_id",
            "image_token_index",
            "video_token_index",
            "audio_token_index",
            "vision_start_token_id",
            "vision_end_token_id",
            "vision_token_id",
            "audio_start_token_id",
            "audio_end_token_id",
        )
        ids = {getattr(cfg, n, None) for n in names}
        return sorted(i for i in ids if isinstance(i, int))

    # ---- rows -> chats -----------------------------------------------------------------
    def messages(self, row: dict, base_dir: str | Path | None = None) -> list[dict]:
        """Prompt messages for one manifest row (media parts carry absolute ``path``). A chat
        template without a system role (Gemma's raises on one) gets the system text at the
        start of the user turn instead."""
        msgs = build_messages(row, self.prompt, base_dir)
        if msgs and msgs[0]["role"] == "system" and not self._supports_system():
            system = "".join(p.get("text", "") for p in msgs[0]["content"])
            user = dict(msgs[1])
            parts = list(user["content"])
            parts[-1] = {"type": "text", "text": f"{system}\n\n{parts[-1]['text']}"}
            user["content"] = parts
            msgs = [user, *msgs[2:]]
        return msgs

    def _supports_system(self) -> bool:
        if not hasattr(self, "_system_ok"):
            probe = [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
            ]
            try:
                self.tokenizer.apply_chat_template(probe, tokenize=False)
                self._system_ok = True
            except Exception:  # noqa: BLE001 - templates raise their own error types
                self._system_ok = False
        return self._system_ok

    def target(self, row: dict) -> str:
        """SFT target text for one row under this adapter's think/task settings."""
        return target_text(row, think=self.prompt.think, task=self.prompt.task)

    def materialize(self, messages: list[dict]) -> list[dict]:
        """A copy of ``messages`` with media decoded (PIL image, uint8 ``[T,H,W,3]`` frames,
        float32 mono samples at ``sample_rate``); ``None`` keys dropped; text-only turns
        collapsed to strings for the causal LM."""
        out = []
        for msg in messages:
            content = msg["content"]
            if isinstance(content, str):
                out.append(dict(msg))
                continue
            parts = [
                self._decode_part({k: v for k, v in p.items() if v is not None}) for p in content
            ]
            if self.spec.causal_lm:
                parts_text = "".join(p.get("text", "") for p in parts)
                out.append({"role": msg["role"], "content": parts_text})
            else:
                out.append({"role": msg["role"], "content": parts})
        return out

    def _decode_part(self, part: dict) -> dict:
        from mmemo import media

        kind = part.get("type")
        if kind not in ("image", "video", "audio") or "path" not in part:
            return part
        path = part["path"]
        if kind == "image":
            from PIL import Image

            value = self._cache.get(
                ("image", path), lambda: Image.fromarray(media.read_image(path))
            )
            return {"type": kind, kind: value}
        if kind == "audio":
            value = self._cache.get(
                ("audio", path, self.sample_rate),
                lambda: media.read_audio(path, sample_rate=self.sample_rate).samples,
            )
            return {"type": kind, kind: value}
        frames, spacing, times = self._cache.get(
            ("video", path, self.num_frames, self.max_side),
            lambda: _sample_video(path, self.num_frames, self.max_side),
        )
        # ``seconds_per_frame``: the real spacing of the sampled frames, which the processor
        # turns into temporal positions (see :meth:`encode`); ``frame_times``: their times (s)
        part = {"type": "video", "video": frames, "seconds_per_frame": spacing}
        return {**part, "frame_times": times}

    # ---- tensors -----------------------------------------------------------------------
    def processor_kwargs(self, conversations: list[list[dict]]) -> dict:
        """Keyword arguments for the processor call on ``conversations`` (materialised):
        pixel limits from the settings, and the timing of every video, so the Qwen 3-D RoPE
        places frames at their real times (without it transformers assumes 24 fps)."""
        kw: dict[str, Any] = {"padding": True, "return_tensors": "pt"}
        s = self.settings
        if s.min_pixels or s.max_pixels:
            kw["images_kwargs"] = {"size": _size(self.processor, "image_processor", s)}
        spacings = [
            p["seconds_per_frame"]
            for conv in conversations
            for msg in conv
            if not isinstance(msg["content"], str)
            for p in msg["content"]
            if p.get("type") == "video"
        ]
        if not spacings:
            return kw
        videos: dict[str, Any] = {"do_sample_frames": False}  # mmemo sampled the frames
        if s.video_min_pixels or s.video_max_pixels:
            videos["size"] = _size(self.processor, "video_processor", s, video=True)
        if self.family == "qwen2_5_omni_thinker":
            # the Omni processor takes one frame rate for the whole call
            rates = {round(1.0 / sp, 6) for sp in spacings}
            if len(rates) > 1:
                raise ValueError(
                    "Omni: videos with different frame spacings in one call; encode them "
                    "one conversation at a time"
                )
            videos["fps"] = rates.pop()
        else:
            videos["video_metadata"] = [
                {"total_num_frames": n, "fps": 1.0 / sp, "frames_indices": list(range(n))}
                for conv in conversations
                for msg in conv
                if not isinstance(msg["content"], str)
                for p in msg["content"]
                if p.get("type") == "video"
                for n, sp in [(len(p["video"]), p["seconds_per_frame"])]
            ]
        kw["videos_kwargs"] = videos
        return kw

    def encode(self, conversations: list[list[dict]], add_generation_prompt: bool) -> dict:
        """Tokenise materialised conversations (left-padded) with their media features."""
        if self.spec.causal_lm:
            return self.tokenizer.apply_chat_template(
                conversations,
                tokenize=True,
                return_dict=True,
                add_generation_prompt=add_generation_prompt,
                padding=True,
                return_tensors="pt",
            )
        return self.processor.apply_chat_template(
            _strip_private(conversations),
            tokenize=True,
            return_dict=True,
            add_generation_prompt=add_generation_prompt,
            processor_kwargs=self.processor_kwargs(conversations),
        )

    def prompt_text(self, row: dict, base_dir: str | Path | None = None) -> str:
        """The exact prompt string (chat template applied, generation prompt added) of a row."""
        conv = self.materialize(self.messages(row, base_dir))
        template = self.tokenizer if self.spec.causal_lm else self.processor
        return template.apply_chat_template(
            _strip_private([conv])[0], tokenize=False, add_generation_prompt=True
        )

    def media_features(self, prompt_messages: list[dict]) -> dict:
        """Media features of one prompt (keys of :data:`MEDIA_FEATURE_KEYS` the processor gave),
        for a model forward on any token sequence that starts with this prompt."""
        if self.spec.causal_lm:
            return {}
        enc = self.encode([self.materialize(prompt_messages)], add_generation_prompt=True)
        return {k: enc[k] for k in MEDIA_FEATURE_KEYS if k in enc}

    def collate_sft(self, rows: list[dict]) -> dict:
        """An SFT batch from rows holding ``prompt`` (messages) and ``completion`` (text).

        Labels are -100 everywhere except the assistant answer (and its closing end token).
        Each row is encoded alone and right-padded here, so no processor padding rules apply.
        """
        import torch

        encoded, labels = [], []
        for row in rows:
            prompt = self.materialize(row["prompt"])
            answer = (
                row["completion"]
                if self.spec.causal_lm
                else [{"type": "text", "text": row["completion"]}]
            )
            conv = [*prompt, {"role": "assistant", "content": answer}]
            n_prompt = int(self.encode([prompt], add_generation_prompt=True)["input_ids"].shape[1])
            enc = self.encode([conv], add_generation_prompt=False)
            lab = enc["input_ids"][0].clone()
            lab[:n_prompt] = -100
            encoded.append(enc)
            labels.append(lab)
        pad_id = self.tokenizer.pad_token_id
        width = max(int(e["input_ids"].shape[1]) for e in encoded)

        def right_pad(t, value):
            return torch.nn.functional.pad(t, (0, width - t.shape[-1]), value=value)

        batch = {
            "input_ids": torch.cat([right_pad(e["input_ids"], pad_id) for e in encoded]),
            "attention_mask": torch.cat([right_pad(e["attention_mask"], 0) for e in encoded]),
            "labels": torch.stack([right_pad(lab, -100) for lab in labels]),
        }
        if "mm_token_type_ids" in encoded[0] and _accepts(self.model, "mm_token_type_ids"):
            batch["mm_token_type_ids"] = torch.cat(
                [right_pad(e["mm_token_type_ids"], 0) for e in encoded]
            )
        batch.update(
            concat_features([{k: e[k] for k in MEDIA_FEATURE_KEYS if k in e} for e in encoded])
        )
        return batch

    # ---- inference ---------------------------------------------------------------------
    def generate(
        self,
        rows: list[dict],
        base_dir: str | Path | None = None,
        max_new_tokens: int | None = None,
        **generation_kwargs: Any,
    ) -> list[str]:
        """Generate one completion per row (greedy unless ``do_sample=True`` is passed);
        ``max_new_tokens`` defaults to the settings' (the training completion length)."""
        import torch

        convs = [self.materialize(self.messages(r, base_dir)) for r in rows]
        if self.family == "qwen2_5_omni_thinker" and len(convs) > 1:
            # one frame rate per Omni processor call: rows one at a time
            return [
                t
                for r in rows
                for t in self.generate([r], base_dir, max_new_tokens, **generation_kwargs)
            ]
        self.tokenizer.padding_side = "left"
        enc = self.encode(convs, add_generation_prompt=True)
        enc = {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in enc.items()}
        tok = self.tokenizer
        generation_kwargs.setdefault("do_sample", False)
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens or self.settings.max_new_tokens,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                **generation_kwargs,
            )
        new = out[:, enc["input_ids"].shape[1] :]
        return tok.batch_decode(new, skip_special_tokens=True)

    def parse(self, text: str) -> dict[str, Any]:
        """Labels from a completion: ``emotion`` / ``emotions`` / ``aus`` plus
        ``well_formed`` and the ``reasoning`` (think span)."""
        parsed = parse_completion(text, think=self.prompt.think)
        return {
            **parsed.labels(self.prompt.task),
            "well_formed": parsed.well_formed,
            "reasoning": parsed.think,
        }

    def predict(
        self, rows: list[dict], base_dir: str | Path | None = None, **kw: Any
    ) -> list[dict]:
        """Generate and parse: one label dict per row (with the raw ``completion``)."""
        return [{**self.parse(t), "completion": t} for t in self.generate(rows, base_dir, **kw)]


def _sample_video(path: str, num_frames: int, max_side: int) -> tuple[Any, float, list[float]]:
    """``num_frames`` uniform frames (an even count: a short clip repeats its last frame),
    their spacing in seconds (measured from the decoded frames' timestamps) and their times."""
    import numpy as np

    from mmemo import media

    got = media.read_frames(path, num_frames=num_frames, max_side=max_side)
    frames, stamps = got.frames, np.asarray(got.timestamps, dtype=np.float64)
    if len(stamps) > 1:
        spacing = float(np.diff(stamps).mean())
    else:  # one frame: the clip's length stands for its spacing
        spacing = float(media.probe(path).duration or 1.0)
    times = [round(float(t), 3) for t in stamps]
    if len(frames) % 2:
        frames = np.concatenate([frames, frames[-1:]], axis=0)
        times.append(round(times[-1] + spacing, 3) if times else 0.0)
    return frames, max(spacing, 1e-3), times


def _size(processor: Any, attr: str, s: BackboneSettings, video: bool = False) -> dict:
    """``{"shortest_edge", "longest_edge"}`` (pixel counts) from the settings, keeping the
    processor's own value for a limit left unset."""
    own = getattr(getattr(processor, attr, None), "size", None)

    def own_value(key: str) -> Any:
        return own.get(key) if isinstance(own, dict) else getattr(own, key, None)

    lo, hi = (s.video_min_pixels, s.video_max_pixels) if video else (s.min_pixels, s.max_pixels)
    return {
        "shortest_edge": int(lo or own_value("shortest_edge")),
        "longest_edge": int(hi or own_value("longest_edge")),
    }


_PRIVATE = ("seconds_per_frame", "frame_times")


def _strip_private(conversations: list[list[dict]]) -> list[list[dict]]:
    """Conversations without mmemo's own part keys (``seconds_per_frame``, ``frame_times``)."""
    out = []
    for conv in conversations:
        msgs = []
        for msg in conv:
            if isinstance(msg["content"], str):
                msgs.append(msg)
                continue
            parts = [{k: v for k, v in p.items() if k not in _PRIVATE} for p in msg["content"]]
            msgs.append({**msg, "content": parts})
        out.append(msgs)
    return out


def _accepts(model: Any, name: str) -> bool:
    import inspect

    return name in inspect.signature(model.forward).parameters


def concat_features(per_row: list[dict]) -> dict:
    """Concatenate per-row media features along dim 0 (rows without a key contribute nothing,
    which matches the order of media placeholder tokens in the batch)."""
    import torch

    keys = [k for k in MEDIA_FEATURE_KEYS if any(k in f for f in per_row)]
    return {k: torch.cat([f[k] for f in per_row if k in f]) for k in keys}


def load_backbone(path_or_id: str | Path, **kwargs: Any) -> Backbone:
    """Shorthand for :meth:`Backbone.from_pretrained` (the YAML ``_component_`` target)."""
    return Backbone.from_pretrained(path_or_id, **kwargs)
