"""Reading media: video frames, audio, images, and probing.

- Video frames are read by seeking (decord ``get_batch`` on the wanted indices), never by
  decoding the whole file; PyAV is the fallback when decord cannot open a container. Several
  readers of one clip can share one decode (:func:`frames_decoded_once`).
- Audio comes from audio files (soundfile: wav/flac/ogg/mp3) or from the audio track of any
  container (PyAV: m4a/aac/mp4/mkv/webm/avi/...), optionally mixed to mono and resampled
  (soxr). Long files can be read in windows with :func:`iter_audio`.
- Every failure (missing, empty, truncated, corrupt, unsupported, no such stream) raises
  :class:`MediaError`, which names the file and the reason.

Shapes and units: audio samples are float32 in [-1, 1], shape ``[n]`` (mono) or
``[channels, n]``; frames are uint8 RGB ``[T, H, W, 3]``; times are seconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

# the types and the container opener that the frame decoders (mmemo.video_decode) share
from mmemo.media_types import Audio, Frames, MediaError, MediaInfo, _open_av

AUDIO_EXTS = frozenset({".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma"})
VIDEO_EXTS = frozenset({".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv"})
IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
# Formats soundfile (libsndfile) reads directly; everything else goes through PyAV.
_SOUNDFILE_EXTS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3"})


# --------------------------------------------------------------------------- helpers


def media_kind(path: str | Path) -> str:
    """``"video"``, ``"audio"`` or ``"image"`` from the file extension; MediaError otherwise."""
    ext = Path(path).suffix.lower()
    if ext in VIDEO_EXTS:
        return "video"
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in IMAGE_EXTS:
        return "image"
    raise MediaError(
        path,
        f"unsupported file type {ext or '(no extension)'!r}; expected one of "
        f"{', '.join(sorted(VIDEO_EXTS | AUDIO_EXTS | IMAGE_EXTS))}",
    )


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "file not found")
    if not p.is_file():
        raise MediaError(p, "not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(p, "empty file (0 bytes)")
    return p


def _declared_duration(stream) -> float | None:
    """A stream's own length in seconds as the container declares it, or None."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION") or (stream.metadata or {}).get("duration")
    if tag:  # Matroska/WebM write "HH:MM:SS.nnnnnnnnn" per stream
        try:
            h, m, sec = str(tag).split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            return None
    return None


def _stream_durations(p: Path, container, streams: list) -> list[float]:
    """Each stream's length: declared, else measured by demuxing (no decoding), else the
    container's. Live-written WebM (browser MediaRecorder) declares none at all."""
    out = [_declared_duration(s) for s in streams]
    if any(d is None for d in out):
        ends: dict[int, float] = {}
        wanted = {s.index for s, d in zip(streams, out, strict=True) if d is None}
        with _open_av(p) as scan:  # a fresh demuxer: the caller's keeps its position
            try:
                for packet in scan.demux(*[s for s in scan.streams if s.index in wanted]):
                    if packet.pts is None or packet.time_base is None:
                        continue
                    t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    ends[packet.stream.index] = max(ends.get(packet.stream.index, 0.0), t)
            except Exception:  # a damaged tail: keep what was measured
                pass
        whole = container.duration / 1_000_000.0 if container.duration is not None else 0.0
        out = [
            d if d is not None else ends.get(s.index, whole)
            for s, d in zip(streams, out, strict=True)
        ]
    return [float(d) for d in out]


def _rotation(container, stream) -> int:
    """Clockwise display rotation of a video stream, from its first frame's display matrix."""
    frames = container.decode(stream)
    try:
        frame = next(frames, None)
        return 0 if frame is None else int(round(float(frame.rotation or 0.0) / 90.0)) * 90 % 360
    except Exception:  # undecodable first frame: the frame readers will say why
        return 0
    finally:
        frames.close()  # freed now, while the container is open, not by the collector later


# --------------------------------------------------------------------------- probe


