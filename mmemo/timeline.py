"""An emotion timeline for long media: segments, a prediction per segment, an honest aggregate.

Segments (:func:`segment_media`):

- **speech turns** from an energy voice-activity detector (:func:`energy_vad`) where the file
  has audio: 30 ms frames whose level is at least ``VAD_MARGIN_DB`` above the file's noise
  floor (its 10th-percentile frame level) and above ``VAD_FLOOR_DB`` dBFS; gaps shorter than
  ``VAD_MIN_GAP_S`` are bridged, turns shorter than ``VAD_MIN_TURN_S`` dropped, each turn
  padded by ``VAD_PAD_S`` and turns longer than ``max_segment`` split evenly. The audio is read
  in 30 s windows (:func:`mmemo.media.iter_audio`), so memory does not grow with the file.
  Shortcut admitted: an energy detector takes loud non-speech (music, noise bursts) for speech
  and fuses speakers who do not pause; silero-vad would be the upgrade.
- **fixed windows** of ``window`` seconds for a video without speech (or without audio).

Each segment gets its own cues (AUs from frames at ``AU_FPS`` inside it, prosody of its
audio), its own face crops (``FACE_FRAMES`` frames sampled inside the segment, not 8 per
file), voice features, transcript (given, or from the speech recogniser) and a fused
:class:`~mmemo.prediction.Prediction` with the modality contributions.

The file-level answer (:attr:`Timeline.overall`) is the duration-weighted mean of the
segments' probabilities (a mixture: "what share of the file reads as each emotion"), and its
valence/arousal the duration-weighted means of the segments'. It says so in its rationale and
lists each segment's label, so a happy -> sad -> angry clip is never summarised as one mood.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VAD_FRAME_S = 0.03
VAD_FLOOR_DB = -45.0  # dBFS: quieter frames are never speech
VAD_MARGIN_DB = 12.0  # above the file's noise floor
VAD_MIN_GAP_S = 0.6  # pauses shorter than this stay inside one turn
VAD_MIN_TURN_S = 0.4
VAD_PAD_S = 0.15
WINDOW_S = 5.0  # fixed windows of a video without speech
MAX_SEGMENT_S = 15.0
READ_WINDOW_S = 30.0  # audio is read in blocks of this length


@dataclass
class Segment:
    start: float
    end: float
    source: str  # "speech" (a VAD turn) or "window" (a fixed window)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class SegmentResult:
    segment: Segment
    prediction: Any = None  # a Prediction, or None when the segment failed
    error: str | None = None
    cues: Any = None  # MediaCues of the segment (AU frames, prosody contours) for plots


@dataclass
class Timeline:
    """Per-segment predictions of one file and their aggregate."""

    path: str
    id: str
    duration: float
    segmentation: str  # how the segments were made
    segments: list[SegmentResult] = field(default_factory=list)
    overall: Any = None  # Prediction: the duration-weighted aggregate

    def rows(self) -> Iterator[dict[str, Any]]:
        """One record per segment (``start``, ``end``, ``segment``, then the prediction)."""
        from mmemo.predict_output import error_record, ok_record

        for i, r in enumerate(self.segments):
            s = r.segment
            head = {"id": f"{self.id}#{i}", "path": self.path, "segment": i,
                    "start": round(s.start, 3), "end": round(s.end, 3), "source": s.source}  # fmt: skip
            if r.prediction is None:
                rec = error_record(head["id"], self.path, r.error or "failed")
            else:
                rec = ok_record(r.prediction)
            yield {**rec, **head}

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "id": self.id,
            "duration_s": round(self.duration, 3),
            "segmentation": self.segmentation,
            "overall": None if self.overall is None else self.overall.to_dict(),
            "segments": list(self.rows()),
        }


# --------------------------------------------------------------------------- segmentation


def _frame_levels(path: str | Path) -> tuple[np.ndarray, float]:
    """dBFS level of each 30 ms frame of the file's audio, read window by window."""
    from mmemo.media import iter_audio

    hop = int(round(VAD_FRAME_S * 16000))
    levels, end = [], 0.0
    rest = np.zeros(0, np.float32)
    for block in iter_audio(path, window=READ_WINDOW_S, sample_rate=16000):
        x = np.concatenate([rest, block.samples])
        n = len(x) // hop
        if n:
            frames = x[: n * hop].reshape(n, hop).astype(np.float64)
            rms = np.sqrt(np.mean(frames**2, axis=1))
            levels.append(20 * np.log10(np.maximum(rms, 1e-6)))
        rest = x[n * hop :]
        end = block.start + block.duration
    db = np.concatenate(levels) if levels else np.zeros(0)
    return db.astype(np.float32), end


