"""Prosody of speech: pitch, energy, speaking rate, pauses, voice quality, intonation.

Everything is computed in numpy/scipy from a 16 kHz mono waveform on a 10 ms frame grid:

- **F0** by a vectorised YIN (de Cheveigné & Kawahara 2002; 32 ms window, 60-500 Hz, one FFT
  per frame) with a voicing decision from the YIN aperiodicity and the frame energy. It agrees
  with ``librosa.pyin`` on real speech (see the tests) at a small fraction of its cost.
- **Energy**: frame RMS in dBFS (0 dB = full-scale square wave) over the same 32 ms window.
- **Speaking rate**: syllable nuclei = energy peaks (>= 2 dB prominence, >= 60 ms apart) that
  fall in voiced frames (after de Jong & Wempe 2009), per second of speech.
- **Pauses**: silent stretches >= 0.2 s between the first and the last active frame.
- **Voice quality**: glottal periods are picked cycle by cycle in voiced runs; jitter (local)
  and shimmer (local) follow Praat's definitions (consecutive periods within 1/500-1/60 s and a
  period ratio <= 1.3); HNR (dB) is ``10 log10(r / (1 - r))`` of the normalised
  autocorrelation ``r`` at the F0 lag, averaged over voiced frames (Boersma 1993).
- **Intonation**: the voiced F0 contour (semitones) is reduced to its pitch movements of at
  least 2 st (zig-zag with 2 st hysteresis) and classed rising, falling, rising-falling,
  falling-rising, flat or expressive (five or more movements spanning >= 6 st; chosen on
  ASED and EmoDB, see :data:`EXPRESSIVE_MOVES`).
- **Levels** (low / normal / high), EmotionCoT style: against the speaker when
  :func:`speaker_baseline` stats are given (z-score beyond +-0.5), else against documented
  population norms (see :data:`NORMS`) for the given gender, or for the sex estimated from
  the spectral envelope (:mod:`mmemo.encoders.timbre`; never from F0, which arousal
  raises). ``level_reference`` names the reference used.

Silence and non-speech (noise, steady tones, music) give empty cues with a reason. The Praat
implementation (parselmouth) is GPL-3 and is not used here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.encoders.base import ProsodyCues
from mmemo.encoders.pitch import (  # noqa: F401  (re-exported: the prosody API)
    _WIN,
    FMAX_HZ,
    FMIN_HZ,
    HOP_S,
    SAMPLE_RATE,
    F0Track,
    _active_threshold,
    _drop_short_runs,
    _fix_octave_jumps,
    _frames,
    _runs,
    hz_to_st,
    track_f0,
)

_MIN_PAUSE_S = 0.2
_MIN_DURATION_S = 0.25
_SILENCE_DBFS = -60.0  # a clip whose loudest frame is below this is silent

# Population norms used when the speaker is unknown. F0: adult means of about 120 Hz (male)
# and 210 Hz (female) (Titze 1994, "Principles of Voice Production"; Traunmüller & Eriksson
# 1995); "high"/"low" beyond +-3 st of the norm (about one between-speaker SD). Energy: the
# active speech level that ITU-T P.56 / G.191 normalise recordings to is -26 dBov; +-6 dB
# around it. This assumes a normally gained recording: the absolute level of an unknown
# recording chain is only a weak cue. Rate: conversational English is about 4-5 syllables/s
# (Jacewicz et al. 2009, JASA 125:3962); "slow" below 3.0, "fast" above 5.5 syllables/s
# (speech rate, pauses included).
NORMS: dict[str, dict[str, float]] = {
    "male": {"f0_hz": 120.0},
    "female": {"f0_hz": 210.0},
    "f0_band_st": {"value": 3.0},
    "energy_db": {"value": -26.0, "band": 6.0},
    "rate_syl_s": {"low": 3.0, "high": 5.5},
}
_Z_BAND = 0.5  # speaker-relative: |z| above this is high/low


def _glottal_periods(x: np.ndarray, track: F0Track, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive-period pairs: (periods [n, 2] in s, peak-to-peak amplitudes [n, 2])."""
    hop = int(round(track.hop_s * sr))
    pairs_p: list[tuple[float, float]] = []
    pairs_a: list[tuple[float, float]] = []
    for a, b in _runs(track.voiced):
        s0, s1 = a * hop, min(len(x), b * hop)
        seg = x[s0:s1]
        if len(seg) < 4 * sr / FMAX_HZ:
            continue
        sig = -seg if -seg.min() > seg.max() else seg
        f0_at = np.interp(np.arange(len(seg)), (np.arange(a, b) - a) * hop, track.f0_hz[a:b])
        period = sr / f0_at[0]
        pulses = [int(np.argmax(sig[: max(2, int(period))]))]
        while True:
            p = pulses[-1]
            t = sr / f0_at[min(p, len(seg) - 1)]
            lo, hi = p + int(0.7 * t), p + int(math.ceil(1.3 * t)) + 1
            if hi > len(sig):
                break
            pulses.append(lo + int(np.argmax(sig[lo:hi])))
        pk = np.asarray(pulses)
        if len(pk) < 3:
            continue
        # parabolic interpolation of each peak: sub-sample pulse times
        inner = np.clip(pk, 1, len(sig) - 2)
        y0, y1, y2 = sig[inner - 1], sig[inner], sig[inner + 1]
        den = y0 - 2 * y1 + y2
        frac = np.where(np.abs(den) > 1e-12, 0.5 * (y0 - y2) / np.where(den == 0, 1, den), 0.0)
        per = np.diff(inner + np.clip(frac, -0.5, 0.5)) / sr
        amp = np.abs(y1[:-1])  # peak amplitude of each period (Praat: local shimmer)
        for i in range(len(per) - 1):
            p1, p2 = per[i], per[i + 1]
            ok = all(1.0 / FMAX_HZ <= p <= 1.0 / FMIN_HZ for p in (p1, p2))
            if ok and max(p1, p2) / min(p1, p2) <= 1.3:
                pairs_p.append((p1, p2))
                pairs_a.append((amp[i], amp[i + 1]))
    return np.asarray(pairs_p).reshape(-1, 2), np.asarray(pairs_a).reshape(-1, 2)


