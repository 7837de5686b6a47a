"""``Predictor``: media -> cues -> model -> :class:`~mmemo.prediction.Prediction`.

Two kinds of model sit behind the same API:

- **Heads** (the default, shipped in ``checkpoints/default``, or a folder written by
  ``mmemo finetune``): small classifiers per modality (voice: openSMILE functionals; face: a
  CNN on 48x48 face crops; text: MiniLM embeddings), fused late by a weighted log-linear pool
  over the modalities present (:func:`mmemo.prediction.fuse`).
- **Backbones** (a folder written by ``mmemo train``, or a cached hub id): the prompt carries
  the measured cue text, the model writes its reasoning and answer, and the answer is parsed.

Batches run in two passes: the first measures cues and features per file (with a progress
bar); the second predicts, so clips of one speaker can be normalised together when the
inputs name speakers. A file that fails is reported with its reason and the others go on.

Run: ``mmemo predict clip.mp4`` (see ``mmemo predict --help``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.data.inputs import InputItem
from mmemo.prediction import (
    ModalityResult,
    Prediction,
    fuse,
    to_canonical,
    valence_arousal_of,
    wheel_categories,
)

MODALITIES = ("face", "voice", "text")
# Late-fusion weights of the default heads: equal, i.e. untuned (documented in the model card).
DEFAULT_WEIGHTS = {"face": 1.0, "voice": 1.0, "text": 1.0}
FACE_FRAMES = 8  # frames of a video whose face crops the face head averages
# Voice features unlike the speech head's training data get less say in the fusion: full
# weight up to 10 % of features beyond 3 training SDs (the maximum over the training clips
# is 8.4 %), falling linearly to a floor at 25 %. The floor keeps a voice-only answer intact.
VOICE_OUTLIER_OK, VOICE_OUTLIER_MAX, VOICE_WEIGHT_FLOOR = 0.10, 0.25, 0.05
AU_FPS = 5.0  # frame rate of the AU measurement behind the cue text and rationale


class ModelLoadError(RuntimeError):
    """The model named by the user cannot be loaded (message says what to provide)."""


@dataclass
class _Measured:
    """Pass-one result for one input: cues, features and whatever went wrong."""

    item: InputItem
    cues: Any = None
    voice_features: np.ndarray | None = None
    face_probs: np.ndarray | None = None  # [8] mean over frames with a face
    face_detail: str = ""
    text_probs: np.ndarray | None = None
    transcript: str | None = None  # the words the text head read
    transcript_source: str | None = None  # "given" or the recogniser's name ("pocketsphinx")
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


class Predictor:
    """Predict emotions from media files. Build with :meth:`from_pretrained`."""

    def __init__(
        self,
        voice: Any = None,
        face: Any = None,
        text: Any = None,
        *,
        backbone: Any = None,
        modalities: Iterable[str] = MODALITIES,
        weights: dict[str, float] | None = None,
        name: str = "default",
        verbose: bool = False,
    ) -> None:
        self.voice, self.face, self.text, self.backbone = voice, face, text, backbone
        self.verbose = verbose  # False: third-party native logs silenced (mmemo.quiet)
        self.asr: Any = None  # a speech recogniser (mmemo.asr); set with use_asr()
        self.asr_note: str | None = None  # why transcripts are not made, when asked for
        self._executor: Any = None  # the voice-feature thread, made at first use
        self.modalities = set(modalities)
        self.weights = dict(DEFAULT_WEIGHTS, **(weights or {}))
        self.name = name

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls, model: str | Path = "default", modalities: Iterable[str] | None = None
    ) -> Predictor:
        """``"default"``, a heads folder, a ``mmemo train`` checkpoint folder, or a cached hub id."""
        from mmemo.models.heads import FaceHead, HeadError, SpeechHead, TextHead, default_dir

        mods = set(MODALITIES if modalities is None else modalities)
        directory = default_dir() if str(model) == "default" else Path(model)
        if directory.is_dir() and any((directory / f"{n}.json").is_file() for n in _HEADS):
            loaded: dict[str, Any] = {}
            for key, (name, head_cls) in {
                "voice": ("speech", SpeechHead),
                "face": ("face", FaceHead),
                "text": ("text", TextHead),
            }.items():
                if key in mods and (directory / f"{name}.json").is_file():
                    try:
                        loaded[key] = head_cls.load(directory)
                    except HeadError as exc:
                        raise ModelLoadError(str(exc)) from exc
            weights = _weights_from(directory)
            return cls(**loaded, modalities=mods, weights=weights, name=str(model))
        if str(model) == "default":
            raise ModelLoadError(f"the default heads are missing from {directory}")
        return cls(backbone=_load_backbone(model), modalities=mods, name=str(model))

    def use_asr(self, spec: str | None = "pocketsphinx", language: str | None = None) -> None:
        """Transcribe speech for the text head where no transcript is given (:mod:`mmemo.asr`).

        When the recogniser cannot be loaded (e.g. the ``asr`` extra is missing), predictions
        go on without transcripts and each says why."""
        from mmemo.asr import AsrUnavailable, load_asr

        try:
            self.asr, self.asr_note = load_asr(spec, language), None
        except AsrUnavailable as exc:
            self.asr, self.asr_note = None, f"transcripts were not made: {exc}"

    # ------------------------------------------------------------------ predicting
    def predict(self, path: str | Path, speaker: str | None = None, transcript: str | None = None):
        """Predict one file; raises ``ValueError`` naming the file when it cannot be predicted."""
        item = InputItem(str(path), str(path), transcript, speaker)
        ((_, result),) = list(self.predict_items([item], progress=False))
        if isinstance(result, str):
            raise ValueError(f"{path}: {result}")
        return result

    def predict_items(
        self, items: list[InputItem], progress: bool = True
    ) -> Iterator[tuple[InputItem, Prediction | str]]:
        """Yield ``(item, Prediction)`` or ``(item, reason it failed)`` for every item, in order."""
        from tqdm.auto import tqdm

        from mmemo.quiet import silenced

        measured = []
        for item in tqdm(items, desc="measuring", unit="file", disable=not progress):
            with silenced(not self.verbose):
                measured.append(self._measure(item))
        voice_probs = self._voice_probs(measured)
        for i, m in enumerate(measured):
            if m.error is not None:
                yield m.item, m.error
                continue
            try:
                yield m.item, self._predict_one(m, voice_probs.get(i))
            except Exception as exc:  # one bad item never ends the batch
                yield m.item, f"prediction failed ({type(exc).__name__}: {exc})"

    # ------------------------------------------------------------------ pass one
    def _measure(self, item: InputItem) -> _Measured:
        from mmemo.media import MediaError
        from mmemo.models.heads import HeadError

        m = _Measured(item)
        try:
            if item.path:
                self._measure_media(m)
            if item.transcript:
                m.transcript, m.transcript_source = item.transcript, "given"
            elif item.path and "text" in self.modalities:
                self._transcribe(m)
            if m.transcript and "text" in self.modalities and self.text is not None:
                t0 = time.perf_counter()
                try:
                    m.text_probs = self.text.predict_proba([m.transcript])[0]
                except HeadError as exc:  # the optional MiniLM wheel is not installed
                    m.warnings.append(f"text not used: {exc}")
                m.timings["text"] = time.perf_counter() - t0
        except MediaError as exc:
            m.error = exc.reason
        except Exception as exc:
            m.error = f"{type(exc).__name__}: {exc}"
        if m.error is None and self.backbone is None and not _has_evidence(m):
            m.error = "nothing to predict from: " + _why_empty(m)
        return m

    def _measure_media(self, m: _Measured) -> None:
        from mmemo.encoders.pipeline import extract_cues
        from mmemo.media import probe, read_audio
        from mmemo.models.face_crop import is_crop_sized

        path = m.item.path
        info = probe(path)
        m.warnings.extend(info.notes())  # e.g. the audio ends before the picture; rotation
        t0 = time.perf_counter()
        m.cues = extract_cues(
            path,
            face="face" in self.modalities and info.has_video,
            prosody="voice" in self.modalities and info.has_audio,
            au_fps=AU_FPS,
        )
        m.timings["cues"] = time.perf_counter() - t0
        if self.backbone is not None:
            return
        speech = m.cues.prosody is not None and not m.cues.prosody.empty
        face_seen = m.cues.face is not None and not m.cues.face.empty
        # a small square image (FER2013/CK+48 style) is an aligned face crop already: the face
        # head reads it even where the mesh behind the cues found no face
        as_crop = info.kind == "image" and is_crop_sized(info.width, info.height)

        def voice() -> None:
            t0 = time.perf_counter()
            audio = read_audio(path, sample_rate=16000)
            m.voice_features = self.voice.features(audio.samples, audio.sample_rate)
            m.timings["voice"] = time.perf_counter() - t0

        pending = None
        if self.voice is not None and speech:
            if self.face is not None and face_seen:
                # openSMILE and MediaPipe run in C++ without the GIL: overlap the two heads
                pending = self._worker().submit(voice)
            else:
                voice()
        if self.face is not None and (face_seen or as_crop):
            t0 = time.perf_counter()
            m.face_probs, m.face_detail = self._face_probs(path, info.kind)
            m.timings["face"] = time.perf_counter() - t0
            if as_crop and not face_seen and m.face_probs is not None:
                m.warnings.append(
                    f"no face detected in this {info.width}x{info.height} image: it was taken "
                    "as an aligned face crop (FER2013/CK+48 style)"
                )
        if pending is not None:
            pending.result()  # re-raises the voice path's error, as the serial path would

    def _transcribe(self, m: _Measured) -> None:
        """The recogniser's transcript of a file's speech (never over a given transcript)."""
        from mmemo.media import probe, read_audio

        if self.asr is None:
            if self.asr_note:
                m.warnings.append(self.asr_note)
            return
        speech = m.cues is not None and m.cues.prosody is not None and not m.cues.prosody.empty
        if not (probe(m.item.path).has_audio and speech):
            return
        t0 = time.perf_counter()
        text = self.asr(read_audio(m.item.path, sample_rate=16000).samples)
        m.timings["asr"] = time.perf_counter() - t0
        if text:
            m.transcript, m.transcript_source = text, self.asr.name

    def _worker(self) -> Any:
        """One background thread for the voice features (made at first use)."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmemo-voice")
        return self._executor

    def _face_probs(self, path: str, kind: str) -> tuple[np.ndarray | None, str]:
        """Mean face-head probabilities over the face crops of an image or sampled frames."""
        from mmemo.models.face_crop import media_face_crops

        crops, detail = media_face_crops(path, kind, FACE_FRAMES)
        if not crops:
            return None, detail
        return self.face.predict_proba(np.stack(crops)).mean(axis=0), detail

    # ------------------------------------------------------------------ pass two
    def _voice_probs(self, measured: list[_Measured]) -> dict[int, tuple[np.ndarray, bool]]:
        """Voice probabilities per item index; speaker-normalised where a speaker has 2+ clips."""
        idx = [i for i, m in enumerate(measured) if m.voice_features is not None]
        if not idx or self.voice is None:
            return {}
        x = np.stack([measured[i].voice_features for i in idx])
        speakers = [measured[i].item.speaker for i in idx]
        if all(s is None for s in speakers):
            probs = self.voice.predict_proba(x)
            return {i: (p, False) for i, p in zip(idx, probs, strict=True)}
        # items without a speaker get a unique id, so they use the single-clip classifier
        ids = [s if s is not None else f"__single_{i}" for s, i in zip(speakers, idx, strict=True)]
        probs = self.voice.predict_proba(x, speakers=ids)
        counts = {s: ids.count(s) for s in set(ids)}
        return {i: (p, counts[s] > 1) for i, p, s in zip(idx, probs, ids, strict=True)}

    def _predict_one(self, m: _Measured, voice: tuple[np.ndarray, bool] | None) -> Prediction:
        from mmemo.encoders.describe import grounded_rationale

        if self.backbone is not None:
            return self._predict_backbone(m)
        t0 = time.perf_counter()
        views: dict[str, ModalityResult] = {}
        if voice is not None:
            probs, normalised = voice
            detail = "speaker-normalised" if normalised else "single clip"
            views["voice"] = self._view("voice", self.voice.labels, probs, detail)
            outliers = float(self.voice.outlier_fraction(m.voice_features)[0])
            gate = (VOICE_OUTLIER_MAX - outliers) / (VOICE_OUTLIER_MAX - VOICE_OUTLIER_OK)
            gate = min(1.0, max(VOICE_WEIGHT_FLOOR, gate))
            if gate < 1.0:
                views["voice"].weight *= gate
                views["voice"].detail += f"; {outliers:.0%} of features unlike the training speech"
                m.warnings.append(
                    f"the voice is unlike the speech the voice head was trained on "
                    f"({outliers:.0%} of features beyond 3 SD): its weight was cut to {gate:.2f}"
                )
        if m.face_probs is not None:
            views["face"] = self._view("face", self.face.labels, m.face_probs, m.face_detail)
        if m.text_probs is not None:
            views["text"] = self._view("text", self.text.labels, m.text_probs, "transcript")
        fused = fuse(
            {k: v.probabilities for k, v in views.items()},
            {k: v.weight for k, v in views.items()},
        )
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])
        emotion = ranked[0][0]
        valence, arousal = valence_arousal_of(fused)
        timings = dict(m.timings, fuse=time.perf_counter() - t0)
        timings["total"] = sum(timings.values())
        return Prediction(
            id=m.item.id,
            path=m.item.path,
            emotion=emotion,
            probabilities=fused,
            top=ranked[:5],
            wheel=wheel_categories(emotion),
            valence=valence,
            arousal=arousal,
            cues=m.cues.describe() if m.cues is not None else "",
            rationale=_rationale(m, emotion, grounded_rationale),
            modalities=views,
            timings_s=timings,
            model=self.name,
            warnings=m.warnings,
            transcript=m.transcript,
            transcript_source=m.transcript_source,
        )

    def _view(self, key: str, labels, probs, detail: str) -> ModalityResult:
        return ModalityResult(to_canonical(labels, probs), self.weights.get(key, 1.0), detail)

    def _predict_backbone(self, m: _Measured) -> Prediction:
        from mmemo.prediction import canonical

        row = dict(m.item.row) or {"id": m.item.id}
        if m.item.path and not any(row.get(k) for k in ("video", "audio", "image")):
            from mmemo.media import media_kind

            row[media_kind(m.item.path)] = m.item.path
        if m.transcript:
            row["transcript"] = m.transcript
        if m.cues is not None:
            row["cues"] = m.cues.describe()
        t0 = time.perf_counter()
        out = self.backbone.predict([row])[0]
        timings = dict(m.timings, generate=time.perf_counter() - t0)
        label = str(out.get("emotion") or "").strip()
        emotion = canonical(label) if label else "unknown"
        valence, arousal = valence_arousal_of({emotion: 1.0})
        warnings = list(m.warnings)
        if not out.get("well_formed"):
            warnings.append("the model's output did not follow the think/answer format")
        return Prediction(
            id=m.item.id,
            path=m.item.path,
            emotion=emotion,
            probabilities={emotion: 1.0},
            top=[(emotion, 1.0)],
            wheel=wheel_categories(emotion),
            valence=valence,
            arousal=arousal,
            cues=m.cues.describe() if m.cues is not None else "",
            rationale=str(out.get("reasoning") or ""),
            timings_s=dict(timings, total=sum(timings.values())),
            model=self.name,
            warnings=warnings
            + ["a generative backbone gives one answer, not calibrated probabilities"],
            generated=str(out.get("completion", "")),
        )