def energy_vad(path: str | Path) -> list[tuple[float, float]]:
    """Speech turns ``(start, end)`` in seconds (see the module docstring for the rule)."""
    db, end = _frame_levels(path)
    if db.size == 0:
        return []
    threshold = max(VAD_FLOOR_DB, float(np.percentile(db, 10)) + VAD_MARGIN_DB)
    active = db >= threshold
    turns: list[list[float]] = []
    idx = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    for a, b in zip(idx[::2], idx[1::2], strict=True):
        t0, t1 = a * VAD_FRAME_S, b * VAD_FRAME_S
        if turns and t0 - turns[-1][1] < VAD_MIN_GAP_S:
            turns[-1][1] = t1
        else:
            turns.append([t0, t1])
    out = []
    for t0, t1 in turns:
        if t1 - t0 >= VAD_MIN_TURN_S:
            out.append((max(0.0, t0 - VAD_PAD_S), min(end, t1 + VAD_PAD_S)))
    return out


def _split(start: float, end: float, max_len: float, source: str) -> list[Segment]:
    n = max(1, math.ceil((end - start) / max_len - 1e-9))
    step = (end - start) / n
    return [Segment(start + i * step, start + (i + 1) * step, source) for i in range(n)]


def segment_media(
    path: str | Path, window: float = WINDOW_S, max_segment: float = MAX_SEGMENT_S
) -> tuple[list[Segment], str]:
    """The segments of a file and a line saying how they were made."""
    from mmemo.media import probe

    info = probe(path)
    if info.kind == "image":
        return [Segment(0.0, 0.0, "window")], "an image: one segment"
    turns = energy_vad(path) if info.has_audio else []
    if turns:
        segs = [s for a, b in turns for s in _split(a, b, max_segment, "speech")]
        return segs, f"{len(turns)} speech turns (energy VAD), split at {max_segment:g} s"
    if info.has_video:
        why = "no speech found" if info.has_audio else "no audio track"
        segs = _split(0.0, info.video_duration or info.duration, window, "window")
        return segs, f"{why}: fixed {window:g} s windows"
    return [], "no speech found in the audio"


# --------------------------------------------------------------------------- prediction


def _measure_segment(predictor: Any, item: Any, info: Any, seg: Segment, transcript: str | None):
    """A ``_Measured`` for one segment: its cues, voice features, face crops and text."""
    from mmemo.data.inputs import InputItem
    from mmemo.encoders.au import measure_face
    from mmemo.encoders.base import ProsodyCues
    from mmemo.encoders.pipeline import MediaCues
    from mmemo.encoders.prosody import measure_prosody
    from mmemo.heads.face.crop import face_crops
    from mmemo.media import MediaError, read_audio, read_frames
    from mmemo.predict import AU_FPS, FACE_FRAMES, _has_evidence, _Measured, _why_empty

    sub = InputItem(f"{item.id}@{seg.start:.2f}-{seg.end:.2f}", item.path, item.transcript,
                    item.speaker, item.row)  # fmt: skip
    m = _Measured(sub)
    cues = MediaCues(str(item.path), info.kind, seg.duration)
    mods = predictor.modalities
    t0 = time.perf_counter()
    audio = None
    if info.has_audio and info.kind != "image":
        try:
            audio = read_audio(item.path, sample_rate=16000, start=seg.start, end=seg.end)
        except MediaError as exc:
            if "no audio samples" not in exc.reason:
                raise  # past the end of a short audio track is silence, not an error
    if "voice" in mods and info.kind != "image":
        if audio is None:
            cues.prosody = ProsodyCues(empty=True, reason="no audio in this segment")
        else:
            cues.prosody = measure_prosody(audio)
            if predictor.voice is not None and not cues.prosody.empty:
                m.voice_features = predictor.voice.features(audio.samples, audio.sample_rate)
    if "face" in mods and info.has_video:
        frames = read_frames(item.path, fps=AU_FPS, start=seg.start, end=seg.end, max_side=640)
        if len(frames) == 0:
            frames = read_frames(item.path, times=np.array([seg.start]), max_side=640)
        cues.face = measure_face(frames)
        if predictor.face is not None and not cues.face.empty:
            pick = np.unique(np.linspace(0, len(frames) - 1, FACE_FRAMES).round().astype(int))
            crops = [c for k in pick for c in face_crops(frames.frames[k], max_faces=1)]
            if crops:
                m.face_probs = predictor.face.predict_proba(np.stack(crops)).mean(axis=0)
                m.face_detail = f"{len(crops)} face crops from {len(pick)} frames of the segment"
    m.cues = cues
    m.timings["cues"] = time.perf_counter() - t0
    if transcript is not None:
        m.transcript, m.transcript_source = transcript, "given (whole file, not time-aligned)"
    elif audio is not None and predictor.asr is not None and "text" in mods:
        t1 = time.perf_counter()
        text = predictor.asr(audio.samples)
        m.timings["asr"] = time.perf_counter() - t1
        if text:
            m.transcript, m.transcript_source = text, predictor.asr.name
    elif predictor.asr is None and predictor.asr_note:
        m.warnings.append(predictor.asr_note)
    if m.transcript and predictor.text is not None and "text" in mods:
        m.text_probs = predictor.text.predict_proba([m.transcript])[0]
    if not _has_evidence(m):
        m.error = "nothing to predict from: " + _why_empty(m)
    return m