def _voice_quality(x: np.ndarray, track: F0Track, sr: int) -> dict[str, float | None]:
    periods, amps = _glottal_periods(x, track, sr)
    out: dict[str, float | None] = {"jitter_local_pct": None, "shimmer_local_pct": None}
    if len(periods) >= 5:
        out["jitter_local_pct"] = float(
            100.0 * np.mean(np.abs(periods[:, 0] - periods[:, 1])) / np.mean(periods)
        )
        out["shimmer_local_pct"] = float(
            100.0 * np.mean(np.abs(amps[:, 0] - amps[:, 1])) / max(np.mean(amps), 1e-12)
        )
    r = np.clip(track.acf[track.voiced], 1e-6, 1.0 - 1e-6)
    out["hnr_db"] = float(np.mean(10.0 * np.log10(r / (1.0 - r)))) if r.size else None
    return out


# --------------------------------------------------------------------------- rhythm


def _syllable_nuclei(track: F0Track, active: np.ndarray) -> np.ndarray:
    """Frame indices of syllable nuclei: voiced energy peaks (30 ms smoothing, 2 dB, 60 ms)."""
    from scipy.signal import find_peaks

    e = np.convolve(track.energy_db, np.ones(3) / 3.0, mode="same")
    peaks, _ = find_peaks(e, prominence=2.0, distance=max(1, int(round(0.06 / track.hop_s))))
    voiced = track.voiced
    near_voiced = np.convolve(voiced.astype(float), np.ones(5), mode="same") > 0
    return peaks[near_voiced[peaks] & active[peaks]]


def _pauses(active: np.ndarray, hop_s: float) -> list[tuple[float, float]]:
    """(start s, duration s) of silent gaps >= 0.2 s between the first and last active frame."""
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return []
    inner = ~active[idx[0] : idx[-1] + 1]
    return [
        ((idx[0] + a) * hop_s, (b - a) * hop_s)
        for a, b in _runs(inner)
        if (b - a) * hop_s >= _MIN_PAUSE_S - 1e-9
    ]


# --------------------------------------------------------------------------- intonation


