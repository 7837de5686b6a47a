"""Speed of the default cue pipeline against the raw cost of its parts, measured in one run.

Builds a 10 s 1280x720 30 fps H.264 clip of a real face (scikit-image's astronaut) with
espeak-ng speech muxed by ffmpeg, then times

- the full default pipeline: ``extract_cues(clip)`` (AUs at 10 fps from frames decoded at
  <= 640 px, prosody of the audio track), and
- its raw parts alone: decoding the same sampled frames (``read_frames``), MediaPipe FaceMesh
  (refined, 478 points, tracking mode, graph construction included) on those frames, and F0
  tracking (``track_f0``) on the already decoded 16 kHz audio.

It prints the median wall time of ``--repeats`` runs and the ratio full / sum of parts.
Targets: full pipeline under 3 s, ratio at most 1.3. Run from the repository root:

    nice -n 10 python benchmarks/bench_cues.py [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SECONDS = 10.0
TEXT = (
    "Kids are talking by the door, and the dogs are sitting by the window. "
    "I really did not expect to see you here today, it is such a lovely surprise."
)


def build_clip(out_dir: Path) -> Path:
    """The 10 s 1280x720 30 fps face + speech clip (H.264 + AAC)."""
    from mmemo.data.samples import face_image, face_video, speech_wav

    speech = speech_wav(out_dir / "speech.wav", pitch=60, rate=150, text=TEXT)
    face = face_image(out_dir / "face.png", size=720)
    return face_video(out_dir / "clip.mp4", face, speech, SECONDS, size="1280x720", fps=30)


def _time(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def facemesh_alone(frames) -> int:
    """Raw FaceMesh on each frame (same settings as mmemo's FaceMesher); faces found."""
    import mediapipe as mp

    found = 0
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=4, refine_landmarks=True,
        min_detection_confidence=0.5, min_tracking_confidence=0.5,
    ) as mesh:  # fmt: skip
        for rgb in frames.frames:
            found += bool(mesh.process(rgb).multi_face_landmarks)
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the clip here instead of a temp folder")
    args = ap.parse_args(argv)

    from mmemo.encoders.pipeline import extract_cues
    from mmemo.encoders.prosody import track_f0
    from mmemo.media import probe, read_audio, read_frames

    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        clip = build_clip(out_dir)
        info = probe(clip)
        print(f"clip: {info.width}x{info.height} {info.fps:.0f} fps {info.duration:.1f} s, "
              f"audio {info.sample_rate} Hz")  # fmt: skip
        audio = read_audio(clip).samples
        extract_cues(clip)  # warm-up: imports, model files, caches
        full, dec, mesh, f0 = [], [], [], []
        for _ in range(args.repeats):
            t, cues = _time(lambda: extract_cues(clip))
            full.append(t)
            t, frames = _time(lambda: read_frames(clip, fps=10.0, max_side=640))
            dec.append(t)
            t, n_found = _time(lambda frames=frames: facemesh_alone(frames))
            mesh.append(t)
            f0.append(_time(lambda: track_f0(audio))[0])
        med = statistics.median
        parts = med(dec) + med(mesh) + med(f0)
        print(f"cues: {cues.describe()}")
        print(f"frames analysed: {len(frames)} at {frames.frames.shape[2]}x{frames.frames.shape[1]}"
              f", face found in {n_found}")  # fmt: skip
        print("pipeline timings (last run): "
              + ", ".join(f"{k} {v:.3f} s" for k, v in cues.timings_s.items()))  # fmt: skip
        print(f"parts alone (median of {args.repeats}): decode {med(dec):.3f} s + FaceMesh "
              f"{med(mesh):.3f} s + F0 {med(f0):.3f} s = {parts:.3f} s")  # fmt: skip
        print(f"full pipeline wall (median of {args.repeats}): {med(full):.3f} s "
              f"(runs: {', '.join(f'{t:.3f}' for t in full)})")  # fmt: skip
        ratio = med(full) / parts
        print(f"ratio full / parts: {ratio:.2f}")
        ok_time, ok_ratio = med(full) < 3.0, ratio <= 1.3
        print(f"[{'PASS' if ok_time else 'FAIL'}] wall < 3 s; "
              f"[{'PASS' if ok_ratio else 'FAIL'}] ratio <= 1.3")  # fmt: skip
    return 0 if ok_time and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
