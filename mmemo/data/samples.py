"""Sample media made on this machine: no download, no licence-restricted content.

Speech comes from espeak-ng, the face from scikit-image's astronaut photograph (public
domain, NASA), and the clip is muxed with ffmpeg. ``mmemo media sample`` and the tests use
these to have real media anywhere. Needs the ``ffmpeg`` and ``espeak-ng`` programs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

SENTENCE = "Kids are talking by the door, and the dogs are sitting by the window."


class ToolMissing(RuntimeError):
    """A program needed to make sample media is not installed."""


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise ToolMissing(f"'{cmd[0]}' is not installed (apt-get install {cmd[0]})")
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip()[-500:]}")


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly, overwriting outputs."""
    _run(["ffmpeg", "-y", "-loglevel", "error", *args])


def speech_wav(path: Path, pitch: int = 50, rate: int = 175, text: str = SENTENCE) -> Path:
    """espeak-ng speech: ``pitch`` 0-99 (20 low, 80 high), ``rate`` in words per minute."""
    _run(["espeak-ng", "-w", str(path), "-p", str(pitch), "-s", str(rate), text])
    return path


def face_image(path: Path, size: int = 512) -> Path:
    """The astronaut photograph (a real frontal face), resized to ``size`` x ``size``."""
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).resize((size, size)).save(path)
    return path


def face_video(
    path: Path,
    image: Path,
    audio: Path | None = None,
    seconds: float = 3.0,
    size: str = "640x480",
    fps: int = 25,
) -> Path:
    """An H.264 clip of a still face with a slow zoom (so frames differ), AAC audio if given."""
    cmd = ["-loop", "1", "-framerate", str(fps), "-i", str(image)]
    if audio is not None:
        cmd += ["-i", str(audio)]
    w, h = size.split("x")
    # keep the face's aspect ratio (pad, never stretch), then a slow zoom so frames differ
    fit = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
    vf = f"{fit},zoompan=z='min(zoom+0.002,1.2)':d=1:s={size}:fps={fps}"
    cmd += ["-t", str(seconds), "-vf", vf, "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    cmd += ["-preset", "ultrafast"]
    if audio is not None:
        cmd += ["-c:a", "aac", "-af", "apad", "-shortest"]
    ffmpeg(*cmd, str(path))
    return path


def tone(
    path: Path,
    seconds: float,
    sample_rate: int,
    channels: int = 1,
    freq: float = 220.0,
    amplitude: float = 0.3,
) -> Path:
    """A pure sine tone (not speech), written with soundfile."""
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    sf.write(path, np.stack([x] * channels, axis=1) if channels > 1 else x, sample_rate)
    return path


# read by espeak-ng (en-us, 120 wpm): pocketsphinx gets the emotion words of each
THREE_EMOTIONS = (
    ("happy", "this is wonderful news I am so happy"),
    ("sad", "I feel really sad and lonely"),
    ("angry", "I am so annoyed"),
)


def three_emotion_speech(path: Path, seconds: float = 60.0) -> Path:
    """A long recording: a happy, a sad and an angry sentence at 2, 22 and 42 s (of 60 s),
    silence between, for emotion timelines (``mmemo predict --timeline``)."""
    import tempfile

    import soundfile as sf

    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (_, text) in enumerate(THREE_EMOTIONS):
            wav = Path(tmp) / f"{k}.wav"
            _run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(wav), text])
            x, sr = sf.read(wav, dtype="float32")
            parts.append(x)
    y = np.zeros(int(seconds * sr), np.float32)
    for k, x in enumerate(parts):
        t = int((2 + k * seconds / 3) * sr)
        y[t : t + len(x)] = x[: max(0, len(y) - t)]
    sf.write(path, y, sr)
    return path


def make_sample(out_dir: str | Path, seconds: float = 4.0) -> dict[str, Path]:
    """Write a sample clip (face + speech), its parts and a two-row manifest into ``out_dir``."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    speech = speech_wav(out / "sample_speech.wav", pitch=60, rate=160)
    image = face_image(out / "sample_face.png")
    clip = face_video(out / "sample_clip.mp4", image, speech, seconds=seconds)
    manifest = out / "sample_manifest.jsonl"
    rows = [
        {"id": "sample-clip", "video": clip.name, "transcript": SENTENCE, "speaker": "espeak"},
        {"id": "sample-speech", "audio": speech.name, "transcript": SENTENCE, "speaker": "espeak"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return {"clip": clip, "speech": speech, "image": image, "manifest": manifest}
