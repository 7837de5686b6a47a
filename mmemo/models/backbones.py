"""Backbone adapters: one per model family, all behind :class:`Backbone`.

An adapter loads processor + model from a local folder (or a hub id whose files are already
in the local Hugging Face cache; nothing is downloaded), turns manifest rows into chats with
media parts and/or cue text (:mod:`mmemo.data.prompts`), decodes media with
:mod:`mmemo.media`, collates SFT batches (labels on the assistant turn only), computes the media
features a forward pass needs, generates with the think/answer template, and parses answers.

| family | transformers class | media read |
|---|---|---|
| ``qwen2`` | ``Qwen2ForCausalLM`` | none (cue text) |
| ``qwen2_vl`` | ``Qwen2VLForConditionalGeneration`` | image, video frames |
| ``qwen2_5_vl`` | ``Qwen2_5_VLForConditionalGeneration`` | image, video frames |
| ``qwen2_audio`` | ``Qwen2AudioForConditionalGeneration`` | audio (a video's audio track) |
| ``qwen2_5_omni_thinker`` | ``Qwen2_5OmniThinkerForConditionalGeneration`` | image, video, audio |

Adding a family = one entry in :data:`FAMILIES` (and a tiny builder in ``mmemo.models.tiny``).
Video frames are sampled by mmemo (``num_frames`` uniform frames, even count because the Qwen
vision towers patch 2 frames at a time), so training and inference see the same frames.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmemo.data.prompts import PromptOptions, build_messages, parse_completion, target_text


@dataclass(frozen=True)
class FamilySpec:
    model_class: str  # attribute of ``transformers``
    modalities: tuple[str, ...]
    causal_lm: bool = False  # processor is a plain tokenizer


FAMILIES: dict[str, FamilySpec] = {
    "qwen2": FamilySpec("Qwen2ForCausalLM", (), causal_lm=True),
    "qwen2_vl": FamilySpec("Qwen2VLForConditionalGeneration", ("image", "video")),
    "qwen2_5_vl": FamilySpec("Qwen2_5_VLForConditionalGeneration", ("image", "video")),
    "qwen2_audio": FamilySpec("Qwen2AudioForConditionalGeneration", ("audio",)),
    "qwen2_5_omni_thinker": FamilySpec(
        "Qwen2_5OmniThinkerForConditionalGeneration", ("image", "video", "audio")
    ),
}
# config.json model_type -> family (for checkpoints without mmemo_backbone.json)
_MODEL_TYPES = {
    "qwen2": "qwen2",
    "qwen2_5": "qwen2",
    "qwen2_vl": "qwen2_vl",
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen2_audio": "qwen2_audio",
    "qwen2_5_omni_thinker": "qwen2_5_omni_thinker",
}
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


class BackboneNotFound(FileNotFoundError):
    """The checkpoint is neither a local folder nor in the local cache."""


def resolve_checkpoint(path_or_id: str | Path) -> Path:
    """A local folder for ``path_or_id``: the folder itself, or the cached snapshot of a hub id.

    Never downloads: a hub id that is not cached raises :class:`BackboneNotFound` naming the
    local directory to provide.
    """
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackboneNotFound(f"{path}: not a model folder (no config.json)")
        return path
    text = str(path_or_id)
    if path.is_absolute() or text.startswith(".") or text.count("/") != 1:
        raise BackboneNotFound(f"{text}: no such model folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(text, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any cache miss means the same thing here
        raise BackboneNotFound(
            f"{text}: not found in the local Hugging Face cache and mmemo never downloads. "
            f"Download it on a connected machine (huggingface-cli download {text} --local-dir "
            f"DIR), copy DIR here and pass its path (e.g. model.path=DIR). ({type(exc).__name__})"
        ) from None


def detect_family(path: Path) -> str:
    """The family of a checkpoint folder (``mmemo_backbone.json`` or config ``model_type``)."""
    marker = path / "mmemo_backbone.json"
    if marker.is_file():
        return json.loads(marker.read_text())["family"]
    model_type = json.loads((path / "config.json").read_text()).get("model_type", "")
    if model_type not in _MODEL_TYPES:
        raise ValueError(
            f"{path}: model_type {model_type!r} has no mmemo adapter; supported: "
            f"{', '.join(sorted(FAMILIES))} (pass family= to force one)"
        )
    return _MODEL_TYPES[model_type]


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
    """A loaded model + processor of one family, with the row → chat → tensors plumbing.

    Build with :meth:`from_pretrained`. ``prompt`` holds the prompt options (inputs mode,
    think switch, task); ``num_frames`` and ``max_side`` (pixels) control video sampling;
    ``sample_rate`` (Hz) the audio fed to Whisper-style feature extractors.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        family: str,
        path: str | Path,
        *,
        prompt: PromptOptions | None = None,
        num_frames: int = 4,
        max_side: int = 224,
        sample_rate: int = 16000,
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        self.model = model
        self.processor = processor
        self.family = family
        self.spec = FAMILIES[family]
        self.path = str(path)
        if num_frames % 2:
            raise ValueError(
                f"num_frames must be even (Qwen vision patches 2 frames), got {num_frames}"
            )
        self.num_frames = num_frames
        self.max_side = max_side
        self.sample_rate = sample_rate
        opts = prompt or PromptOptions()
        opts.modalities = self.spec.modalities
        self.prompt = opts
        self._cache = _MediaCache()
        if hasattr(processor, "video_processor"):
            # The Omni processor class carries a default video size (~100k-600k pixels) that
            # overrides the saved video processor's; the saved one is authoritative in mmemo.
            defaults = dict(getattr(processor, "videos_kwargs", {}) or {})
            defaults.pop("size", None)
            processor.videos_kwargs = defaults

    # ---- loading -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str | Path,
        *,
        family: str | None = None,
        dtype: str = "float32",
        inputs: str = "media",
        think: bool = True,
        task: str = "emotion",
        num_frames: int = 4,
        max_side: int = 224,
        attn_implementation: str | None = None,
    ) -> Backbone:
        """Load a checkpoint folder (or cached hub id). ``dtype``: float32, bfloat16, float16."""
        import torch
        import transformers

        path = resolve_checkpoint(path_or_id)
        family = family or detect_family(path)
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        spec = FAMILIES[family]
        model_cls = getattr(transformers, spec.model_class)
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        model = model_cls.from_pretrained(path, **kwargs)
        if spec.causal_lm:
            processor = transformers.AutoTokenizer.from_pretrained(path)
        else:
            processor = transformers.AutoProcessor.from_pretrained(path)
        opts = PromptOptions(inputs=inputs, think=think, task=task)
        return cls(
            model, processor, family, path, prompt=opts, num_frames=num_frames, max_side=max_side
        )

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
        """Prompt messages for one manifest row (media parts carry absolute ``path``)."""
        return build_messages(row, self.prompt, base_dir)

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
        elif kind == "video":
            value = self._cache.get(
                ("video", path, self.num_frames, self.max_side),
                lambda: (
                    media.read_frames(
                        path, num_frames=self.num_frames, max_side=self.max_side
                    ).frames
                ),
            )
            if len(value) % 2:  # short clips: repeat the last frame to keep an even count
                import numpy as np

                value = np.concatenate([value, value[-1:]], axis=0)
        else:
            value = self._cache.get(
                ("audio", path, self.sample_rate),
                lambda: media.read_audio(path, sample_rate=self.sample_rate).samples,
            )
        return {"type": kind, kind: value}

    # ---- tensors -----------------------------------------------------------------------
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
            conversations,
            tokenize=True,
            return_dict=True,
            add_generation_prompt=add_generation_prompt,
            processor_kwargs={"padding": True, "return_tensors": "pt"},
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
        max_new_tokens: int = 128,
        **generation_kwargs: Any,
    ) -> list[str]:
        """Generate one completion per row (greedy unless ``do_sample=True`` is passed)."""
        import torch

        convs = [self.materialize(self.messages(r, base_dir)) for r in rows]
        self.tokenizer.padding_side = "left"
        enc = self.encode(convs, add_generation_prompt=True)
        enc = {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in enc.items()}
        tok = self.tokenizer
        generation_kwargs.setdefault("do_sample", False)
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
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
