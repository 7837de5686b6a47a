"""All cues of one media file: facial action units from the frames, prosody from the audio.

:func:`extract_cues` decides from the file what can be measured (an image has no audio, an
audio file no face, a video may lack either) and returns a :class:`MediaCues`. A part that
was asked for but found nothing (no face, no speech, no audio track) is an *empty* cue object
with a reason; a part not asked for, or impossible for the media kind, is ``None``. Only an
unreadable file raises (:class:`mmemo.media.MediaError`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmemo.encoders.base import AUCues, ProsodyCues


@dataclass
class MediaCues:
    """Cues of one file. ``timings_s``: wall seconds per part ("face", "prosody", "total")."""

    path: str
    kind: str  # "video", "audio" or "image"
    duration_s: float  # 0.0 for images
    face: AUCues | None = None
    prosody: ProsodyCues | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self, contours: bool = True) -> dict[str, Any]:
        """JSON-ready dict; ``contours=False`` drops the per-frame prosody contours."""
        return {
            "path": self.path,
            "kind": self.kind,
            "duration_s": round(self.duration_s, 3),
            "description": self.describe(),
            "face": None if self.face is None else self.face.to_dict(),
            "prosody": None if self.prosody is None else self.prosody.to_dict(contours=contours),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
        }

    def describe(self) -> str:
        """Compact factual text of all parts (see :func:`mmemo.encoders.describe.describe_cues`)."""
        from mmemo.encoders.describe import describe_cues

        return describe_cues(self)


def extract_cues(
    path: str | Path,
    face: bool = True,
    prosody: bool = True,
    au_fps: float = 10.0,
    max_side: int = 640,
    gender: str | None = None,
    speaker_stats: Any = None,
) -> MediaCues:
    """Measure every available cue of one image, audio or video file.

    Args:
        path: the media file.
        face: measure facial action units (images and videos).
        prosody: measure speech prosody (audio files and videos with an audio track).
        au_fps: frames per second sampled for the AUs (the whole clip at this rate).
        max_side: frames are decoded with their longer side at most this many pixels.
        gender, speaker_stats: passed to :func:`mmemo.encoders.prosody.measure_prosody`.

    Raises:
        MediaError: the file is missing, corrupt or of an unsupported type.
    """
    from mmemo.media import probe

    t_start = time.perf_counter()
    info = probe(path)
    out = MediaCues(str(path), info.kind, float(info.duration))
    if face and info.kind in ("video", "image"):
        from mmemo.encoders.au import measure_face

        t0 = time.perf_counter()
        out.face = measure_face(path, fps=au_fps, max_side=max_side)
        out.timings_s["face"] = time.perf_counter() - t0
    if prosody and info.kind in ("video", "audio"):
        t0 = time.perf_counter()
        out.prosody = prosody_cues(path, info, gender=gender, speaker_stats=speaker_stats)
        out.timings_s["prosody"] = time.perf_counter() - t0
    out.timings_s["total"] = time.perf_counter() - t_start
    return out


def prosody_cues(
    path: str | Path,
    info: Any,
    audio: Any = None,
    gender: str | None = None,
    speaker_stats: Any = None,
) -> ProsodyCues:
    """The prosody part of :func:`extract_cues` (an audio file or a video).

    ``info`` is the file's :class:`mmemo.media.MediaInfo`; ``audio``, when given, is the
    file's audio already decoded (:class:`mmemo.media.Audio`), used instead of reading it
    again (16 kHz mono gives exactly the samples the path would)."""
    if not info.has_audio:
        return ProsodyCues(
            empty=True, reason="the video has no audio track", duration_s=float(info.duration)
        )
    from mmemo.encoders.prosody import measure_prosody

    source = path if audio is None else audio
    return measure_prosody(source, speaker_stats=speaker_stats, gender=gender)
