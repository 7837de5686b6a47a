"""The face head at inference: 48x48 gray face crops -> CNN (+ landmark geometry) -> 8 classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmemo.heads.bundle import (
    MLP,
    HeadError,
    config_labels,
    config_temperature,
    default_dir,
    load_bundle,
    softmax,
)
from mmemo.heads.face.cnn import build_face_cnn, tta_logits

FACE_LABELS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "contempt")


FACE_SIZE = 48


class FaceHead:
    """Facial expression from 48x48 gray face crops: small CNN, 8 classes (FER 7 + contempt)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray], path: Path) -> None:
        import torch

        self.config = config
        self.labels = config_labels(config, FACE_LABELS, path)
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
        # test-time views: [dy, dx(, scale)] windows of the crop (mmemo.heads.face.cnn.TTA_SHIFTS)
        self.views = tuple(
            tuple(float(a) for a in v) for v in config["input"].get("test_time_views", [[0, 0]])
        )
        self.temperature = config_temperature(config, "temperature", path)
        # out-of-corpus skill (kappa) behind the head's fusion weight; None: not measured
        self.reliability = (config.get("reliability") or {}).get("skill")
        # optional landmark-geometry classifier fused with the CNN (mmemo.heads.face.geometry)
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
            from mmemo.heads.face.geometry import crop_landmarks, fused_logits

            if landmarks is None:
                x = np.asarray(crops)
                landmarks = crop_landmarks(x.reshape(-1, *x.shape[-2:]))
            logits = fused_logits(logits, self.geometry, landmarks, self.geometry_weight)
        return softmax(logits / self.temperature)

    def logits(self, crops: np.ndarray, batch: int = 256) -> np.ndarray:
        """The CNN's logits ``[N, 8]``: the mean over the configured test-time views (crop
        windows ``test_time_views``, each mirrored when ``test_time_mirror``)."""
        import torch

        x = np.asarray(crops)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"expected uint8 crops [N, 48, 48], got shape {x.shape}")
        out = []
        step = max(1, batch // (len(self.views) * (2 if self.mirror else 1)))
        # A net this small gains nothing from intra-op threads, and on a busy machine the
        # thread pool's spinning made a batch of 8 crops 40x slower (0.7 s vs 16 ms).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                for i in range(0, len(x), step):
                    xb = torch.from_numpy(x[i : i + step].astype(np.float32)) / 255.0
                    lo = tta_logits(self.model, xb.unsqueeze(1), self.crop, self.views,
                                    self.mirror)  # fmt: skip
                    out.append(lo.numpy())
        finally:
            torch.set_num_threads(threads)
        if not out:
            return np.zeros((0, len(self.labels)))
        return np.concatenate(out)
