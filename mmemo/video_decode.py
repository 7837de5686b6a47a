"""The two video frame decoders behind :func:`mmemo.media.read_frames`.

- :func:`read_frames_decord`: seeks to the wanted frame indices (fast on MP4/MKV with an
  index); any failure is raised so the caller can fall back.
- :func:`read_frames_av`: PyAV, decoding forward and seeking only across long gaps, so
  dense sampling costs one pass over the file; it applies the display rotation (phone clips).

Both return :class:`mmemo.media.Frames` (uint8 RGB ``[T, H, W, 3]``, times in seconds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmemo.media_types import Frames, MediaError, MediaInfo, _open_av

SEEK_GAP_S = 2.0  # PyAV seeks when the next wanted time is this far ahead; else decodes on


def read_frames_decord(p: Path, times: np.ndarray, width: int, height: int, info: MediaInfo):
    """Frames at ``times`` by decord; raises (MediaError or other) on any failure."""
    import decord

    try:
        vr = decord.VideoReader(str(p), ctx=decord.cpu(0), width=width, height=height)
    except decord.DECORDError as exc:
        raise RuntimeError(str(exc)) from exc
    n = len(vr)
    if n == 0:
        raise MediaError(p, "video stream holds no frames")
    fps = float(vr.get_avg_fps()) or float(info.fps)
    idx = np.clip(np.floor(times * fps + 1e-6).astype(np.int64), 0, n - 1)
    if idx.size == 0:
        return Frames(np.zeros((0, height, width, 3), np.uint8), np.zeros(0), fps, idx)
    try:
        frames = vr.get_batch(idx.tolist()).asnumpy()
    except decord.DECORDError as exc:
        detail = str(exc).strip().splitlines()[-1].split(": ")[-1][:120]
        raise MediaError(
            p,
            f"corrupt or truncated video data: decoding frames up to {times.max():.2f} s failed ({detail})",
        ) from exc
    stamps = vr.get_frame_timestamp(idx.tolist())[:, 0].astype(np.float64)
    return Frames(frames, stamps, fps, idx)


def _turn(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a stored ``[H, W, 3]`` picture ``rotation`` degrees clockwise, as players do."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, -k)) if k else image


def read_frames_av(p: Path, times: np.ndarray, width: int, height: int, info: MediaInfo):
    """Frames at ``times`` (sorted) by PyAV; ``width``/``height`` are the displayed size.

    Each wanted time gets the first frame whose span reaches it. Raises MediaError when a
    wanted time inside the file yields no frame (a cut or corrupt file).
    """
    import av

    # the decoder scales the stored picture; the rotation then turns it to the displayed size
    sw, sh = (height, width) if info.rotation in (90, 270) else (width, height)
    fps = float(info.fps)
    out, stamps, idx = [], [], []
    decoder = None
    container = _open_av(p)
    try:
        stream = container.streams.video[0]
        # No frame threading: a decode generator left half-read and freed later waits on
        # FFmpeg's frame threads while holding the GIL, and a batch hung there (a voice
        # thread was running openSMILE beside it). Sampled frames gain little from threads.
        decoder, last, pos = None, None, -np.inf
        times = np.asarray(times, dtype=np.float64)
        order = np.argsort(times, kind="stable")
        for t in times[order]:
            if decoder is None or t - pos > SEEK_GAP_S:
                if decoder is not None:
                    decoder.close()  # freed here, not by the garbage collector later
                container.seek(int(t * 1_000_000), backward=True, any_frame=False)
                decoder, last = container.decode(stream), None
            chosen = last if last is not None and last[1] + 0.5 / fps >= t else None
            while chosen is None:
                frame = next(decoder, None)
                if frame is None:  # the stream ended: the last frame stands for the end,
                    declared = info.video_duration or info.duration  # unless it ended early
                    if last is not None and (t - last[1] < 1.0 or t > declared - 0.5):
                        chosen = last
                    break
                ft = float(frame.pts * frame.time_base) if frame.pts is not None else t
                last, pos = (frame, ft), ft
                if ft + 0.5 / fps >= t:
                    chosen = last
            if chosen is None:
                raise MediaError(
                    p, f"corrupt or truncated video data: no frame could be decoded at {t:.2f} s"
                )
            frame, ft = chosen
            image = frame.to_ndarray(format="rgb24", width=sw, height=sh)
            out.append(_turn(image, info.rotation))
            stamps.append(ft)
            idx.append(int(round(ft * fps)))
    except av.error.FFmpegError as exc:
        raise MediaError(p, f"corrupt or truncated video data ({exc})") from exc
    finally:
        if decoder is not None:
            decoder.close()
        container.close()
    if not out:
        return Frames(np.zeros((0, height, width, 3), np.uint8), np.zeros(0), fps)
    back = np.argsort(order, kind="stable")  # results in the caller's order of times
    frames = np.stack(out)[back]
    return Frames(frames, np.asarray(stamps)[back], fps, np.asarray(idx, dtype=np.int64)[back])