def predict_timeline(
    predictor: Any,
    item: Any,
    window: float = WINDOW_S,
    max_segment: float = MAX_SEGMENT_S,
) -> Timeline:
    """Segment one file and predict each segment (``predictor``: a heads
    :class:`~mmemo.predict.Predictor`; ``item``: an :class:`~mmemo.data.inputs.InputItem`).

    Raises MediaError when the file cannot be read; a segment that fails is kept with its
    reason. Memory is bounded by one segment's media plus small per-segment features.
    """
    from mmemo.media import probe
    from mmemo.quiet import silenced

    if predictor.backbone is not None:
        raise ValueError("--timeline works with the default heads, not a generative backbone")
    info = probe(item.path)
    segments, how = segment_media(item.path, window, max_segment)
    timeline = Timeline(str(item.path), item.id, float(info.duration), how)
    measured = []
    for seg in segments:
        with silenced(not predictor.verbose):
            try:
                m = _measure_segment(predictor, item, info, seg, item.transcript)
            except Exception as exc:  # one bad segment never ends the timeline
                m = None
                timeline.segments.append(SegmentResult(seg, error=f"{type(exc).__name__}: {exc}"))
        if m is not None:
            measured.append(m)
            timeline.segments.append(SegmentResult(seg, error=m.error, cues=m.cues))
    voice = predictor._voice_probs([m for m in measured if m.error is None])
    ok = [m for m in measured if m.error is None]
    results = [r for r in timeline.segments if r.cues is not None and r.error is None]
    for i, (m, r) in enumerate(zip(ok, results, strict=True)):
        try:
            r.prediction = predictor._predict_one(m, voice.get(i))
            r.prediction.warnings = list(dict.fromkeys(r.prediction.warnings))
        except Exception as exc:
            r.error = f"prediction failed ({type(exc).__name__}: {exc})"
    timeline.overall = aggregate(timeline, info.notes())
    return timeline


def aggregate(timeline: Timeline, notes: list[str] | None = None) -> Any:
    """The duration-weighted mean of the segments' predictions, or None when none succeeded."""
    from mmemo.prediction import Prediction, wheel_categories

    done = [r for r in timeline.segments if r.prediction is not None]
    if not done:
        return None
    w = np.array([max(r.segment.duration, 1e-3) for r in done])
    w = w / w.sum()
    probs: dict[str, float] = {}
    for wi, r in zip(w, done, strict=True):
        for lab, p in r.prediction.probabilities.items():
            probs[lab] = probs.get(lab, 0.0) + float(wi) * float(p)
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])

    def mean(key: str) -> float | None:
        vals = [(wi, getattr(r.prediction, key)) for wi, r in zip(w, done, strict=True)]
        vals = [(wi, v) for wi, v in vals if v is not None]
        z = sum(wi for wi, _ in vals)
        return sum(wi * v for wi, v in vals) / z if z else None

    parts = [f"{r.segment.start:.1f}-{r.segment.end:.1f} s {r.prediction.emotion}" for r in done]
    rationale = (
        f"Aggregate of {len(done)} segments (duration-weighted mean of their probabilities): "
        + "; ".join(parts) + "."
    )  # fmt: skip
    failed = len(timeline.segments) - len(done)
    warnings = list(notes or [])
    if failed:
        warnings.append(f"{failed} of {len(timeline.segments)} segments could not be predicted")
    from mmemo.prediction import ModalityResult

    views: dict[str, ModalityResult] = {}
    for key in sorted({k for r in done for k in r.prediction.modalities}):
        have = [(wi, r.prediction.modalities[key]) for wi, r in zip(w, done, strict=True)
                if key in r.prediction.modalities]  # fmt: skip
        z = sum(wi for wi, _ in have)
        mix: dict[str, float] = {}
        for wi, v in have:
            for lab, p in v.probabilities.items():
                mix[lab] = mix.get(lab, 0.0) + wi / z * p
        weight = sum(wi * v.weight for wi, v in have) / z
        views[key] = ModalityResult(mix, weight, f"duration-weighted over {len(have)} segments")
    return Prediction(
        id=timeline.id,
        path=timeline.path,
        emotion=ranked[0][0],
        probabilities=probs,
        top=ranked[:5],
        wheel=wheel_categories(ranked[0][0]),
        valence=mean("valence"),
        arousal=mean("arousal"),
        cues=f"{len(done)} segments; {timeline.segmentation}",
        rationale=rationale,
        modalities=views,
        timings_s={"total": sum(r.prediction.timings_s.get("total", 0.0) for r in done)},
        model=done[0].prediction.model,
        warnings=warnings,
    )
