"""A tiny random-weight Whisper (1 layer, d_model 32, byte-level vocabulary of 266 tokens)
saved to a local folder, built offline in a few seconds: plumbing tests of the Whisper ASR
path, like the tiny backbones of ``mmemo.models.tiny``. It transcribes gibberish."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>",
            "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
            "<|notimestamps|>"]  # fmt: skip


def tiny_whisper(out: Path) -> Path:
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    out.mkdir(parents=True, exist_ok=True)
    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    for t in SPECIALS:
        vocab[t] = len(vocab)
    eot = "<|endoftext|>"
    tok = WhisperTokenizer(vocab=dict(vocab), merges=[], unk_token=eot, bos_token=eot,
                           eos_token=eot, pad_token=eot)  # fmt: skip
    tok.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    special = dict(pad_token_id=ids[eot], bos_token_id=ids[eot], eos_token_id=ids[eot],
                   decoder_start_token_id=ids["<|startoftranscript|>"])  # fmt: skip
    cfg = WhisperConfig(
        vocab_size=len(tok), num_mel_bins=80, d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_source_positions=1500, max_target_positions=64,
        suppress_tokens=[], begin_suppress_tokens=[], **special,
    )  # fmt: skip
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(cfg)
    model.generation_config = GenerationConfig(
        max_length=20, no_timestamps_token_id=ids["<|notimestamps|>"], is_multilingual=True,
        lang_to_id={"<|en|>": ids["<|en|>"], "<|de|>": ids["<|de|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        suppress_tokens=[], begin_suppress_tokens=[], **special,
    )  # fmt: skip
    model.save_pretrained(out)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(out)
    return out