def probe(path: str | Path) -> MediaInfo:
    """Duration, frame rate, size, rotation and which streams a file has.

    Nothing is decoded except a video's first frame (its display matrix holds the rotation).
    Results are cached per file path, size and modification time.
    """
    p = _check_file(path)
    st = p.stat()
    return _probe_cached(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _probe_cached(path: str, size: int, mtime_ns: int) -> MediaInfo:
    p = Path(path)
    kind = media_kind(p)
    if kind == "image":
        img = read_image(p)
        return MediaInfo(str(p), "image", 0.0, True, False, None, img.shape[1], img.shape[0], 1)
    if kind == "audio" and p.suffix.lower() in _SOUNDFILE_EXTS:
        import soundfile as sf

        try:
            info = sf.info(str(p))
        except (sf.LibsndfileError, RuntimeError):
            info = None  # e.g. mp3 variants libsndfile rejects: let PyAV try
        if info is not None:
            if info.frames <= 0:
                raise MediaError(p, "audio file holds no samples")
            seconds = info.frames / info.samplerate
            return MediaInfo(
                str(p), "audio", seconds, False, True, sample_rate=int(info.samplerate),
                channels=int(info.channels), audio_duration=seconds,
            )  # fmt: skip
    with _open_av(p) as container:
        v = container.streams.video[0] if container.streams.video else None
        a = container.streams.audio[0] if container.streams.audio else None
        if v is None and a is None:
            raise MediaError(p, "no audio or video stream in the file")
        if kind == "audio" and a is None:
            raise MediaError(p, "no audio stream in the file")
        fmt = container.format.name or ""
        if fmt.endswith("_pipe") or fmt == "image2":
            raise MediaError(
                p, f"the file holds a still image ({fmt}), not a {kind}: wrong extension?"
            )
        present = [s for s in (v, a) if s is not None]
        lengths = dict(
            zip([s.type for s in present], _stream_durations(p, container, present), strict=True)
        )
        fps = width = height = n_frames = None
        rotation = 0
        if v is not None:
            rate = v.average_rate or v.guessed_rate
            fps = float(rate) if rate else None
            width, height = v.codec_context.width, v.codec_context.height
            n_frames = v.frames or (round(lengths["video"] * fps) if fps else None)
            rotation = _rotation(container, v)
            if rotation in (90, 270):
                width, height = height, width
        sr = ch = None
        if a is not None:
            sr, ch = a.codec_context.sample_rate, a.codec_context.channels
        return MediaInfo(
            str(p), "video" if v is not None else "audio", max(lengths.values()), v is not None,
            a is not None, fps, width, height, n_frames, sr, ch, lengths.get("video"),
            lengths.get("audio"), rotation,
        )  # fmt: skip


# --------------------------------------------------------------------------- images


def read_image(path: str | Path) -> np.ndarray:
    """An image as uint8 RGB ``[H, W, 3]`` (grayscale and alpha are converted)."""
    from PIL import Image, UnidentifiedImageError

    p = _check_file(path)
    media_kind(p)
    try:
        with Image.open(p) as img:
            img.load()
            return np.asarray(img.convert("RGB"))
    except UnidentifiedImageError as exc:
        raise MediaError(p, "not a readable image (corrupt or unsupported format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(p, f"corrupt or truncated image ({exc})") from exc


# --------------------------------------------------------------------------- audio


def _to_layout(samples: np.ndarray, mono: bool) -> np.ndarray:
    """``samples`` is ``[channels, n]`` float32; mix to ``[n]`` when asked (or when 1 channel)."""
    if mono or samples.shape[0] == 1:
        return samples.mean(axis=0, dtype=np.float32)
    return samples


def _resample(samples: np.ndarray, sr_in: int, sr_out: int | None) -> np.ndarray:
    if sr_out is None or sr_out == sr_in or samples.shape[-1] == 0:
        return samples
    import soxr

    if samples.ndim == 1:
        return soxr.resample(samples, sr_in, sr_out).astype(np.float32, copy=False)
    return np.ascontiguousarray(soxr.resample(samples.T, sr_in, sr_out).T, dtype=np.float32)


def _read_soundfile(p: Path, start: float, end: float | None) -> tuple[np.ndarray, int] | None:
    """``[channels, n]`` float32 via libsndfile, or None when libsndfile cannot open the file."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(p)) as f:
            sr = f.samplerate
            first = int(round(start * sr))
            last = f.frames if end is None else min(f.frames, int(round(end * sr)))
            if first > 0:
                f.seek(min(first, f.frames))
            data = f.read(max(0, last - first), dtype="float32", always_2d=True)
    except sf.LibsndfileError:
        return None
    except RuntimeError as exc:  # libsndfile reports truncation while reading
        raise MediaError(p, f"corrupt or truncated audio ({exc})") from exc
    return np.ascontiguousarray(data.T), int(sr)


def _iter_av_audio(p: Path, start: float, end: float | None) -> Iterator[tuple[np.ndarray, int]]:
    """Decode the first audio stream from ``start`` to ``end`` as ``[channels, n]`` blocks."""
    import av

    container = _open_av(p)
    try:
        if not container.streams.audio:
            raise MediaError(p, "no audio track in the file")
        stream = container.streams.audio[0]
        sr = stream.codec_context.sample_rate
        if start > 0:
            container.seek(int(start * 1_000_000), any_frame=False, backward=True)
        # Decoded frames may start before `start` (seek lands on a packet boundary): trim.
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                t0 = 0.0
            else:
                t0 = float(frame.pts * frame.time_base)
            block = frame.to_ndarray()
            if block.dtype.kind == "i":
                block = block.astype(np.float32) / float(np.iinfo(block.dtype).max)
            block = block.astype(np.float32, copy=False)
            if frame.format.is_planar:
                block = block.reshape(len(frame.layout.channels), -1)
            else:
                block = block.reshape(-1, len(frame.layout.channels)).T
            n = block.shape[1]
            lo = max(0, int(round((start - t0) * sr)))
            hi = n if end is None else min(n, int(round((end - t0) * sr)))
            if hi > lo:
                yield np.ascontiguousarray(block[:, lo:hi]), sr
            if end is not None and t0 + n / sr >= end:
                break
    except av.error.FFmpegError as exc:
        raise MediaError(p, f"corrupt or truncated audio data ({exc})") from exc
    finally:
        container.close()


def read_audio(
    path: str | Path,
    sample_rate: int | None = 16000,
    mono: bool = True,
    start: float = 0.0,
    end: float | None = None,
) -> Audio:
    """Read audio from an audio file or the audio track of a video.

    Args:
        path: the media file.
        sample_rate: resample to this rate in Hz; ``None`` keeps the file's rate.
        mono: mix all channels to one (``[n]``); else ``[channels, n]``.
        start, end: the time range in seconds (``end=None``: to the end of the file).

    Raises:
        MediaError: missing, empty, corrupt or truncated file, no audio track, or no samples
            in the requested range.
    """
    p = _check_file(path)
    kind = media_kind(p)
    if kind == "image":
        raise MediaError(p, "an image has no audio")
    if start < 0 or (end is not None and end <= start):
        raise ValueError(f"bad time range start={start} end={end}")
    result = _read_soundfile(p, start, end) if p.suffix.lower() in _SOUNDFILE_EXTS else None
    if result is None:
        decoded = list(_iter_av_audio(p, start, end))
        if not decoded:
            raise MediaError(p, "no audio samples could be decoded")
        samples, sr = np.concatenate([b for b, _ in decoded], axis=1), decoded[0][1]
        _check_complete(p, samples.shape[1] / sr, start, end)
    else:
        samples, sr = result
    if samples.shape[1] == 0:
        raise MediaError(p, "no audio samples in the requested range" if start else "empty audio")
    samples = _to_layout(samples, mono)
    return Audio(_resample(samples, sr, sample_rate), sample_rate or sr, start)


def _check_complete(p: Path, got: float, start: float, end: float | None) -> None:
    """Raise when the audio stream declares much more audio than could be decoded (a cut
    file). The audio stream's own length counts, not the container's: a clip's audio may
    end before its picture, which players accept and so does this reader."""
    declared = probe(p).audio_duration or 0.0
    want = (declared if end is None else min(end, declared)) - start
    if want > 0.2 and got < 0.9 * want - 0.05:
        raise MediaError(
            p, f"truncated audio: decoded {got:.2f} s of the {want:.2f} s the file declares"
        )


def iter_audio(
    path: str | Path,
    window: float = 30.0,
    sample_rate: int | None = 16000,
    mono: bool = True,
) -> Iterator[Audio]:
    """Read a long file in consecutive windows of ``window`` seconds (the last may be shorter).

    Memory stays bounded by one window, whatever the file length.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    info = probe(path)
    if not info.has_audio:
        raise MediaError(path, "no audio track in the file")
    length = info.audio_duration if info.audio_duration is not None else info.duration
    n_windows = max(1, math.ceil(length / window - 1e-9))
    for i in range(n_windows):
        t0 = i * window
        try:
            yield read_audio(path, sample_rate, mono, start=t0, end=t0 + window)
        except MediaError as exc:
            if i > 0 and "no audio samples" in exc.reason:
                return  # container duration overstated the stream: stop cleanly
            raise


# --------------------------------------------------------------------------- video


def sample_times(
    duration: float,
    num_frames: int | None = None,
    fps: float | None = None,
    start: float = 0.0,
    end: float | None = None,
) -> np.ndarray:
    """Times (s) to sample: ``num_frames`` at segment centres, or every ``1/fps`` from ``start``."""
    end = duration if end is None else min(end, duration)
    if end <= start:
        return np.zeros(0)
    if num_frames is not None and fps is not None:
        raise ValueError("give num_frames or fps, not both")
    if fps is not None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        return np.arange(start, end - 1e-9, 1.0 / fps)
    n = 8 if num_frames is None else num_frames
    if n <= 0:
        raise ValueError("num_frames must be positive")
    seg = (end - start) / n
    return start + seg * (np.arange(n) + 0.5)


def _target_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def read_frames(
    path: str | Path,
    num_frames: int | None = None,
    fps: float | None = None,
    start: float = 0.0,
    end: float | None = None,
    max_side: int | None = None,
    times: np.ndarray | None = None,
) -> Frames:
    """Sample frames from a video (or return an image as one frame).

    Choose one of: ``num_frames`` (uniform, at segment centres; default 8), ``fps`` (fixed
    rate), or explicit ``times`` in seconds. ``start``/``end`` restrict the range.
    ``max_side`` resizes in the decoder so the longer side is at most that many pixels.
    """
    p = _check_file(path)
    if media_kind(p) == "image":
        img = read_image(p)
        if max_side:
            from PIL import Image

            w, h = _target_size(img.shape[1], img.shape[0], max_side)
            img = np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR))
        return Frames(img[None], np.zeros(1), None, np.zeros(1, dtype=np.int64))
    info = probe(p)
    if not info.has_video:
        raise MediaError(p, "no video stream in the file")
    if not info.fps or not info.width:
        raise MediaError(p, "video stream has no frame rate or size")
    if times is None:
        times = sample_times(info.duration, num_frames, fps, start, end)
    times = np.asarray(times, dtype=np.float64)
    shared = _shared_frames(p, times, max_side)
    if shared is not None:
        return shared
    width, height = _target_size(info.width, info.height, max_side)
    from mmemo.video_decode import read_frames_av, read_frames_decord

    if info.rotation:  # decord ignores the display matrix: PyAV decodes, numpy turns
        return read_frames_av(p, times, width, height, info)
    try:
        return read_frames_decord(p, times, width, height, info)
    except Exception as exc:  # any decord failure (open, seek, decode): PyAV may read it
        first = exc
    try:
        return read_frames_av(p, times, width, height, info)
    except MediaError as exc:
        if isinstance(first, MediaError):  # both failed: decord's message is the more precise
            raise first from exc
        raise