_HEADS = ("speech", "face", "text")


def _weights_from(directory: Path) -> dict[str, float] | None:
    import json

    path = directory / "fusion.json"
    if not path.is_file():
        return None
    return {k: float(v) for k, v in json.loads(path.read_text())["weights"].items()}


def _load_backbone(model: str | Path) -> Any:
    from mmemo.models.backbones import BackboneNotFound, load_backbone

    try:
        return load_backbone(model, inputs="both")
    except BackboneNotFound as exc:
        raise ModelLoadError(str(exc)) from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot load model {model!r}: {exc}. Give 'default', a folder with "
            "speech/face/text heads (mmemo finetune), or a checkpoint folder from mmemo train."
        ) from exc


def _has_evidence(m: _Measured) -> bool:
    return any(x is not None for x in (m.voice_features, m.face_probs, m.text_probs))


def _why_empty(m: _Measured) -> str:
    reasons = []
    cues = m.cues
    if cues is not None and cues.face is not None:
        reasons.append(cues.face.reason or m.face_detail or "no usable face")
    if cues is not None and cues.prosody is not None:
        reasons.append(cues.prosody.reason or "no speech")
    if cues is not None and cues.face is None and cues.prosody is None:
        reasons.append("no face or voice could be measured in this file")
    if not m.transcript:
        reasons.append("no transcript")
    reasons += m.warnings
    return "; ".join(r for r in reasons if r)


def _rationale(m: _Measured, emotion: str, grounded_rationale) -> str:
    if m.cues is None:
        return f"From the transcript only: {m.transcript!r}."
    return grounded_rationale(m.cues, emotion)
