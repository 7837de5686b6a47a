"""Real media made on the spot for the tests (never downloaded, never from a corpus).

Good files come from :mod:`mmemo.data.samples` (espeak-ng speech, the astronaut face,
ffmpeg muxing); this module adds the variants a reader must handle and the broken files it
must reject with a clear ``MediaError``. Used by the ``media_dir`` fixture in ``conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from mmemo.data.samples import face_image, face_video, ffmpeg, speech_wav, tone

# name -> the words the MediaError reason must contain
BROKEN = {
    "empty.wav": "empty file",
    "empty.mp4": "empty file",
    "truncated.mp4": "corrupt",
    "truncated.wav": "corrupt",
    "truncated_faststart.mp4": "truncated",
    "garbage.mp4": "corrupt",
    "garbage.jpg": "not a readable image",
    "text_as.wav": "corrupt",
    "image_as.mp4": "wrong extension",
    "notes.txt": "unsupported file type",
    "missing.wav": "file not found",
    "a_folder.mp4": "not a regular file",
}


def build_media(root: Path) -> Path:
    """Write every fixture file into ``root`` and return it (a few seconds)."""
    import soundfile as sf

    root.mkdir(parents=True, exist_ok=True)
    speech = speech_wav(root / "speech.wav")
    speech_wav(root / "speech_low.wav", pitch=20)
    speech_wav(root / "speech_high.wav", pitch=80)
    speech_wav(root / "speech_slow.wav", rate=120)
    speech_wav(root / "speech_fast.wav", rate=260)
    img = face_image(root / "face.png")
    face_video(root / "face_speech.mp4", img, speech, seconds=3.0)
    face_video(root / "face_noaudio.mp4", img, None, seconds=2.0)
    clip = str(root / "face_speech.mp4")
    webm = ["-c:v", "libvpx", "-b:v", "300k", "-c:a", "libvorbis"]
    ffmpeg("-i", clip, *webm, str(root / "face_speech.webm"))
    ffmpeg("-i", clip, "-c", "copy", str(root / "face_speech.mkv"))
    ffmpeg("-i", clip, "-c:v", "mpeg4", "-c:a", "mp3", str(root / "face_speech.avi"))
    for ext in ("m4a", "mp3", "ogg"):
        ffmpeg("-i", str(speech), str(root / f"speech.{ext}"))
    ffmpeg("-i", str(speech), "-ar", "16000", str(root / "speech.flac"))
    sr = sf.info(str(speech)).samplerate
    sf.write(root / "silent.wav", np.zeros(sr * 2, np.float32), sr)
    ffmpeg("-i", str(speech), "-ar", "8000", str(root / "speech_8k.wav"))
    ffmpeg("-i", str(speech), "-ar", "96000", "-ac", "2", str(root / "speech_stereo_96k.wav"))
    tone(root / "short_0.2s.wav", 0.2, 16000)
    build_real_world(root, img, speech)
    # broken variants (see BROKEN)
    (root / "empty.wav").write_bytes(b"")
    (root / "empty.mp4").write_bytes(b"")
    data = (root / "face_speech.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 3])  # moov atom lost
    ffmpeg("-i", clip, "-c", "copy", "-movflags", "+faststart", str(root / "faststart.mp4"))
    fs = (root / "faststart.mp4").read_bytes()
    (root / "truncated_faststart.mp4").write_bytes(fs[: len(fs) // 2])  # header intact, data cut
    (root / "truncated.wav").write_bytes(speech.read_bytes()[:30])  # cut inside the header
    (root / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "garbage.jpg").write_bytes(np.random.default_rng(1).bytes(2048))
    (root / "text_as.wav").write_text("this is not audio\n" * 50)
    shutil.copy(img, root / "image_as.mp4")
    (root / "notes.txt").write_text("unsupported type\n")
    (root / "a_folder.mp4").mkdir(exist_ok=True)
    return root


def build_real_world(root: Path, img: Path, speech: Path) -> None:
    """Files every player plays that a strict reader gets wrong (issue 14).

    - ``short_audio.mp4``: 6 s of picture, the 3.8 s sentence as its only audio (no padding).
    - ``vp9_opus.webm``: VP9 + Opus (the browser format), audio shorter than the picture.
    - ``vp9_live.webm``: the same written as a live stream (no duration, no cues), as a
      browser's MediaRecorder writes it; decord cannot open it.
    - ``rotated.mp4``: a phone-style portrait clip stored on its side (640x480) with a
      display matrix saying "rotate 90 degrees clockwise"; ``portrait.mp4`` is the upright one.
    """
    face_video(root / "portrait.mp4", img, speech, seconds=3.0, size="480x640")
    sideways = root / "sideways.mp4"
    ffmpeg("-i", str(root / "portrait.mp4"), "-vf", "transpose=2", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "copy", str(sideways))  # fmt: skip
    ffmpeg(
        "-i", str(sideways), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(root / "rotated.mp4")
    )
    six = face_video(root / "face_6s.mp4", img, None, seconds=6.0)
    mux = ["-i", str(six), "-i", str(speech), "-map", "0:v", "-map", "1:a"]
    ffmpeg(*mux, "-c:v", "copy", "-c:a", "aac", str(root / "short_audio.mp4"))
    vp9 = ["-vf", "scale=320:240", "-c:v", "libvpx-vp9", "-b:v", "150k", "-deadline", "realtime",
           "-cpu-used", "8", "-c:a", "libopus"]  # fmt: skip
    ffmpeg(*mux, *vp9, str(root / "vp9_opus.webm"))
    webm = str(root / "vp9_opus.webm")
    ffmpeg("-i", webm, "-c", "copy", "-live", "1", "-f", "webm", str(root / "vp9_live.webm"))
