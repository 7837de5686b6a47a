"""Tiny random-weight backbones, built offline in about a second, for tests and smoke runs.

``build_tiny(family, out_dir)`` writes a complete checkpoint folder (config, safetensors weights,
tokenizer, processor, chat template) with ``save_pretrained``; the backbone adapters then load
it through exactly the code path used for real checkpoints (``mmemo.models.backbones``).

Families (dependencies.md §3): ``qwen2``, ``llama`` (Llama-3 template), ``gemma`` (Gemma
template, no system role) (causal LMs reading cue text; the last two carry no mmemo marker,
so their family is detected from ``config.json`` as for any real checkpoint), ``qwen2_vl``,
``qwen2_5_vl`` (images and video frames), ``qwen2_audio`` (audio), ``qwen2_5_omni_thinker``
(audio + images + video). Every model has hidden size 64, 2 layers, 4 heads, 2 KV heads; the
tokenizer is a byte-level BPE (vocabulary 512) trained on a few lines, so nothing is downloaded.
Chat templates follow the released ones' structure; the video processors sample frames by
default (mmemo passes its own frames with ``do_sample_frames=False`` and their timing).
Weights are random: the models produce gibberish, which is what the tests need (varied rewards).
"""

from __future__ import annotations

import json
from pathlib import Path

FAMILIES: tuple[str, ...] = (
    "qwen2",
    "llama",
    "gemma",
    "qwen2_vl",
    "qwen2_5_vl",
    "qwen2_audio",
    "qwen2_5_omni_thinker",
)

SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<|audio_bos|>",
    "<|AUDIO|>",
    "<|audio_eos|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
)
# Special tokens of the non-Qwen text families: (bos, eos, pad, others)
_OTHER_TOKENS = {
    "llama": ("<|begin_of_text|>", "<|eot_id|>", "<|finetune_right_pad_id|>",
              ("<|start_header_id|>", "<|end_header_id|>")),
    "gemma": ("<bos>", "<end_of_turn>", "<pad>", ("<start_of_turn>", "<eos>")),
}  # fmt: skip

# The BPE is trained on these lines so that prompts and answers tokenise compactly.
_CORPUS = (
    "You are an emotion analyst. Look at the face, listen to the voice, read the cues.",
    "<think>The brows are lowered and the lips are pressed: AU4 AU23 AU24.</think>",
    "<answer>angry</answer> <answer>happy</answer> <answer>sad</answer> <answer>neutral</answer>",
    "happy sad angry fearful disgusted surprised neutral calm contempt fear disgust surprise",
    "pitch energy speaking rate pauses intonation rising falling high low medium loud quiet",
    "AU1 AU2 AU4 AU5 AU6 AU7 AU9 AU10 AU12 AU14 AU15 AU17 AU20 AU23 AU24 AU25 AU26 AU43",
    "Cues: smile present, cheeks raised, voice pitch high, energy loud, rate fast.",
    "What emotion does the person express? Answer with one word inside answer tags.",
    "List the emotions, separated by commas: joy, excitement, worry, anger, sadness.",
    "0 1 2 3 4 5 6 7 8 9 . , : ; ! ? ( ) [ ] - % Hz dB s",
)


def chat_template(family: str) -> str:
    """The tiny chat template of ``family``, shaped like the released one
    (:mod:`mmemo.models.tiny_templates`)."""
    from mmemo.models.tiny_templates import chat_template as template

    return template(family)


def build_tokenizer(family: str, vocab_size: int = 512):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with the family's special tokens (Qwen:
    eos ``<|im_end|>``, pad ``<|endoftext|>``; Llama-3 and Gemma their own) and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if family in _OTHER_TOKENS:
        bos, eos, pad, others = _OTHER_TOKENS[family]
        specials = [bos, eos, pad, *others]
    else:
        bos, eos, pad = None, "<|im_end|>", "<|endoftext|>"
        specials = list(SPECIAL_TOKENS)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    extra = {}
    if family == "qwen2_5_omni_thinker":
        extra = {
            "image_token": "<|IMAGE|>",
            "audio_token": "<|AUDIO|>",
            "video_token": "<|VIDEO|>",
            "vision_bos_token": "<|vision_bos|>",
            "vision_eos_token": "<|vision_eos|>",
            "audio_bos_token": "<|audio_bos|>",
            "audio_eos_token": "<|audio_eos|>",
        }
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        pad_token=pad,
        additional_special_tokens=[t for t in specials if t not in (bos, eos, pad)],
        extra_special_tokens=extra or None,
        model_max_length=4096,
    )
    fast.chat_template = chat_template(family)
    return fast


def _text_kwargs(tok) -> dict:
    ids = {
        "bos_token_id": tok.bos_token_id
        if tok.bos_token_id is not None
        else tok.convert_tokens_to_ids("<|endoftext|>"),
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    return {
        "vocab_size": len(tok),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        **ids,
    }


_MROPE = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}


def _vl_ids(tok) -> dict:
    c = tok.convert_tokens_to_ids
    return {
        "image_token_id": c("<|image_pad|>"),
        "video_token_id": c("<|video_pad|>"),
        "vision_start_token_id": c("<|vision_start|>"),
        "vision_end_token_id": c("<|vision_end|>"),
    }


def _image_processor_kwargs() -> dict:
    return {"min_pixels": 56 * 56, "max_pixels": 112 * 112}