def _movements(st: np.ndarray, min_move: float = 2.0) -> list[float]:
    """Signed pitch movements (st) of a contour, found by a zig-zag with ``min_move`` hysteresis."""
    if st.size < 2:
        return []
    moves: list[float] = []
    pivot = ext = float(st[0])
    direction = 0
    for v in st[1:]:
        v = float(v)
        if direction >= 0 and v > ext or direction <= 0 and v < ext:
            ext = v
        if direction == 0:
            if abs(ext - pivot) >= min_move:
                direction = 1 if ext > pivot else -1
            continue
        if (ext - v) * direction >= min_move:  # reversal: close the current movement
            moves.append(ext - pivot)
            pivot, ext, direction = ext, v, -direction
    if direction != 0 and abs(ext - pivot) >= min_move:
        moves.append(ext - pivot)
    return moves


#: "expressive": at least this many pitch movements spanning at least this many semitones
#: (5th-95th percentile). Chosen on ASED and EmoDB (benchmarks/validate_pitch_gender.py).
EXPRESSIVE_MOVES, EXPRESSIVE_SPAN_ST = 5, 6.0


def classify_intonation(
    f0_hz: np.ndarray,
    expressive_moves: int | None = None,
    expressive_span_st: float | None = None,
) -> tuple[str, float]:
    """Intonation class and net pitch change (st, end minus start) of a voiced F0 contour.

    NaN (unvoiced) frames are skipped. The contour is median-smoothed over 50 ms first.
    ``expressive_*`` default to :data:`EXPRESSIVE_MOVES` / :data:`EXPRESSIVE_SPAN_ST`.
    """
    n_moves = EXPRESSIVE_MOVES if expressive_moves is None else expressive_moves
    min_span = EXPRESSIVE_SPAN_ST if expressive_span_st is None else expressive_span_st
    from scipy.signal import medfilt

    f = f0_hz[np.isfinite(f0_hz)]
    if f.size < 5:
        return "flat", 0.0
    st = medfilt(np.asarray(hz_to_st(f)), 5)
    k = max(3, st.size // 10)  # the first and last 10% of the voiced frames
    change = float(np.median(st[-k:]) - np.median(st[:k]))
    moves = _movements(st)
    span = float(np.percentile(st, 95) - np.percentile(st, 5))
    if not moves:
        return "flat", change
    if len(moves) >= n_moves and span >= min_span:
        return "expressive", change
    first, last = moves[0] > 0, moves[-1] > 0
    if len(moves) == 1 or first == last:
        return ("rising" if last else "falling"), change
    return ("rising-falling" if first else "falling-rising"), change


# --------------------------------------------------------------------------- speech check


def _non_speech_reason(track: F0Track, active: np.ndarray) -> str | None:
    """Why the clip holds no analysable speech, or None when it does."""
    peak = float(track.energy_db.max()) if track.energy_db.size else -100.0
    if peak < _SILENCE_DBFS:
        return f"silent audio (loudest frame {peak:.0f} dBFS)"
    voiced_s = float(track.voiced.sum()) * track.hop_s
    if voiced_s < 0.1:
        pct = 100.0 * track.voiced.sum() / max(1, active.sum())
        return (
            f"no voiced speech ({voiced_s:.2f} s voiced, {pct:.0f}% of sounding frames): "
            "noise, unvoiced sound or silence"
        )
    runs = [(b - a) * track.hop_s for a, b in _runs(track.voiced)]
    # Speech alternates short voiced runs (syllables, ~0.1-0.5 s) with consonants and pauses;
    # tones and sustained music give long runs of steady pitch.
    long_frac = sum(r for r in runs if r > 1.0) / max(voiced_s, 1e-9)
    st = np.asarray(hz_to_st(track.f0_hz))
    d = np.abs(np.diff(st))
    d = d[np.isfinite(d)]
    steady = float(np.mean(d < 0.02)) if d.size else 0.0
    if long_frac > 0.5 and steady > 0.5:
        return (
            f"not speech: steady pitched sound (tone or music; {100 * long_frac:.0f}% of voicing "
            f"in runs over 1 s, pitch steady in {100 * steady:.0f}% of frames)"
        )
    return None


# --------------------------------------------------------------------------- levels


@dataclass
class SpeakerStats:
    """One speaker's prosody baseline over several clips (means and SDs across clips).

    F0 in semitones re 100 Hz, energy in dBFS, rate in syllables/s.
    """

    n_clips: int
    f0_median_hz: float
    f0_mean_st: float
    f0_sd_st: float
    energy_mean_db: float
    energy_sd_db: float
    rate_mean: float
    rate_sd: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def speaker_baseline(cues: list[ProsodyCues]) -> SpeakerStats:
    """Baseline of one speaker from several of their clips (empty cues are skipped).

    Raises:
        ValueError: fewer than two non-empty clips (no spread can be estimated).
    """
    ok = [c for c in cues if not c.empty and c.f0_mean_st is not None]
    if len(ok) < 2:
        raise ValueError(f"speaker_baseline needs >= 2 clips with speech, got {len(ok)}")
    f0 = np.array([c.f0_mean_st for c in ok])
    en = np.array([c.energy_mean_db for c in ok])
    rate = np.array([c.speech_rate_syl_s for c in ok])
    med = float(np.median([c.f0_median_hz for c in ok]))
    # A floor on each SD keeps a tiny, uniform sample from turning noise into "high"/"low".
    return SpeakerStats(
        len(ok), med, float(f0.mean()), max(float(f0.std(ddof=1)), 0.5),
        float(en.mean()), max(float(en.std(ddof=1)), 1.0),
        float(rate.mean()), max(float(rate.std(ddof=1)), 0.2),
    )  # fmt: skip


def _level(z: float) -> str:
    return "high" if z > _Z_BAND else "low" if z < -_Z_BAND else "normal"


def _norm_gender(gender: str | None) -> str | None:
    g = (gender or "").strip().lower()
    if g in ("m", "male", "man"):
        return "male"
    if g in ("f", "female", "woman"):
        return "female"
    if g:
        raise ValueError(f"gender must be 'male', 'female' or None, got {gender!r}")
    return None


def _norm_for(cues: ProsodyCues, gender: str | None) -> tuple[str, str]:
    """(norm, how it was chosen): the given gender, else the speaker's sex as
    estimated from the spectral envelope (:mod:`mmemo.encoders.timbre`, not from F0, which
    arousal raises), else, with too little voicing for it, the nearer F0 norm (geometric
    midpoint 159 Hz)."""
    g = _norm_gender(gender)
    if g is not None:
        return g, "gender given"
    if cues.p_male_timbre is not None:
        g = "male" if cues.p_male_timbre >= 0.5 else "female"
        return g, f"sex from timbre, p(male) {cues.p_male_timbre:.2f}"
    mid = math.sqrt(NORMS["male"]["f0_hz"] * NORMS["female"]["f0_hz"])
    return ("male" if cues.f0_median_hz < mid else "female"), "gender guessed from F0"


def apply_levels(
    cues: ProsodyCues, speaker_stats: SpeakerStats | None = None, gender: str | None = None
) -> ProsodyCues:
    """A copy of ``cues`` with pitch/energy/speed levels against the speaker or the norms.

    ``level_reference`` says which: ``"speaker (N clips)"``, or ``"<male|female> norm
    (<gender given | sex from timbre, p(male) ... | gender guessed from F0>)"``.
    """
    if cues.empty:
        return cues
    if speaker_stats is not None:
        s = speaker_stats
        return replace(
            cues,
            pitch_level=_level((cues.f0_mean_st - s.f0_mean_st) / s.f0_sd_st),
            energy_level=_level((cues.energy_mean_db - s.energy_mean_db) / s.energy_sd_db),
            speed_level=_level((cues.speech_rate_syl_s - s.rate_mean) / s.rate_sd),
            level_reference=f"speaker ({s.n_clips} clips)",
            f0_mean_st_speaker=float(np.asarray(hz_to_st(cues.f0_mean_hz, s.f0_median_hz))),
        )
    g, how = _norm_for(cues, gender)
    d_st = float(np.asarray(hz_to_st(cues.f0_median_hz, NORMS[g]["f0_hz"])))
    band = NORMS["f0_band_st"]["value"]
    e = NORMS["energy_db"]
    r = NORMS["rate_syl_s"]
    rate = cues.speech_rate_syl_s
    return replace(
        cues,
        pitch_level="high" if d_st > band else "low" if d_st < -band else "normal",
        energy_level=_level((cues.energy_mean_db - e["value"]) / e["band"] * _Z_BAND),
        speed_level="high" if rate > r["high"] else "low" if rate < r["low"] else "normal",
        level_reference=f"{g} norm ({how})",
    )


# --------------------------------------------------------------------------- entry point


def _load(source: Any) -> np.ndarray:
    """16 kHz mono float32 samples of a path or an Audio of any rate and layout."""
    from mmemo.media import Audio, read_audio

    if isinstance(source, (str, Path)):
        return read_audio(source, sample_rate=SAMPLE_RATE, mono=True).samples
    if isinstance(source, Audio):
        x = np.asarray(source.samples, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=0) if x.shape[0] <= x.shape[1] else x.mean(axis=1)
        if source.sample_rate != SAMPLE_RATE and x.size:
            import soxr

            x = soxr.resample(x, source.sample_rate, SAMPLE_RATE).astype(np.float32)
        return x
    raise TypeError(f"source must be a path or mmemo.media.Audio, got {type(source).__name__}")


def measure_prosody(
    source: str | Path | Any,
    speaker_stats: SpeakerStats | None = None,
    gender: str | None = None,
    egemaps: bool = False,
) -> ProsodyCues:
    """Measure the prosody of one clip.

    Args:
        source: an audio/video file path, or a :class:`mmemo.media.Audio` (any rate/channels;
            mixed to mono and resampled to 16 kHz).
        speaker_stats: the speaker's baseline (:func:`speaker_baseline`) for speaker-relative
            levels; else levels are relative to gender norms (:data:`NORMS`).
        gender: "male"/"female" for the norms (e.g. a manifest's ``gender``); None takes the
            sex the timbre indicates (F0 itself rises with arousal).
        egemaps: also compute the 88 eGeMAPSv02 functionals with opensmile.

    Returns:
        ProsodyCues; empty with a ``reason`` for silence, non-speech or a too short clip.

    Raises:
        MediaError: the file cannot be read (missing, corrupt, no audio track).
    """
    x = _load(source)
    x = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    duration = len(x) / SAMPLE_RATE
    if duration < _MIN_DURATION_S:
        return ProsodyCues(
            empty=True,
            reason=f"clip too short for prosody ({duration:.2f} s < {_MIN_DURATION_S} s)",
            duration_s=duration,
        )
    track = track_f0(x, SAMPLE_RATE)
    active = track.energy_db > _active_threshold(track.energy_db)
    reason = _non_speech_reason(track, active)
    if reason is not None:
        return ProsodyCues(empty=True, reason=reason, duration_s=duration)
    f0 = track.f0_hz[track.voiced]
    st = np.asarray(hz_to_st(f0))
    tv = track.times[track.voiced]
    slope_st, slope_hz = (
        (float(np.polyfit(tv, st, 1)[0]), float(np.polyfit(tv, f0, 1)[0]))
        if np.ptp(tv) > 0
        else (0.0, 0.0)
    )
    intonation, change = classify_intonation(track.f0_hz)
    from mmemo.encoders.timbre import cepstral_means, p_male

    ceps = cepstral_means(x, track, SAMPLE_RATE)
    act_idx = np.flatnonzero(active)
    span = (act_idx[-1] - act_idx[0] + 1) * track.hop_s
    pauses = _pauses(active, track.hop_s)
    pause_total = float(sum(p[1] for p in pauses))
    nuclei = _syllable_nuclei(track, active)
    e_act = track.energy_db[active]
    cues = ProsodyCues(
        duration_s=duration,
        speech_s=span,
        voiced_s=float(track.voiced.sum() * track.hop_s),
        f0_mean_hz=float(f0.mean()),
        f0_median_hz=float(np.median(f0)),
        f0_std_hz=float(f0.std()),
        f0_min_hz=float(np.percentile(f0, 5)),
        f0_max_hz=float(np.percentile(f0, 95)),
        f0_range_hz=float(np.percentile(f0, 95) - np.percentile(f0, 5)),
        f0_slope_hz_s=slope_hz,
        f0_mean_st=float(st.mean()),
        f0_std_st=float(st.std()),
        f0_range_st=float(np.percentile(st, 95) - np.percentile(st, 5)),
        f0_slope_st_s=slope_st,
        f0_change_st=change,
        intonation=intonation,
        energy_mean_db=float(10.0 * np.log10(np.mean(10.0 ** (e_act / 10.0)))),
        energy_std_db=float(e_act.std()),
        energy_range_db=float(np.percentile(e_act, 95) - np.percentile(e_act, 5)),
        n_syllables=int(nuclei.size),
        speech_rate_syl_s=float(nuclei.size / span),
        articulation_rate_syl_s=float(nuclei.size / max(span - pause_total, track.hop_s)),
        pause_count=len(pauses),
        pause_total_s=pause_total,
        pause_mean_s=pause_total / len(pauses) if pauses else 0.0,
        **_voice_quality(x, track, SAMPLE_RATE),
        p_male_timbre=p_male(ceps),
        cepstrum_means=None if ceps is None else [round(float(v), 4) for v in ceps],
        hop_s=track.hop_s,
        f0_contour_hz=track.f0_hz.astype(np.float32),
        energy_contour_db=track.energy_db.astype(np.float32),
        syllable_times_s=(nuclei * track.hop_s).astype(np.float32),
    )
    if egemaps:
        cues = replace(cues, egemaps=egemaps_functionals(x.astype(np.float32), SAMPLE_RATE))
    return apply_levels(cues, speaker_stats, gender)


def egemaps_functionals(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> dict[str, float]:
    """The 88 eGeMAPSv02 functionals (Eyben et al. 2016) via opensmile, name -> value."""
    import opensmile

    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    row = smile.process_signal(samples, sample_rate).iloc[0]
    return {str(k): float(v) for k, v in row.items()}


# --------------------------------------------------------------------------- plot


def plot_prosody(cues: ProsodyCues, axes: Any = None) -> Any:
    """Pitch (Hz) and energy (dBFS) contours over time on two stacked axes; returns the figure."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True, constrained_layout=True)
    else:
        fig = axes[0].figure
    ax_f0, ax_e = axes
    if cues.empty or cues.f0_contour_hz is None:
        ax_f0.text(0.5, 0.5, f"no prosody: {cues.reason}", ha="center", va="center", wrap=True)
        ax_f0.set_axis_off()
        ax_e.set_axis_off()
        return fig
    t = np.arange(len(cues.f0_contour_hz)) * cues.hop_s
    ax_f0.plot(t, cues.f0_contour_hz, ".", ms=3, color="tab:blue")
    ax_f0.axhline(cues.f0_median_hz, color="tab:blue", lw=0.8, ls="--", label="median")
    ax_f0.set_ylabel("F0 (Hz)")
    ax_f0.set_title(
        f"pitch {cues.pitch_level}, {cues.intonation} ({cues.f0_change_st:+.1f} st); "
        f"energy {cues.energy_level}; rate {cues.speech_rate_syl_s:.1f} syl/s ({cues.speed_level})",
        fontsize=10,
    )
    ax_f0.legend(loc="upper right", fontsize=8)
    ax_f0.grid(alpha=0.3)
    ax_e.plot(t, cues.energy_contour_db, color="tab:red", lw=1)
    if cues.syllable_times_s is not None and len(cues.syllable_times_s):
        idx = np.clip((cues.syllable_times_s / cues.hop_s).astype(int), 0, len(t) - 1)
        ax_e.plot(t[idx], cues.energy_contour_db[idx], "v", color="k", ms=5, label="syllables")
        ax_e.legend(loc="upper right", fontsize=8)
    ax_e.set_ylabel("energy (dBFS)")
    ax_e.set_xlabel("time (s)")
    ax_e.set_ylim(max(-80.0, float(np.min(cues.energy_contour_db)) - 3), 3)
    ax_e.grid(alpha=0.3)
    return fig
