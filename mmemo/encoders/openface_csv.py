"""Write :class:`~mmemo.encoders.base.AUCues` as an OpenFace 2.x ``FeatureExtraction`` CSV.

One row per analysed frame, in OpenFace's column names and order (a subset: mmemo measures
no gaze, landmarks in OpenFace's 68-point scheme or head translation)::

    frame, face_id, timestamp, confidence, success, pose_Rx, pose_Ry, pose_Rz,
    AU01_r ... AU45_r, AU01_c ... AU45_c

- ``frame`` counts from 1, ``face_id`` is 0 (mmemo follows the main face), ``timestamp`` is
  seconds from the file start.
- ``success`` is 1 where the face was measured; elsewhere 0 with ``confidence`` 0 and the AU
  columns 0, as OpenFace writes untracked frames. mmemo has no tracking confidence of its
  own: ``confidence`` is 1.0 on measured frames.
- ``AUxx_r`` is the 0-5 intensity and ``AUxx_c`` the 0/1 presence of mmemo's geometric AUs
  (the 17 AUs OpenFace estimates intensities for; OpenFace's extra ``AU28_c`` is left out
  rather than written as a presence mmemo never measured).
- ``pose_R*``: head rotation in radians in OpenFace's convention (Rx pitch, Ry yaw, Rz roll),
  0 where unknown.

Fields are separated by ", " as OpenFace does; :func:`mmemo.encoders.au.read_openface_csv`
reads the file back with the same values (to the 3 decimals written).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TextIO

import numpy as np

from mmemo.encoders.base import AUCues


def openface_columns(aus: tuple[str, ...]) -> list[str]:
    names = [f"AU{int(au[2:]):02d}" for au in aus]
    return [
        "frame", "face_id", "timestamp", "confidence", "success",
        "pose_Rx", "pose_Ry", "pose_Rz",
        *(f"{n}_r" for n in names), *(f"{n}_c" for n in names),
    ]  # fmt: skip


def write_openface_csv(cues: AUCues, out: str | Path | TextIO) -> int:
    """Write ``cues`` to a path or an open text stream; returns the number of rows."""
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8", newline="") as fh:
            return write_openface_csv(cues, fh)
    out.write(", ".join(openface_columns(tuple(cues.aus))) + "\n")
    measured = cues.measured
    n_aus = len(cues.aus)
    for i, t in enumerate(np.asarray(cues.timestamps, dtype=np.float64)):
        ok = bool(measured[i]) if len(measured) else False
        pose = cues.head_pose[i] if len(cues.head_pose) > i else np.full(3, np.nan)
        yaw, pitch, roll = (0.0 if not math.isfinite(float(v)) else float(v) for v in pose)
        if ok:
            r = np.nan_to_num(cues.intensity[i].astype(np.float64), nan=0.0)
            c = cues.presence[i].astype(np.float64)
        else:
            r = c = np.zeros(n_aus)
        cells = [
            str(i + 1), "0", f"{t:.3f}", "1.00" if ok else "0.00", "1" if ok else "0",
            f"{math.radians(-pitch):.4f}", f"{math.radians(yaw):.4f}", f"{math.radians(roll):.4f}",
            *(f"{v:.3f}" for v in r), *(f"{v:.1f}" for v in c),
        ]  # fmt: skip
        out.write(", ".join(cells) + "\n")
    return len(cues.timestamps)
