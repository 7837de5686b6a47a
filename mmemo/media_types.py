"""What :mod:`mmemo.media` and its frame decoders (:mod:`mmemo.video_decode`) both use: the
error every reader raises, the probe result, decoded audio and frames, and opening a container
with PyAV. Import them from :mod:`mmemo.media`; they live here so that neither of the two
modules imports the other back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Audio", "Frames", "MediaError", "MediaInfo"]


class MediaError(Exception):
    """A media file could not be read. ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # keep picklable across worker processes
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` learns about a file without decoding it."""

    path: str
    kind: str  # "video", "audio" or "image"
    duration: float  # seconds; 0.0 for images
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    n_frames: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    # Each stream's own length (a clip's audio often ends before its picture); ``duration``
    # is the longest. None when the file lacks that stream.
    video_duration: float | None = None
    audio_duration: float | None = None
    # Degrees clockwise a player turns the stored picture (display matrix; phone clips):
    # 0, 90, 180 or 270. ``width``/``height`` are as displayed, i.e. after the rotation.
    rotation: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def notes(self) -> list[str]:
        """What a user should know about how this file is read (empty for ordinary files)."""
        out = []
        if (
            self.has_video and self.audio_duration is not None and self.video_duration
            and self.audio_duration < self.video_duration - 0.25
        ):  # fmt: skip
            out.append(
                f"the audio track ends at {self.audio_duration:.2f} s, before the picture "
                f"({self.video_duration:.2f} s): the voice covers only that part"
            )
        if self.rotation:
            out.append(f"the video is stored rotated: frames were turned {self.rotation} degrees")
        return out


@dataclass
class Audio:
    """Decoded audio: ``samples`` float32, ``[n]`` or ``[channels, n]``, at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int
    start: float = 0.0  # seconds from the file start of the first sample

    @property
    def duration(self) -> float:
        return self.samples.shape[-1] / float(self.sample_rate)


@dataclass
class Frames:
    """Sampled video frames: uint8 RGB ``[T, H, W, 3]`` and their times in seconds."""

    frames: np.ndarray
    timestamps: np.ndarray
    fps: float | None = None  # the source frame rate
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def _open_av(p: Path):
    import av

    try:
        return av.open(str(p))
    except av.error.InvalidDataError as exc:
        raise MediaError(p, f"corrupt or unrecognised media data ({exc.strerror or exc})") from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(p, f"cannot open media ({exc})") from exc
