"""Facial action units (AUs) from landmark geometry, an OpenFace 2.x CSV reader, peak frames.

No AU or blendshape model ships offline (dependencies.md §7), so AUs are measured from the
478 FaceMesh landmarks of :mod:`mmemo.encoders.face`:

1. **Frontalise**: landmarks are rotated into the head's own frame and divided by the
   inter-ocular distance (IOD), so every measure below is in IOD units, free of head pose
   and face size (:func:`mmemo.encoders.face.frontalise`; x towards the subject's left, y up
   the face, z out of the face).
2. **Features**: distances between landmark groups (:func:`geometric_features`).
3. **AU measures**: each AU is a documented combination of feature *changes from neutral*,
   signed so that larger = more of the AU (:func:`au_measures`; the formula of each AU is
   in that function).
4. **Intensity 0-5**: a piecewise-linear map of each measure ``d`` (:func:`to_intensity`):
   0 at neutral, 1 at the AU's presence threshold (``presence`` = intensity >= 1), 5 at
   ``high`` (the 99th percentile over expressive faces), clipped to [0, 5]. The threshold is
   ``2 * sigma`` (sigma = the measure's standard deviation over neutral faces, so about 5% of
   neutral faces show the AU by chance), except for ``TUNED_AUS``: at 2 sigma these never
   fired on posed CK+ faces, so their threshold is the neutral-face quantile (80th to 99.5th)
   that best separates the CK+ classes where FACS expects the AU from the other classes
   (:func:`tuned_threshold`); up to 20% of neutral faces may show them.

Neutral reference: for single images, a population neutral template (median features of
neutral faces); for clips with at least ``MIN_CLIP_FRAMES`` measured frames, each AU's
baseline moves to the clip's 10th percentile (the person's own neutral), limited to within
half the presence threshold (1 sigma) of the population template so that a clip expressive
throughout is not read as neutral (with 2 sigma a smile held through a short clip
vanished). The constants below come from FER2013 *training* images (neutral class for the
template and sigma, all classes for ``high``) and, for the thresholds of ``TUNED_AUS``
only, the even-numbered CK+ subjects; regenerate them with ``python
benchmarks/validate_au_ckplus.py --calibrate``. The odd-numbered CK+ subjects are only used
to validate.

Shortcuts, stated plainly: 2D-landmark geometry cannot see wrinkles or skin texture, so AUs
that are mostly texture (AU9 wrinkles, AU14 dimples, AU6 crow's feet) are read from the
shape changes that go with them; CK+48 carries emotion labels, not FACS codes, so an AU
is validated only as firing more on the classes whose FACS prototypes contain it;
intensities are not calibrated against FACS-coded intensities, only anchored as above.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mmemo.encoders.au_geometry import AUS, au_measures, geometric_features  # noqa: F401
from mmemo.encoders.base import AUCues, FaceCues
from mmemo.encoders.face import detect_faces, frontalise
from mmemo.media import Frames, MediaError

MIN_CLIP_FRAMES = 10  # measured frames needed before the clip's own neutral baseline is used
MAX_YAW = 40.0  # degrees; faces turned further are not measured (the geometry degrades)
MAX_PITCH = 35.0
# AUs whose presence threshold is set on labelled expressive faces (issue 13: at 2 sigma of
# neutral faces they never fired on CK+), searched over these neutral-face quantiles.
TUNED_AUS = ("AU5", "AU9", "AU14", "AU17", "AU23", "AU26")
TUNED_QUANTILES = (0.80, 0.995, 40)

# --- calibration (FER2013 train, and the even-numbered CK+ subjects for the thresholds of
# TUNED_AUS; see module docstring). Feature medians over neutral faces, IOD units.
NEUTRAL_FEATURES: dict[str, float] = {
    "inner_brow_height": 0.3088,
    "outer_brow_height": 0.2531,
    "brow_height": 0.2921,
    "brow_gap": 0.6777,
    "upper_lid_height": 0.0815,
    "lower_lid_height": -0.0494,
    "lid_above_iris": 0.0607,
    "cheek_height": -0.3636,
    "ala_height": -0.6138,
    "nose_length": 0.7180,
    "upper_lip_to_nose": 0.2399,
    "corner_height": -1.0870,
    "corner_above_lip_centre": 0.0032,
    "corner_above_lower_lip": 0.1626,
    "half_width": 0.3812,
    "corner_out_r": 0.3828,
    "corner_out_l": 0.3801,
    "lip_thickness": 0.2381,
    "lip_gap": 0.0088,
    "chin_drop": 1.6905,
    "chin_to_lower_lip": 0.4366,
}
# Per AU: (presence threshold, high) in the AU measure's IOD units.
AU_SCALE: dict[str, tuple[float, float]] = {
    "AU1": (0.1012, 0.1629),
    "AU2": (0.0799, 0.1255),
    "AU4": (0.1427, 0.1702),
    "AU5": (0.0151, 0.0626),
    "AU6": (0.0658, 0.0844),
    "AU7": (0.0283, 0.0459),
    "AU9": (0.0792, 0.2694),
    "AU10": (0.0940, 0.1358),
    "AU12": (0.1076, 0.1836),
    "AU14": (0.0330, 0.1095),
    "AU15": (0.0617, 0.0735),
    "AU17": (0.0425, 0.1201),
    "AU20": (0.0793, 0.0851),
    "AU23": (0.0252, 0.1124),
    "AU25": (0.1177, 0.5625),
    "AU26": (0.2177, 0.5078),
    "AU45": (0.0600, 0.1309),
}


def to_intensity(measures: np.ndarray, scale: dict[str, tuple[float, float]] | None = None):
    """Map raw measures [..., n_aus] (IOD units) to the 0-5 scale (see module docstring):
    0 at 0, 1 at the AU's presence threshold, 5 at ``high``; linear between, clipped."""
    scale = scale or AU_SCALE
    thr = np.array([scale[au][0] for au in AUS])
    high = np.array([max(scale[au][1], 2 * scale[au][0]) for au in AUS])
    x = np.asarray(measures, dtype=np.float64)
    low_part = x / thr
    high_part = 1 + 4 * (x - thr) / (high - thr)
    out = np.where(x < thr, low_part, high_part)
    return np.clip(out, 0.0, 5.0).astype(np.float32)


