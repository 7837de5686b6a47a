"""Cue dataclasses shared by the encoders.

Every cue object has per-frame/per-window arrays plus a clip summary, ``to_dict()`` for
JSON and ``describe()`` for short text a model can read. When nothing could be measured
(no face, no speech), ``empty`` is True and ``reason`` says why: that is a result, not an
exception. Every number has a unit or a documented scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# AU_NAMES: the AUs mmemo.encoders.au measures (column order, FACS names); the cue contract
# owns the list so that light consumers read it without numpy.
from mmemo.encoders.contract import AU_NAMES  # noqa: F401 (re-exported)


@dataclass
class Cues:
    """Common fields of all cue objects."""

    empty: bool = False
    reason: str | None = None

    def to_dict(self) -> dict:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


# --- face and action units

# AUs that define the basic emotions: `AUCues.describe` names them when absent.
_KEY_AUS = ("AU1", "AU2", "AU4", "AU6", "AU9", "AU12", "AU15", "AU20", "AU26")


def _jsonable(a: np.ndarray) -> list:
    """An array as nested lists with NaN -> None (JSON has no NaN)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return np.where(np.isnan(a), None, np.round(a.astype(np.float64), 4)).tolist()
    return a.tolist()


@dataclass
class FaceCues(Cues):
    """The main face in each frame of an image or of sampled video frames.

    One row per frame (T rows; an image is one frame). Where no face was found, ``landmarks``,
    ``boxes`` and ``head_pose`` are NaN and ``face_count`` is 0.

    - ``timestamps``: [T] seconds from the start of the file.
    - ``landmarks``: [T, 478, 3] float32 MediaPipe FaceMesh points (468-477: irises) in pixels
      of the frame: x to the right, y down, z relative depth on the x scale (smaller = nearer).
    - ``boxes``: [T, 4] x0, y0, x1, y1 in pixels (extent of the main face's landmarks).
    - ``face_count``: [T] number of faces in the frame (the main face is the largest, then the
      one overlapping it most in the next frame).
    - ``head_pose``: [T, 3] yaw, pitch, roll in degrees; 0 = facing the camera. yaw > 0: face
      turned towards the image's right; pitch > 0: looking up; roll > 0: head tilted so that
      the face's up direction leans towards the image's right (clockwise on screen).
    - ``frame_size``: (width, height) of the frames in pixels.
    """

    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 478, 3), np.float32))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    face_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    head_pose: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    frame_size: tuple[int, int] = (0, 0)

    @property
    def detected(self) -> np.ndarray:
        """[T] bool: a main face was found in the frame."""
        return ~np.isnan(self.boxes[:, 0]) if len(self.boxes) else np.zeros(0, bool)

    def to_dict(self, landmarks: bool = False) -> dict:
        """JSON-able dict; landmarks (478 x 3 per frame) only when ``landmarks`` is True."""
        out = {
            "empty": self.empty,
            "reason": self.reason,
            "frame_size": list(self.frame_size),
            "timestamps": _jsonable(self.timestamps),
            "boxes": _jsonable(self.boxes),
            "face_count": _jsonable(self.face_count),
            "head_pose": _jsonable(self.head_pose),
            "detection_rate": float(self.detected.mean()) if len(self.boxes) else 0.0,
        }
        if landmarks:
            out["landmarks"] = _jsonable(self.landmarks)
        return out

    def describe(self) -> str:
        if self.empty:
            return f"no face: {self.reason}"
        det = self.detected
        parts = [f"face found in {int(det.sum())} of {len(det)} frames"]
        if len(det) == 1:
            parts = ["face found"]
        most = int(self.face_count.max()) if len(self.face_count) else 0
        if most > 1:
            parts.append(f"up to {most} faces in view, the largest is analysed")
        yaw, pitch, roll = np.nanmedian(self.head_pose[det], axis=0)
        parts.append(f"head yaw {yaw:.0f} deg, pitch {pitch:.0f} deg, roll {roll:.0f} deg")
        return "; ".join(parts)


