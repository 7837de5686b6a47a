"""Face detection, 478-point landmarks and head pose (MediaPipe FaceMesh, bundled weights).

- :class:`FaceMesher` wraps the legacy ``mediapipe.solutions.face_mesh`` graph (mediapipe
  0.10.14 ships its face detector and landmark models inside the wheel; nothing is
  downloaded). ``video=True`` uses FaceMesh's tracking mode across consecutive frames;
  ``video=False`` detects afresh on every image.
- :func:`detect_faces` runs it on an image, a video or :class:`mmemo.media.Frames` and returns
  :class:`FaceCues`: the main face per frame (largest on the first frame with a face, then the
  one overlapping the previous main face most), the face count and the head pose.
- :func:`head_frame` / :func:`frontalise` express landmarks in a head-centred frame scaled by
  the inter-ocular distance; :mod:`mmemo.encoders.au` measures action units there.

Small images (e.g. 48x48 face crops) are upsampled so that their shorter side is at least
``min_side`` pixels before FaceMesh runs (its detector misses faces below ~100 px); landmarks
are reported in the caller's pixel coordinates. No face is a result (empty cues with a
reason), never an exception; unreadable files raise :class:`mmemo.media.MediaError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmemo.encoders.base import FaceCues
from mmemo.media import Frames

N_LANDMARKS = 478
# Eye corners (subject's right eye: outer 33, inner 133; left eye: inner 362, outer 263).
R_EYE = (33, 133)
L_EYE = (362, 263)
# Bilateral pairs on bone (eye corners, temples, cheekbones, orbit rims): they barely move
# with expressions, so the head's left-right axis comes from them. (right, left) pairs.
_RIGID_PAIRS = ((33, 263), (133, 362), (127, 356), (234, 454), (162, 389), (226, 446), (143, 372))
# Midline from the forehead down to the nose tip: rigid, gives the head's up axis.
_RIGID_MIDLINE = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4)
_RIGID = tuple(sorted({i for p in _RIGID_PAIRS for i in p} | set(_RIGID_MIDLINE)))
# The forehead-to-nose-tip line leans forwards on a face looking straight at the camera;
# this is its mean tilt (degrees) on FaceMesh landmarks of frontal neutral faces (FER2013
# neutral training images, see benchmarks/validate_au_ckplus.py --calibrate), subtracted so
# that pitch 0 means facing the camera.
PITCH_OFFSET_DEG = 13.96


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FaceMesher:
    """MediaPipe FaceMesh with iris refinement (478 points) on RGB uint8 frames.

    Args:
        video: tracking mode for consecutive frames of one clip (faster, temporally stable);
            False re-detects on every frame (independent images).
        max_faces: most faces returned per frame.
        min_confidence: detection and tracking confidence threshold (0-1).
        min_side: frames whose shorter side is below this many pixels are upsampled to it.
    """

    def __init__(
        self,
        video: bool = False,
        max_faces: int = 4,
        min_confidence: float = 0.5,
        min_side: int = 256,
    ) -> None:
        import mediapipe as mp

        self.min_side = min_side
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._settings = (video, max_faces, min_confidence)
        self._detector = None  # full-range detector and a mesh for crops, made when needed
        self._crop_mesh = None
        self._last_box: np.ndarray | None = None
        self._small = False  # the last frame's face needed the crop path

    def __enter__(self) -> FaceMesher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for graph in (self._mesh, self._detector, self._crop_mesh):
            if graph is not None:
                graph.close()

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks of every face in one frame: a list of [478, 3] float32 arrays in pixels
        (x right, y down, z relative depth on the x scale), largest face first."""
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected uint8 RGB [H, W, 3], got {rgb.dtype} {rgb.shape}")
        faces = self._small_faces(rgb, detect=False) if self._small else []
        if not faces:
            faces = _run_mesh(self._mesh, rgb, self.min_side)
            self._small = False
        if not faces:
            faces = self._small_faces(rgb)
            self._small = bool(faces) and self._settings[0]  # video: stay on the crop path
        faces.sort(key=lambda p: -_box_area(_box(p)))
        self._last_box = _box(faces[0]) if faces else None
        return faces

    def _small_faces(self, rgb: np.ndarray, detect: bool = True) -> list[np.ndarray]:
        """Faces too small for FaceMesh's own short-range detector (under ~20% of the frame):
        find them with the full-range detector (or where the last face was) and mesh a crop."""
        import mediapipe as mp

        video, max_faces, conf = self._settings
        if self._crop_mesh is None:
            self._crop_mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=not video, max_num_faces=1, refine_landmarks=True,
                min_detection_confidence=conf,
            )  # fmt: skip
        h, w = rgb.shape[:2]
        boxes = [self._last_box] if self._last_box is not None else []
        for attempt in range(2):
            faces = []
            for box in boxes[:max_faces]:
                x0, y0, x1, y1 = _square(box, 1.8, w, h)
                if x1 - x0 < 8 or y1 - y0 < 8:
                    continue
                found = _run_mesh(self._crop_mesh, rgb[y0:y1, x0:x1], self.min_side)
                faces += [f + np.array([x0, y0, 0], np.float32) for f in found]
            if faces or attempt or not detect:
                return faces
            if self._detector is None:
                self._detector = mp.solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=conf
                )
            result = self._detector.process(np.ascontiguousarray(rgb))
            boxes = []
            for det in result.detections or ():
                b = det.location_data.relative_bounding_box
                boxes.append(np.array([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w,
                                       (b.ymin + b.height) * h]))  # fmt: skip
            if not boxes:
                return []
        return []


