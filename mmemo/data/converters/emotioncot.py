"""EmotionCoT-style speech rows (EmotionThinker): audio, emotion, transcript, prosody levels,
reasoning.

The source is JSON Lines (or a JSON list, or a folder of such files) as written by the
EmotionThinker labelling pipeline, e.g. ``{"audio_path": "IEMOCAP/Ses01F_impro01_F000.wav",
"transcription": "...", "emotion": "neutral", "dataset": "IEMOCAP", "gender": "Female",
"age_level": "Young Adult", "pitch_level": "low", "energy_level": "normal", "speed_level":
"fast", "intonation": "falling", "stressed_words": [...], "reasoning": "..."}``. Keys are
looked up leniently (the pipeline itself accepts the aliases below):

| field | keys tried, in order |
|---|---|
| audio | ``audio_path``, ``audio``, ``path``, ``wav``, ``wav_path`` |
| emotion | ``emotion``, ``gt``, ``groundtruth_emotion``, ``label`` |
| transcript | ``transcription``, ``text``, ``transcript`` |
| reasoning | ``reasoning``, ``cot``, ``rationale``, ``response`` |

The prosody fields (``pitch_level``, ``energy_level``, ``speed_level``, ``intonation``,
``stressed_words``, ``gender``, ``age_level`` and the measured values behind them) are kept
unchanged. EmotionCoT ships no audio: relative paths are resolved against ``media_dir``
(default: the annotation file's folder).

Run: ``mmemo data convert emotioncot emotioncot.jsonl cot.jsonl --media-dir /path/to/audio``
"""

from __future__ import annotations

from pathlib import Path

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    extra_keys,
    first_key,
    read_records,
    require_source,
    resolve_relative,
    source_files,
    split_from_name,
)

DATASET = "emotioncot"
AUDIO_KEYS = ("audio_path", "audio", "path", "wav", "wav_path")
EMOTION_KEYS = ("emotion", "gt", "groundtruth_emotion", "label")
TRANSCRIPT_KEYS = ("transcription", "text", "transcript")
REASONING_KEYS = ("reasoning", "cot", "rationale", "response")
SPEAKER_KEYS = ("speaker", "speaker_id")


def convert(src: str | Path, out: str | Path, media_dir: str | Path | None = None) -> ConvertReport:
    """Convert EmotionCoT-style rows to a manifest at ``out``.

    Row keys: ``audio``; ``emotion`` (lower-cased); ``transcript``; ``reasoning``;
    ``speaker`` (when the row names one); ``split`` (from the file name); ``source_dataset``
    (the row's own ``dataset``); ``source_row``; ``dataset`` = ``emotioncot``; prosody and
    speaker-trait fields unchanged.
    """
    root = require_source(src)
    media_root = Path(media_dir) if media_dir is not None else None
    consumed = ("id", *AUDIO_KEYS, *EMOTION_KEYS, *TRANSCRIPT_KEYS, *REASONING_KEYS, *SPEAKER_KEYS)
    with ManifestWriter(out) as writer:
        for path in source_files(root, (".json", ".jsonl")):
            split = split_from_name(path.name)
            for ref, obj in read_records(path, writer):
                _, audio = first_key(obj, AUDIO_KEYS)
                if not isinstance(audio, str):
                    writer.skip(ref, f"no audio path (looked for {list(AUDIO_KEYS)})")
                    continue
                _, emotion = first_key(obj, EMOTION_KEYS)
                if not isinstance(emotion, str) or not emotion.strip():
                    writer.skip(ref, f"no emotion label (looked for {list(EMOTION_KEYS)})")
                    continue
                _, transcript = first_key(obj, TRANSCRIPT_KEYS)
                _, reasoning = first_key(obj, REASONING_KEYS)
                _, speaker = first_key(obj, SPEAKER_KEYS)
                # Source ids are not always given; the audio path (without extension) is unique.
                rid = obj.get("id") or Path(audio).with_suffix("").as_posix().strip("/").replace(
                    "/", "_"
                )
                row = {
                    **extra_keys(obj, consumed),
                    "id": f"{DATASET}_{rid}",
                    "audio": resolve_relative(audio, media_root, path.parent),
                    "emotion": emotion.strip().lower(),
                    "transcript": transcript if isinstance(transcript, str) else None,
                    "reasoning": reasoning if isinstance(reasoning, str) else None,
                    "speaker": str(speaker) if speaker is not None else None,
                    "split": split,
                    "source_row": ref,
                    "dataset": DATASET,
                }
                writer.write(row, ref)
    return writer.report