# --------------------------------------------------------------------------- one decode, many reads

# (path, max_side, sorted times, their Frames) of the decode of frames_decoded_once, or None
_SHARED: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("mmemo_frames", default=None)


@contextlib.contextmanager
def frames_decoded_once(
    path: str | Path, time_sets: Sequence[np.ndarray], max_side: int | None = None
) -> Iterator[None]:
    """Decode the frames of several samplings of one video in a single pass.

    Inside the block, a :func:`read_frames` call for the same ``path`` and ``max_side`` whose
    times are all among ``time_sets`` is answered from that one decode (each time gets the
    frame, timestamp and index it gets when decoded alone: both decoders choose the frame of
    each wanted time independently of the others). Any other call decodes as usual. The
    sharing follows the context (:mod:`contextvars`): this thread, and work handed to another
    thread with ``contextvars.copy_context().run``. When the joint decode fails (a cut or
    corrupt file), nothing is shared, so each reader meets the error it would have met alone.
    """
    wanted = [np.asarray(t, dtype=np.float64).ravel() for t in time_sets]
    times = np.unique(np.concatenate(wanted)) if wanted else np.zeros(0)
    entry = None
    try:
        if times.size and media_kind(path) == "video":
            frames = read_frames(path, times=times, max_side=max_side)
            entry = (str(_check_file(path)), max_side, times, frames)
    except MediaError:
        entry = None
    token = _SHARED.set(entry)
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared_frames(p: Path, times: np.ndarray, max_side: int | None) -> Frames | None:
    """The frames at ``times`` from the decode of :func:`frames_decoded_once`, if it has them all."""
    entry = _SHARED.get()
    if entry is None or entry[0] != str(p) or entry[1] != max_side:
        return None
    have, frames = entry[2], entry[3]
    pos = np.searchsorted(have, times)
    if np.any(pos >= len(have)) or not np.array_equal(have[np.minimum(pos, len(have) - 1)], times):
        return None
    return Frames(frames.frames[pos], frames.timestamps[pos], frames.fps, frames.indices[pos])
