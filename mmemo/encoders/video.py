"""Frame sampling strategies for vision-language models.

:func:`sample_frames` returns :class:`mmemo.media.Frames` (uint8 RGB ``[T, H, W, 3]`` and
timestamps in seconds, in time order) chosen by one of:

- ``"uniform"``: ``n`` frames at the centres of ``n`` equal segments.
- ``"fps"``: a fixed rate (``fps`` frames per second, default 1).
- ``"peak_au"``: the ``n`` most expressive frames (highest total facial action unit
  intensity), at least ``duration / (2 n)`` seconds apart, from a cheap low-resolution pass
  at ``SCAN_FPS``; frames without a face fill in uniformly when fewer than ``n`` qualify.
- ``"scene"``: one frame per shot. A low-resolution (64 px) grayscale pass at ``SCAN_FPS``
  marks a cut where the mean absolute frame difference exceeds ``SCENE_THRESHOLD`` (0-255
  grey levels); the ``n - 1`` strongest cuts split the clip and the middle frame of each
  shot is returned (uniform frames fill in when there are fewer shots than ``n``).

Only the chosen frames are decoded at full ``max_side`` resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmemo.media import Frames, media_kind, probe, read_frames

STRATEGIES = ("uniform", "fps", "peak_au", "scene")
SCAN_FPS = 5.0  # frames per second of the cheap pass behind "peak_au" and "scene"
SCENE_THRESHOLD = 25.0  # mean absolute grey-level difference (0-255) that marks a cut


def sample_frames(
    path: str | Path,
    strategy: str = "uniform",
    n: int = 8,
    fps: float | None = None,
    max_side: int | None = None,
) -> Frames:
    """Sample frames from a video (an image gives its single frame).

    Args:
        path: the video (or image) file.
        strategy: ``"uniform"``, ``"fps"``, ``"peak_au"`` or ``"scene"`` (module docstring).
        n: number of frames (all strategies but ``"fps"``).
        fps: frames per second for ``"fps"`` (default 1.0).
        max_side: longer side of the returned frames in pixels (resized in the decoder).

    Raises:
        ValueError: unknown strategy or n < 1. MediaError: unreadable file.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if n < 1:
        raise ValueError("n must be at least 1")
    if media_kind(path) == "image":
        return read_frames(path, max_side=max_side)
    if strategy == "uniform":
        return read_frames(path, num_frames=n, max_side=max_side)
    if strategy == "fps":
        frames = read_frames(path, fps=fps or 1.0, max_side=max_side)
        return frames if len(frames) else read_frames(path, times=np.zeros(1), max_side=max_side)
    duration = probe(path).duration
    times = (
        _peak_au_times(path, n, duration)
        if strategy == "peak_au"
        else _scene_times(path, n, duration)
    )
    return read_frames(path, times=times, max_side=max_side)


def _fill_uniform(times: list[float], n: int, duration: float) -> np.ndarray:
    """Add segment-centre times, farthest from those already chosen first, up to ``n``."""
    chosen = list(times)
    grid = (np.arange(4 * n) + 0.5) * duration / (4 * n)
    while len(chosen) < n and len(chosen) < len(grid):
        if chosen:
            gaps = np.min(np.abs(grid[:, None] - np.array(chosen)[None]), axis=1)
            chosen.append(float(grid[int(np.argmax(gaps))]))
        else:
            chosen = [float(t) for t in (np.arange(n) + 0.5) * duration / n]
    return np.sort(np.array(chosen[:n], dtype=np.float64))


def _peak_au_times(path: str | Path, n: int, duration: float) -> np.ndarray:
    from mmemo.encoders.au import measure_face, peak_frames

    cues = measure_face(path, fps=SCAN_FPS, max_side=480)
    rows = peak_frames(cues, k=n, min_gap=duration / (2 * n))
    return _fill_uniform([float(cues.timestamps[r]) for r in rows], n, duration)


def scene_cuts(path: str | Path, scan_fps: float = SCAN_FPS) -> tuple[np.ndarray, np.ndarray]:
    """Cheap pass: (times of the scanned frames [s], difference to the previous frame).

    The difference is the mean absolute grey-level change (0-255) between consecutive
    64-pixel grayscale frames; the first frame's difference is 0.
    """
    scan = read_frames(path, fps=scan_fps, max_side=64)
    if len(scan) < 2:
        return np.asarray(scan.timestamps, dtype=np.float64), np.zeros(len(scan))
    grey = scan.frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    diff = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))
    return np.asarray(scan.timestamps, dtype=np.float64), np.concatenate([[0.0], diff])


def _scene_times(path: str | Path, n: int, duration: float) -> np.ndarray:
    times, diff = scene_cuts(path)
    cut_rows = [i for i in np.argsort(-diff) if diff[i] > SCENE_THRESHOLD][: n - 1]
    bounds = [0.0] + sorted(float(times[i]) for i in cut_rows) + [duration]
    mids = [0.5 * (a + b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return _fill_uniform(mids, n, duration)