# --------------------------------------------------------------------------- cues


def aus_from_faces(faces: FaceCues, clip_baseline: bool | None = None) -> AUCues:
    """AU cues from :class:`FaceCues` (landmarks per frame).

    Args:
        faces: output of :func:`mmemo.encoders.face.detect_faces`.
        clip_baseline: use the clip's own neutral (10th percentile per AU); ``None`` = when
            at least ``MIN_CLIP_FRAMES`` frames are measured.
    """
    t = len(faces.timestamps)
    intensity = np.full((t, len(AUS)), np.nan, np.float32)
    presence = np.zeros((t, len(AUS)), bool)
    common = dict(
        aus=AUS,
        timestamps=faces.timestamps,
        face_count=faces.face_count,
        head_pose=faces.head_pose,
    )
    if faces.empty:
        return AUCues(
            empty=True, reason=faces.reason, intensity=intensity, presence=presence, **common
        )
    yaw, pitch = faces.head_pose[:, 0], faces.head_pose[:, 1]
    ok = faces.detected & (np.abs(yaw) <= MAX_YAW) & (np.abs(pitch) <= MAX_PITCH)
    if not ok.any():
        worst = np.nanmax(np.abs(faces.head_pose[:, :2]))
        return AUCues(
            empty=True,
            reason=f"face turned too far from the camera ({worst:.0f} deg; AUs are measured "
            f"up to {MAX_YAW:.0f} deg yaw, {MAX_PITCH:.0f} deg pitch)",
            intensity=intensity,
            presence=presence,
            **common,
        )
    feats = geometric_features(frontalise(faces.landmarks[ok]))
    raw = au_measures(feats, NEUTRAL_FEATURES)
    use_clip = int(ok.sum()) >= MIN_CLIP_FRAMES if clip_baseline is None else clip_baseline
    if use_clip:
        half = np.array([AU_SCALE[au][0] / 2 for au in AUS])  # 1 sigma for 2-sigma AUs
        base = np.clip(np.percentile(raw, 10, axis=0), -half, half)
        raw = raw - base
    intensity[ok] = to_intensity(raw)
    presence[ok] = intensity[ok] >= 1.0
    return AUCues(
        intensity=intensity,
        presence=presence,
        baseline="clip" if use_clip else "population",
        **common,
    )


def measure_face(
    source: str | Path | np.ndarray | Frames,
    fps: float = 10.0,
    max_side: int = 640,
) -> AUCues:
    """Facial action units of the main face in an image, a video or sampled frames.

    Args:
        source: image/video path, RGB uint8 image [H, W, 3] or frames [T, H, W, 3], or
            :class:`mmemo.media.Frames` (e.g. from :func:`mmemo.encoders.video.sample_frames`).
        fps: frames per second analysed from a video file.
        max_side: video frames are resized in the decoder to at most this many pixels.

    Returns:
        :class:`AUCues` (intensity 0-5 per frame and AU, presence, clip summary); empty with
        a reason when no usable face is found. Raises :class:`MediaError` only for unreadable
        files.
    """
    return aus_from_faces(detect_faces(source, fps=fps, max_side=max_side))