def _square(box: np.ndarray, grow: float, w: int, h: int) -> tuple[int, int, int, int]:
    """A square ``grow`` times the box's longer side, centred on it, clipped to the frame."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = grow * max(box[2] - box[0], box[3] - box[1]) / 2
    return (max(0, int(cx - half)), max(0, int(cy - half)),
            min(w, int(cx + half)), min(h, int(cy + half)))  # fmt: skip


def _run_mesh(mesh, rgb: np.ndarray, min_side: int) -> list[np.ndarray]:
    """FaceMesh on one RGB frame (upsampled when small); landmarks in the frame's pixels."""
    h, w = rgb.shape[:2]
    if min(h, w) < min_side:
        from PIL import Image

        scale = min_side / min(h, w)
        size = (round(w * scale), round(h * scale))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.BICUBIC))
    result = mesh.process(np.ascontiguousarray(rgb))
    faces = []
    for face in result.multi_face_landmarks or ():
        pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
        # Normalised [0, 1] coordinates -> pixels of the caller's frame; z shares x's scale.
        faces.append(pts * np.array([w, h, w], dtype=np.float32))
    return faces


def _box(pts: np.ndarray) -> np.ndarray:
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def _box_area(b: np.ndarray) -> float:
    return float((b[2] - b[0]) * (b[3] - b[1]))


# --------------------------------------------------------------------------- geometry


def head_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The head's own axes from rigid landmarks.

    Args:
        landmarks: [..., 478, 3] pixels (as :class:`FaceMesher` returns them).

    Returns:
        ``axes`` [..., 3, 3] whose columns are the head's unit x (towards the subject's left),
        y (up the face) and z (out of the face, towards the viewer of a frontal face) axes in
        image coordinates; ``centre`` [..., 3] the mean of the rigid points; ``iod`` [...] the
        inter-ocular distance (between the two eye-corner midpoints) in pixels.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    right = lm[..., [p[0] for p in _RIGID_PAIRS], :]
    left = lm[..., [p[1] for p in _RIGID_PAIRS], :]
    ex = (left - right).mean(axis=-2)
    ex /= np.linalg.norm(ex, axis=-1, keepdims=True)
    mid = lm[..., list(_RIGID_MIDLINE), :]
    up = mid[..., 0, :] - mid[..., -1, :]  # nose tip -> forehead; image y grows downwards
    up = up - (up * ex).sum(-1, keepdims=True) * ex
    ey = up / np.linalg.norm(up, axis=-1, keepdims=True)
    if PITCH_OFFSET_DEG:
        # Tilt the up axis back about ex so that a frontal neutral face has pitch 0.
        ez0 = np.cross(ex, ey)
        a = np.deg2rad(PITCH_OFFSET_DEG)
        ey = np.cos(a) * ey + np.sin(a) * ez0
    ez = np.cross(ex, ey)
    axes = np.stack([ex, ey, ez], axis=-1)
    centre = lm[..., list(_RIGID), :].mean(axis=-2)
    eye_r = lm[..., list(R_EYE), :].mean(axis=-2)
    eye_l = lm[..., list(L_EYE), :].mean(axis=-2)
    iod = np.linalg.norm(eye_l - eye_r, axis=-1)
    return axes, centre, iod


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll in degrees, [..., 3], from landmarks [..., 478, 3] (pixels).

    0 = facing the camera upright. yaw > 0: face turned towards the image's right (the
    subject's left); pitch > 0: looking up; roll > 0: face tilted clockwise on screen.
    """
    axes, _, _ = head_frame(landmarks)
    ey, ez = axes[..., 1], axes[..., 2]
    # Image coordinates: x right, y down, z away from the camera; a frontal face has
    # ey = (0, -1, 0) and ez = (0, 0, -1).
    yaw = np.degrees(np.arctan2(ez[..., 0], -ez[..., 2]))
    pitch = np.degrees(np.arctan2(-ez[..., 1], np.hypot(ez[..., 0], ez[..., 2])))
    roll = np.degrees(np.arctan2(ey[..., 0], -ey[..., 1]))
    return np.stack([yaw, pitch, roll], axis=-1).astype(np.float32)


def frontalise(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks in the head frame, in inter-ocular-distance units, [..., 478, 3].

    The head's rotation is undone and its size divided out: x towards the subject's left, y up
    the face, z out of the face; origin at the centre of the rigid points. Distances between
    frontalised points are therefore comparable across head poses and image sizes.
    """
    axes, centre, iod = head_frame(landmarks)
    lm = np.asarray(landmarks, dtype=np.float64) - centre[..., None, :]
    return (lm @ axes) / iod[..., None, None]