@dataclass
class AUCues(Cues):
    """Facial action unit intensities per frame plus a clip summary.

    - ``aus``: AU names, the column order of ``intensity`` and ``presence`` (see ``AU_NAMES``).
    - ``timestamps``: [T] seconds from the start of the file.
    - ``intensity``: [T, n_aus] float32 on the FACS-like 0-5 scale (0 = neutral, 1 = trace,
      5 = maximum); NaN where the face was not measured (no face, or turned too far away).
    - ``presence``: [T, n_aus] bool, AU present (intensity >= 1 for geometric AUs; OpenFace's
      own classifier for OpenFace CSVs).
    - ``face_count``: [T] faces in the frame; ``head_pose``: [T, 3] yaw, pitch, roll degrees
      (as in :class:`FaceCues`; NaN where unknown).
    - ``source``: ``"geometry"`` (mmemo landmarks) or ``"openface"`` (a CSV).
    - ``baseline``: what 0 means: ``"population"`` (neutral template), ``"clip"`` (per-person
      neutral from the clip's low percentile) or ``"openface"``.
    """

    aus: tuple[str, ...] = ()
    timestamps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intensity: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    presence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))
    face_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    head_pose: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    source: str = "geometry"
    baseline: str = "population"

    # ----------------------------------------------------------------- summary

    @property
    def measured(self) -> np.ndarray:
        """[T] bool: the frame has AU values."""
        if self.intensity.size == 0:
            return np.zeros(len(self.timestamps), bool)
        return ~np.isnan(self.intensity).all(axis=1)

    def _per_au(self, fn) -> dict[str, float | None]:
        m = self.measured
        if not m.any():
            return {au: None for au in self.aus}
        out: dict[str, float | None] = {}
        for j, au in enumerate(self.aus):
            x = self.intensity[m, j]
            # an AU a source does not provide (e.g. a column missing from a CSV) is all NaN
            out[au] = None if np.isnan(x).all() else float(fn(x, self.presence[m, j]))
        return out

    @property
    def mean_intensity(self) -> dict[str, float | None]:
        """Mean intensity (0-5) per AU over the measured frames."""
        return self._per_au(lambda x, p: np.nanmean(x))

    @property
    def max_intensity(self) -> dict[str, float | None]:
        """Highest intensity (0-5) per AU over the measured frames."""
        return self._per_au(lambda x, p: np.nanmax(x))

    @property
    def frac_present(self) -> dict[str, float | None]:
        """Fraction (0-1) of the measured frames in which each AU is present."""
        return self._per_au(lambda x, p: p.mean())

    @property
    def peak_time(self) -> dict[str, float | None]:
        """Time in seconds of each AU's highest intensity."""
        m = self.measured
        if not m.any():
            return {au: None for au in self.aus}
        t = self.timestamps[m]
        x = self.intensity[m]
        return {
            au: None if np.isnan(x[:, j]).all() else float(t[np.nanargmax(x[:, j])])
            for j, au in enumerate(self.aus)
        }

    @property
    def peak_frame(self) -> int | None:
        """Row of the frame with the highest total AU activation (sum of intensities)."""
        m = self.measured
        if not m.any():
            return None
        total = np.where(m, np.nansum(np.nan_to_num(self.intensity), axis=1), -1.0)
        return int(np.argmax(total))

    def summary(self) -> dict:
        """Clip summary: per-AU mean/max intensity, fraction present, peak time; peak frame."""
        peak = self.peak_frame
        return {
            "n_frames": len(self.timestamps),
            "n_measured": int(self.measured.sum()),
            "mean_intensity": self.mean_intensity,
            "max_intensity": self.max_intensity,
            "frac_present": self.frac_present,
            "peak_time": self.peak_time,
            "peak_frame": peak,
            "peak_frame_time": None if peak is None else float(self.timestamps[peak]),
        }

    def to_dict(self) -> dict:
        """JSON-able dict: per-frame arrays (NaN -> None) and :meth:`summary`."""
        return {
            "empty": self.empty,
            "reason": self.reason,
            "source": self.source,
            "baseline": self.baseline,
            "aus": list(self.aus),
            "timestamps": _jsonable(self.timestamps),
            "intensity": _jsonable(self.intensity),
            "presence": _jsonable(self.presence),
            "face_count": _jsonable(self.face_count),
            "head_pose": _jsonable(self.head_pose),
            "summary": self.summary(),
        }

    def describe(self) -> str:
        """Compact factual text, e.g. ``AU6+AU12 strong in 70% of frames, peak at 2.1 s; AU4
        absent``. Strength is the mean intensity while present: slight < 2 <= moderate < 3.5
        <= strong. AUs present in under 10% of the measured frames are not named."""
        if self.empty:
            return f"no facial action units measured: {self.reason}"
        m = self.measured
        single = int(m.sum()) == 1
        frac, peak = self.frac_present, self.peak_time
        rows = []
        for j, au in enumerate(self.aus):
            if not frac[au] or frac[au] < 0.1:
                continue
            on = self.intensity[m, j][self.presence[m, j]]
            level = float(np.nanmean(on)) if on.size else 0.0
            word = "strong" if level >= 3.5 else "moderate" if level >= 2.0 else "slight"
            rows.append((au, word, frac[au], peak[au], level))
        rows.sort(key=lambda r: -r[4])
        groups: list[list] = []
        for r in rows:  # join AUs of one strength that come and go together
            for g in groups:
                h = g[0]
                if h[1] == r[1] and abs(h[2] - r[2]) <= 0.15 and abs(h[3] - r[3]) <= 0.5:
                    g.append(r)
                    break
            else:
                groups.append([r])
        parts = []
        for g in groups:
            text = "+".join(r[0] for r in g) + " " + g[0][1]
            if not single:
                share = round(100 * float(np.mean([r[2] for r in g])))
                text += f" in {share}% of frames, peak at {g[0][3]:.1f} s"
            parts.append(text)
        named = {r[0] for r in rows}
        absent = [au for au in _KEY_AUS if au in self.aus and au not in named]
        if absent:
            parts.append(", ".join(absent) + " absent")
        if not rows:
            parts.insert(0, "no action unit present (neutral face)")
        if len(self.face_count) and int(self.face_count.max()) > 1:
            parts.append(f"{int(self.face_count.max())} faces in view, the largest analysed")
        if not single and int(m.sum()) < len(m):
            parts.append(f"face measured in {int(m.sum())} of {len(m)} frames")
        return "; ".join(parts)


