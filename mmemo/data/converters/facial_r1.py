"""FEA-20K (Facial-R1) annotation files: face image, emotion, action units, reasoning.

The source is JSON Lines (or a JSON list, or a folder of such files) with rows like
``{"id": "...", "dataset": "RAF-DB", "image": "path/to/face.jpg", "question": "...",
"AUs": ["AU1", "AU4"], "labels": ["Sadness"], "description": "...", "meta_info": {...}}``.
Key names vary between releases and derived files, so each field is looked up leniently:

| field | keys tried, in order |
|---|---|
| image | ``image``, ``img``, ``path``, ``image_path`` |
| emotion | ``labels``, ``label``, ``emotion``, ``emotions`` (a list or one string) |
| action units | ``AUs``, ``aus``, ``au``, ``AU`` (``"AU6"``, ``"au06"`` or ``6`` -> ``"AU6"``) |
| reasoning | ``reasoning``, ``description``, ``rationale`` |
| prompt | ``question``, ``prompt``, ``problem`` |

FEA-20K ships annotations only; the images come from the original corpora (RAF-DB,
AffectNet, FER2013, BP4D, DISFA, RAF-AU, FABA). Relative image paths are resolved against
``media_dir`` (Facial-R1's ``--image_folders``; default: the annotation file's folder).

Run: ``mmemo data convert facial_r1 fea20k_train.jsonl fea20k.jsonl --media-dir /path/to/images``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mmemo.data.converters.base import (
    ConvertReport,
    ManifestWriter,
    extra_keys,
    first_key,
    parse_list,
    read_records,
    require_source,
    resolve_relative,
    source_files,
    split_from_name,
)

DATASET = "fea20k"
IMAGE_KEYS = ("image", "img", "path", "image_path")
LABEL_KEYS = ("labels", "label", "emotion", "emotions")
AU_KEYS = ("AUs", "aus", "au", "AU")
REASONING_KEYS = ("reasoning", "description", "rationale")
PROMPT_KEYS = ("question", "prompt", "problem")
SPEAKER_KEYS = ("speaker", "subject", "subject_id")
_AU_RE = re.compile(r"^\s*(?:AU\s*)?0*(\d{1,2})\s*$", re.IGNORECASE)


def normalise_aus(value: Any) -> list[str]:
    """Action units as ``["AU1", "AU12"]``, in source order, duplicates removed.

    >>> normalise_aus(["au06", 12, "AU12"])
    ['AU6', 'AU12']
    """
    items = value if isinstance(value, list) else parse_list(value)
    out: list[str] = []
    for item in items:
        m = _AU_RE.match(str(item))
        if m is None or int(m.group(1)) == 0:
            raise ValueError(f"not an action unit: {item!r}")
        au = f"AU{int(m.group(1))}"
        if au not in out:
            out.append(au)
    return out


def _labels(value: Any) -> dict[str, Any]:
    items = value if isinstance(value, list) else parse_list(value)
    words = [str(w).strip().lower() for w in items if str(w).strip()]
    if not words:
        raise ValueError("empty emotion label")
    out: dict[str, Any] = {"emotion": words[0]}
    if len(words) > 1:
        out["emotions"] = words
    return out


def convert(src: str | Path, out: str | Path, media_dir: str | Path | None = None) -> ConvertReport:
    """Convert FEA-20K style annotation files to a manifest at ``out``.

    Row keys: ``image``; ``emotion`` (first label, lower-cased) and ``emotions`` (all
    labels, when there are several); ``aus`` (when the row lists any); ``reasoning``;
    ``prompt``; ``speaker`` (when the row names a subject); ``split`` (from the file name);
    ``source_dataset`` (the row's own ``dataset`` field); ``source_row``; ``dataset`` =
    ``fea20k``; other source fields (``meta_info`` ...) unchanged.
    """
    root = require_source(src)
    media_root = Path(media_dir) if media_dir is not None else None
    consumed = (
        "id",
        *IMAGE_KEYS,
        *LABEL_KEYS,
        *AU_KEYS,
        *REASONING_KEYS,
        *PROMPT_KEYS,
        *SPEAKER_KEYS,
    )
    with ManifestWriter(out) as writer:
        for path in source_files(root, (".json", ".jsonl")):
            split = split_from_name(path.name)
            for number, (ref, obj) in enumerate(read_records(path, writer), start=1):
                _, image = first_key(obj, IMAGE_KEYS)
                if not isinstance(image, str):
                    writer.skip(ref, f"no image path (looked for {list(IMAGE_KEYS)})")
                    continue
                label_key, label = first_key(obj, LABEL_KEYS)
                if label_key is None:
                    writer.skip(ref, f"no emotion label (looked for {list(LABEL_KEYS)})")
                    continue
                try:
                    labels = _labels(label)
                    _, au_value = first_key(obj, AU_KEYS)
                    aus = normalise_aus(au_value) if au_value is not None else []
                except ValueError as exc:
                    writer.skip(ref, str(exc))
                    continue
                _, reasoning = first_key(obj, REASONING_KEYS)
                _, prompt = first_key(obj, PROMPT_KEYS)
                _, speaker = first_key(obj, SPEAKER_KEYS)
                row = {
                    **extra_keys(obj, consumed),
                    "id": f"{DATASET}_{obj.get('id') or f'{path.stem}_{number}'}",
                    "image": resolve_relative(image, media_root, path.parent),
                    **labels,
                    "aus": aus or None,
                    "reasoning": reasoning if isinstance(reasoning, str) else None,
                    "prompt": prompt if isinstance(prompt, str) else None,
                    "speaker": str(speaker) if speaker is not None else None,
                    "split": split,
                    "source_row": ref,
                    "dataset": DATASET,
                }
                writer.write(row, ref)
    return writer.report