# --------------------------------------------------------------------------- detect


def _load_frames(source, fps: float, max_side: int | None) -> tuple[Frames, bool]:
    """Frames to analyse and whether they form a video (tracking mode)."""
    from mmemo.media import media_kind, read_frames, read_image

    if isinstance(source, Frames):
        return source, len(source) > 1
    if isinstance(source, np.ndarray):
        if source.ndim == 4:
            return Frames(source, np.arange(len(source)) / fps, fps), len(source) > 1
        return Frames(source[None], np.zeros(1)), False
    path = Path(source)
    if media_kind(path) == "image":
        img = read_image(path)
        return Frames(img[None], np.zeros(1), None, np.zeros(1, np.int64)), False
    frames = read_frames(path, fps=fps, max_side=max_side)
    if len(frames) == 0:  # clip shorter than one sampling step: take its first frame
        frames = read_frames(path, times=np.zeros(1), max_side=max_side)
    return frames, True


def detect_faces(
    source: str | Path | np.ndarray | Frames,
    fps: float = 10.0,
    max_side: int | None = 640,
    max_faces: int = 4,
    mesher: FaceMesher | None = None,
) -> FaceCues:
    """The main face's landmarks, box, head pose and the face count in each frame.

    Args:
        source: an image or video path, an RGB uint8 image [H, W, 3] or frames [T, H, W, 3],
            or :class:`mmemo.media.Frames`.
        fps: frames per second sampled from a video file.
        max_side: a video's frames are resized in the decoder so their longer side is at
            most this many pixels (images are analysed at full size).
        max_faces: most faces FaceMesh looks for per frame (the count saturates there).
        mesher: an open :class:`FaceMesher` to reuse (its mode is then the caller's choice).

    Returns:
        :class:`FaceCues`; ``empty`` with a ``reason`` when no frame holds a face.

    Raises:
        MediaError: the file is missing, corrupt or not an image/video.
    """
    frames, is_video = _load_frames(source, fps, max_side)
    t = len(frames)
    h, w = (frames.frames.shape[1:3]) if t else (0, 0)
    landmarks = np.full((t, N_LANDMARKS, 3), np.nan, np.float32)
    boxes = np.full((t, 4), np.nan, np.float32)
    counts = np.zeros(t, np.int64)
    own = mesher is None
    mesher = mesher or FaceMesher(video=is_video, max_faces=max_faces)
    try:
        prev = None
        for i in range(t):
            faces = mesher(frames.frames[i])
            counts[i] = len(faces)
            if not faces:
                continue
            main = faces[0]
            if prev is not None and len(faces) > 1:
                # Keep following the same person while they stay roughly in place.
                ious = [_iou(_box(f), prev) for f in faces]
                if max(ious) > 0.3:
                    main = faces[int(np.argmax(ious))]
            landmarks[i] = main
            boxes[i] = prev = _box(main)
    finally:
        if own:
            mesher.close()
    pose = np.full((t, 3), np.nan, np.float32)
    found = counts > 0
    if found.any():
        pose[found] = head_pose(landmarks[found])
    cues = FaceCues(
        timestamps=np.asarray(frames.timestamps, dtype=np.float64),
        landmarks=landmarks,
        boxes=boxes,
        face_count=counts,
        head_pose=pose,
        frame_size=(int(w), int(h)),
    )
    if t == 0:
        cues.empty, cues.reason = True, "no frames to analyse"
    elif not found.any():
        cues.empty = True
        cues.reason = "no face found" + (f" in any of {t} frames" if t > 1 else " in the image")
    return cues