# --- prosody


def _num(v: float | None, nd: int = 3) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


@dataclass
class ProsodyCues(Cues):
    """Prosody of one clip (``mmemo.encoders.prosody.measure_prosody``).

    Units: F0 in Hz, or semitones (st) re 100 Hz (``*_st``) or re the speaker's median F0
    (``f0_mean_st_speaker``); energy in dBFS (RMS of 32 ms frames; a full-scale sine is
    -3 dBFS); rates in syllables per second; times in seconds; jitter/shimmer in percent;
    HNR in dB. Levels are "low"/"normal"/"high" against ``level_reference`` (the speaker's
    baseline or a population norm). Contours are on a ``hop_s`` grid; ``f0_contour_hz`` is
    NaN where unvoiced.
    """

    duration_s: float = 0.0
    speech_s: float | None = None  # first to last sounding frame
    voiced_s: float | None = None
    f0_mean_hz: float | None = None
    f0_median_hz: float | None = None
    f0_std_hz: float | None = None
    f0_min_hz: float | None = None  # 5th percentile
    f0_max_hz: float | None = None  # 95th percentile
    f0_range_hz: float | None = None  # 95th - 5th percentile
    f0_slope_hz_s: float | None = None
    f0_mean_st: float | None = None
    f0_std_st: float | None = None
    f0_range_st: float | None = None
    f0_slope_st_s: float | None = None
    f0_change_st: float | None = None  # end minus start of the voiced contour
    f0_mean_st_speaker: float | None = None
    # rising, falling, rising-falling, falling-rising, flat or expressive
    intonation: str | None = None
    energy_mean_db: float | None = None  # power mean over sounding frames
    energy_std_db: float | None = None
    energy_range_db: float | None = None
    n_syllables: int | None = None
    speech_rate_syl_s: float | None = None  # pauses included
    articulation_rate_syl_s: float | None = None  # pauses excluded
    pause_count: int | None = None
    pause_total_s: float | None = None
    pause_mean_s: float | None = None
    jitter_local_pct: float | None = None
    shimmer_local_pct: float | None = None
    hnr_db: float | None = None
    p_male_timbre: float | None = None  # speaker sex from the spectral envelope (timbre.py)
    cepstrum_means: list[float] | None = field(default=None, repr=False)  # MFCC c1-c12
    pitch_level: str | None = None
    energy_level: str | None = None
    speed_level: str | None = None
    level_reference: str | None = None
    egemaps: dict[str, float] | None = None
    hop_s: float = 0.01
    f0_contour_hz: np.ndarray | None = field(default=None, repr=False)
    energy_contour_db: np.ndarray | None = field(default=None, repr=False)
    syllable_times_s: np.ndarray | None = field(default=None, repr=False)

    _SUMMARY = (
        "duration_s", "speech_s", "voiced_s", "f0_mean_hz", "f0_median_hz", "f0_std_hz",
        "f0_min_hz", "f0_max_hz", "f0_range_hz", "f0_slope_hz_s", "f0_mean_st", "f0_std_st",
        "f0_range_st", "f0_slope_st_s", "f0_change_st", "f0_mean_st_speaker", "energy_mean_db",
        "energy_std_db", "energy_range_db", "speech_rate_syl_s", "articulation_rate_syl_s",
        "pause_total_s", "pause_mean_s", "jitter_local_pct", "shimmer_local_pct", "hnr_db",
        "p_male_timbre",
    )  # fmt: skip

    def to_dict(self, contours: bool = True) -> dict:
        """JSON-ready dict: summary numbers, EmotionCoT-style levels, optionally the contours."""
        out: dict = {"empty": self.empty, "reason": self.reason}
        out.update({k: _num(getattr(self, k)) for k in self._SUMMARY})
        out.update(
            n_syllables=self.n_syllables,
            pause_count=self.pause_count,
            intonation=self.intonation,
            pitch_level=self.pitch_level,
            energy_level=self.energy_level,
            speed_level=self.speed_level,
            level_reference=self.level_reference,
            description=self.describe(),
        )
        if self.egemaps is not None:
            out["egemaps"] = {k: _num(v, 6) for k, v in self.egemaps.items()}
        if contours and self.f0_contour_hz is not None:
            out["contours"] = {
                "hop_s": self.hop_s,
                "f0_hz": [_num(v, 1) for v in self.f0_contour_hz],
                "energy_db": [_num(v, 1) for v in self.energy_contour_db],
                "syllable_times_s": [_num(v, 2) for v in self.syllable_times_s],
            }
        return out

    def describe(self) -> str:
        """Short text, e.g. "pitch high and rising (+4 st), loud, fast, 2 pauses"."""
        if self.empty:
            return f"no speech prosody ({self.reason})"
        ch = self.f0_change_st or 0.0
        shape = {
            "rising": f"rising ({ch:+.0f} st)",
            "falling": f"falling ({ch:+.0f} st)",
            "rising-falling": "rising then falling",
            "falling-rising": "falling then rising",
            "flat": "flat",
            "expressive": f"expressive (range {self.f0_range_st or 0:.0f} st)",
        }.get(self.intonation or "", self.intonation or "")
        loud = {"high": "loud", "low": "soft", "normal": "normal loudness"}
        speed = {"high": "fast", "low": "slow", "normal": "normal rate"}
        n = self.pause_count or 0
        parts = [
            f"pitch {self.pitch_level or 'unknown'}" + (f" and {shape}" if shape else ""),
            loud.get(self.energy_level or "", "loudness unknown"),
            speed.get(self.speed_level or "", "rate unknown"),
            "no pauses" if n == 0 else f"{n} pause" + ("s" if n > 1 else ""),
        ]
        return ", ".join(parts)
