"""Test media made on the spot: the astronaut face (scikit-image) as images and short clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # 512x512 RGB, one frontal face


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Encode RGB uint8 frames (all the same even size) as an H.264 mp4 with PyAV."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), "rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def save_png(path: Path, rgb: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(path)
    return path
