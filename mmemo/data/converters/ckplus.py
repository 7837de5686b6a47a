"""CK+ (Extended Cohn-Kanade) in class folders, e.g. the common CK+48 crops.

Layout: ``<src>/<class>/S010_004_00000017.png`` with class folders anger, contempt, disgust,
fear, happy, sadness, surprise (and neutral, in exports that keep the first
frames). The file name gives subject ``S010``, sequence ``004`` and
frame ``17``; the subject becomes ``speaker`` so splits can be made by person (several frames
of one sequence, and several sequences of one subject, are near-duplicates).

Run: ``mmemo data convert ckplus /path/to/ckplus48 ckplus.jsonl``
"""

from __future__ import annotations

import re
from pathlib import Path

from mmemo.data.converters.base import ConvertReport, ManifestWriter, require_source
from mmemo.media import IMAGE_EXTS

DATASET = "ckplus"
# CK+48 has the seven expression folders; some exports add the neutral first frames.
CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise", "neutral")
_NAME_RE = re.compile(r"^(S\d{3})_(\d{3})_(\d{8})$")


def convert(src: str | Path, out: str | Path) -> ConvertReport:
    """Convert CK+ class folders to a manifest at ``out``.

    Row keys: ``image``; ``emotion`` (the class folder name); ``speaker`` (subject, ``S010``);
    ``sequence`` (``S010_004``, unique over the corpus); ``frame`` (int); ``dataset``.
    Images in unknown folders or with names not of the form ``S010_004_00000017`` are skipped.
    """
    root = require_source(src, "dir")
    with ManifestWriter(out) as writer:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            label = folder.name.lower()
            images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
            if label not in CLASSES:
                if images:
                    writer.skip(folder, f"unknown class folder (expected one of {CLASSES})")
                continue
            for path in images:
                m = _NAME_RE.match(path.stem)
                if m is None:
                    writer.skip(path, "file name is not Sxxx_sss_ffffffff (subject_sequence_frame)")
                    continue
                subject, sequence, frame = m.groups()
                row = {
                    "id": f"{DATASET}_{path.stem}",
                    "image": path,
                    "emotion": label,
                    "speaker": subject,
                    "sequence": f"{subject}_{sequence}",
                    "frame": int(frame),
                    "dataset": DATASET,
                }
                writer.write(row, str(path))
    return writer.report