# --------------------------------------------------------------------------- OpenFace


def read_openface_csv(path: str | Path, face_id: int | None = None) -> AUCues:
    """Read an OpenFace 2.x ``FeatureExtraction`` CSV as :class:`AUCues`.

    Uses ``AUxx_r`` (intensity 0-5) and ``AUxx_c`` (presence 0/1) for the AUs in ``AUS``
    that the file has (others stay NaN/False), ``timestamp`` (s), ``success`` and
    ``confidence`` (rows with success 0 are unmeasured) and ``face_id`` (several faces per
    frame: the face count; ``face_id`` picks the face, default the one seen most often).

    Raises:
        MediaError: missing file, no AU columns, or a malformed row (its line number given).
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError(p, "file not found")
    with p.open(newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise MediaError(p, "empty CSV file") from None
        rows = list(enumerate(reader, start=2))
    col = {name: i for i, name in enumerate(header)}
    au_cols = {au: f"AU{int(au[2:]):02d}" for au in AUS}
    if not any(f"{c}_r" in col for c in au_cols.values()):
        raise MediaError(p, "no AUxx_r columns: not an OpenFace 2.x AU CSV")
    if "timestamp" not in col:
        raise MediaError(p, "no 'timestamp' column")

    def num(row: list[str], name: str, line: int, default: float = np.nan) -> float:
        if name not in col:
            return default
        try:
            return float(row[col[name]])
        except (ValueError, IndexError):
            raise MediaError(p, f"line {line}: bad value for {name!r}") from None

    parsed = []
    for line, row in rows:
        if not row or all(not c.strip() for c in row):
            continue
        parsed.append((line, row, num(row, "timestamp", line), num(row, "face_id", line, 0)))
    if not parsed:
        raise MediaError(p, "CSV has a header but no rows")
    ids = np.array([r[3] for r in parsed])
    if face_id is None:
        vals, counts = np.unique(ids, return_counts=True)
        face_id = int(vals[np.argmax(counts)])
    times = np.array(sorted({r[2] for r in parsed}))
    slot = {t: i for i, t in enumerate(times)}
    n = len(times)
    intensity = np.full((n, len(AUS)), np.nan, np.float32)
    presence = np.zeros((n, len(AUS)), bool)
    count = np.zeros(n, np.int64)
    pose = np.full((n, 3), np.nan, np.float32)
    for line, row, t, fid in parsed:
        i = slot[t]
        success = num(row, "success", line, 1.0) > 0.5
        num(row, "confidence", line)  # validated so a corrupt row is reported, not skipped
        count[i] += int(success)
        if fid != face_id or not success:
            continue
        for j, au in enumerate(AUS):
            intensity[i, j] = num(row, f"{au_cols[au]}_r", line)
            presence[i, j] = num(row, f"{au_cols[au]}_c", line, 0.0) > 0.5
        if "pose_Ry" in col:  # OpenFace pose is in radians (Rx pitch, Ry yaw, Rz roll)
            rx, ry, rz = (num(row, f"pose_R{a}", line) for a in "xyz")
            pose[i] = np.degrees([ry, -rx, rz])
    cues = AUCues(
        aus=AUS,
        timestamps=times,
        intensity=intensity,
        presence=presence,
        face_count=count,
        head_pose=pose,
        source="openface",
        baseline="openface",
    )
    if not cues.measured.any():
        cues.empty, cues.reason = True, "OpenFace tracked no face in any row (success = 0)"
    return cues


# --------------------------------------------------------------------------- peaks, plots


def peak_frames(cues: AUCues, k: int = 1, min_gap: float = 0.5) -> list[int]:
    """Rows of the ``k`` frames with the highest total AU activation, in time order.

    Greedy: frames at least ``min_gap`` seconds from those already chosen first; then, if
    fewer than ``k`` were found, the next most active measured frames whatever their gap.
    Fewer than ``k`` only when fewer frames hold a measured face."""
    m = cues.measured
    if not m.any():
        return []
    total = np.where(m, np.nansum(np.nan_to_num(cues.intensity), axis=1), -np.inf)
    chosen: list[int] = []
    for i in np.argsort(-total, kind="stable"):
        if not np.isfinite(total[i]) or len(chosen) == k:
            break
        if all(abs(cues.timestamps[i] - cues.timestamps[j]) >= min_gap for j in chosen):
            chosen.append(int(i))
    for i in np.argsort(-total, kind="stable"):
        if len(chosen) >= k or not np.isfinite(total[i]):
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return sorted(chosen, key=lambda i: cues.timestamps[i])


def plot_au_heatmap(cues: AUCues, ax=None):
    """AU x time heatmap of intensities (0-5; grey = not measured). Returns the Axes.

    Works with any matplotlib backend (Agg included); creates a figure when ``ax`` is None.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.12 * len(cues.timestamps) + 2), 4.5))
    data = np.ma.masked_invalid(np.asarray(cues.intensity, dtype=float).T)
    cmap = plt.get_cmap("magma").copy()
    cmap.set_bad("0.85")
    t = np.asarray(cues.timestamps, dtype=float)
    if len(t) > 1:
        step = np.median(np.diff(t))
        extent = (t[0] - step / 2, t[-1] + step / 2, len(cues.aus) - 0.5, -0.5)
    else:
        extent = (-0.5, 0.5, len(cues.aus) - 0.5, -0.5)
    im = ax.imshow(data, aspect="auto", cmap=cmap, vmin=0, vmax=5, extent=extent,
                   interpolation="nearest")  # fmt: skip
    ax.set_yticks(range(len(cues.aus)))
    ax.set_yticklabels(list(cues.aus))
    ax.set_xlabel("time (s)")
    ax.set_title("AU intensity (0-5)" + (f": {cues.reason}" if cues.empty else ""))
    ax.figure.colorbar(im, ax=ax, label="intensity (0-5)")
    return ax