def _video_processor_kwargs() -> dict:
    # Frame sampling on, as a released processor may have it: mmemo samples the frames itself
    # (mmemo.media.read_frames) and tells the processor so at every call.
    return {"min_pixels": 56 * 56, "max_pixels": 112 * 112, "do_sample_frames": True}


def build_model_and_processor(family: str, seed: int = 0):
    """Build (model, processor) for ``family`` in memory. Processor is the tokenizer for ``qwen2``."""
    import torch

    if family not in FAMILIES:
        raise ValueError(f"unknown tiny family {family!r}; expected one of {', '.join(FAMILIES)}")
    torch.manual_seed(seed)
    tok = build_tokenizer(family)
    text = _text_kwargs(tok)
    tmpl = chat_template(family)

    if family == "qwen2":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        model = Qwen2ForCausalLM(Qwen2Config(**text, tie_word_embeddings=True))
        return model, tok

    if family == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(**text, tie_word_embeddings=True)), tok

    if family == "gemma":
        from transformers import GemmaConfig, GemmaForCausalLM

        return GemmaForCausalLM(GemmaConfig(**text, head_dim=16)), tok

    if family in ("qwen2_vl", "qwen2_5_vl"):
        from transformers import (
            Qwen2_5_VLConfig,
            Qwen2_5_VLForConditionalGeneration,
            Qwen2_5_VLProcessor,
            Qwen2VLConfig,
            Qwen2VLForConditionalGeneration,
            Qwen2VLImageProcessor,
            Qwen2VLProcessor,
            Qwen2VLVideoProcessor,
        )

        if family == "qwen2_vl":
            vision = {"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2,
                      "mlp_ratio": 2}  # fmt: skip
            config_cls, model_cls = Qwen2VLConfig, Qwen2VLForConditionalGeneration
            proc_cls = Qwen2VLProcessor
        else:
            vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                      "out_hidden_size": 64, "fullatt_block_indexes": [1],
                      "window_size": 112}  # fmt: skip
            config_cls, model_cls = Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
            proc_cls = Qwen2_5_VLProcessor
        cfg = config_cls(
            text_config={**text, "rope_parameters": _MROPE},
            vision_config=vision,
            **_vl_ids(tok),
            tie_word_embeddings=True,
        )
        model = model_cls(cfg)
        processor = proc_cls(
            image_processor=Qwen2VLImageProcessor(**_image_processor_kwargs()),
            video_processor=Qwen2VLVideoProcessor(**_video_processor_kwargs()),
            tokenizer=tok,
            chat_template=tmpl,
        )
        return model, processor

    if family == "qwen2_audio":
        from transformers import (
            Qwen2AudioConfig,
            Qwen2AudioForConditionalGeneration,
            Qwen2AudioProcessor,
            WhisperFeatureExtractor,
        )

        cfg = Qwen2AudioConfig(
            audio_config={
                "num_mel_bins": 128,
                "encoder_layers": 1,
                "encoder_attention_heads": 2,
                "encoder_ffn_dim": 64,
                "d_model": 32,
            },
            text_config={**text, "model_type": "qwen2", "tie_word_embeddings": True},
            audio_token_index=tok.convert_tokens_to_ids("<|AUDIO|>"),
        )
        model = Qwen2AudioForConditionalGeneration(cfg)
        processor = Qwen2AudioProcessor(
            feature_extractor=WhisperFeatureExtractor(feature_size=128),
            tokenizer=tok,
            chat_template=tmpl,
        )
        return model, processor

    # qwen2_5_omni_thinker
    from transformers import (
        Qwen2_5OmniProcessor,
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
        WhisperFeatureExtractor,
    )

    c = tok.convert_tokens_to_ids
    cfg = Qwen2_5OmniThinkerConfig(
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "d_model": 32,
            "output_dim": 64,
            "n_window": 50,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
            "window_size": 112,
        },
        text_config={**text, "rope_parameters": _MROPE, "tie_word_embeddings": True},
        audio_token_index=c("<|AUDIO|>"),
        image_token_index=c("<|IMAGE|>"),
        video_token_index=c("<|VIDEO|>"),
        audio_start_token_id=c("<|audio_bos|>"),
        audio_end_token_id=c("<|audio_eos|>"),
        vision_start_token_id=c("<|vision_bos|>"),
        vision_end_token_id=c("<|vision_eos|>"),
    )
    model = Qwen2_5OmniThinkerForConditionalGeneration(cfg)
    processor = Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(**_image_processor_kwargs()),
        video_processor=Qwen2VLVideoProcessor(**_video_processor_kwargs()),
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tok,
        chat_template=tmpl,
    )
    return model, processor


def build_tiny(family: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Build a tiny random-weight ``family`` checkpoint into ``out_dir`` and return that path.

    The folder holds what a real checkpoint holds (``config.json``, ``model.safetensors``,
    tokenizer and processor files) plus ``mmemo_backbone.json`` naming the family, so
    ``mmemo.models.backbones.load_backbone(out_dir)`` finds the right adapter.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, processor = build_model_and_processor(family, seed=seed)
    model.generation_config.pad_token_id = model.config.get_text_config().pad_token_id
    model.generation_config.eos_token_id = model.config.get_text_config().eos_token_id
    model.generation_config.bos_token_id = model.config.get_text_config().bos_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    if family not in _OTHER_TOKENS:  # Llama/Gemma: found from config.json, like real ones
        marker = {"family": family, "tiny": True}
        (out / "mmemo_backbone.json").write_text(json.dumps(marker) + "\n")
    return out