# --------------------------------------------------------------------------- calibration


def calibrate(
    neutral: np.ndarray,
    population: np.ndarray,
    design: tuple[np.ndarray, np.ndarray] | None = None,
    expected: dict[str, tuple[str, ...]] | None = None,
) -> dict:
    """Constants for the module: neutral feature medians, and per AU (threshold, high).

    Args:
        neutral: landmarks [N, 478, 3] of near-frontal neutral faces.
        population: landmarks [M, 478, 3] of near-frontal faces of all expressions.
        design: landmarks [K, 478, 3] and class names [K] of labelled expressive faces; with
            ``expected`` it sets the thresholds of ``TUNED_AUS`` (see ``tuned_threshold``).
        expected: AU -> the classes of ``design`` where FACS expects the AU.

    Returns:
        ``{"NEUTRAL_FEATURES": {...}, "AU_SCALE": {au: (threshold, high)}}`` in IOD units.
    """
    fn = geometric_features(frontalise(neutral))
    template = {k: float(np.median(v)) for k, v in fn.items()}
    raw_n = au_measures(fn, template)
    raw_p = au_measures(geometric_features(frontalise(population)), template)
    thr = 2 * raw_n.std(axis=0)
    high = np.percentile(raw_p, 99, axis=0)
    if design is not None and expected:
        raw_d = au_measures(geometric_features(frontalise(design[0])), template)
        for j, au in enumerate(AUS):
            if au in TUNED_AUS and expected.get(au):
                on = np.isin(np.asarray(design[1]), expected[au])
                thr[j] = tuned_threshold(raw_n[:, j], raw_d[on, j], raw_d[~on, j])
    scale = {au: (float(thr[j]), float(high[j])) for j, au in enumerate(AUS)}
    # AU45: full closure (aperture 0) is the maximum, whatever the population shows.
    aperture = template["upper_lid_height"] - template["lower_lid_height"]
    scale["AU45"] = (scale["AU45"][0], float(aperture))
    return {"NEUTRAL_FEATURES": template, "AU_SCALE": scale}


def tuned_threshold(neutral: np.ndarray, on: np.ndarray, off: np.ndarray) -> float:
    """The presence threshold, among neutral-face quantiles ``TUNED_QUANTILES``, that best
    separates faces expected to show the AU (``on``) from the others (``off``): the largest
    rate on ``on`` minus rate on ``off`` (ties: the higher threshold). The lowest candidate
    caps the share of neutral faces showing the AU at 20%."""
    cands = np.quantile(neutral, np.linspace(*TUNED_QUANTILES))
    gain = [(on >= t).mean() - (off >= t).mean() for t in cands]
    return float(cands[len(gain) - 1 - int(np.argmax(gain[::-1]))])
