"""CPU of each part of one warm ``mmemo predict`` of a 5 s clip, and the critical path it implies.

    python benchmarks/predict_parts.py [CLIP] [--repeats 7]

Each part runs alone, ``--repeats`` times after one warm-up; the median process CPU time (all
threads, so MediaPipe's and decord's own threads count) is printed. CPU time barely depends on
what else the machine runs, unlike wall time, so this is the measure that survives a busy
machine. From the parts, the time one clip takes on two free cores under the schedule before
issue 12 (action units, then prosody, on one thread; then the face head beside the voice
features) and a lower bound under the current one (the sound, the face head and the action
units side by side, frames decoded once) are computed; the last line says how much two
threads can overlap on this machine right now (on a busy machine: not at all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("clip", nargs="?", help="a video with a face and speech (default: the sample)")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    from mmemo.data.samples import make_sample
    from mmemo.encoders.au import measure_face
    from mmemo.encoders.prosody import measure_prosody
    from mmemo.heads.face.crop import media_face_crops
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.voice.model import SpeechHead
    from mmemo.media import frames_decoded_once, probe, read_audio, read_frames, sample_times
    from mmemo.predict import AU_FPS, FACE_FRAMES
    from mmemo.quiet import silenced

    path = args.clip or str(make_sample(Path(tempfile.mkdtemp()), seconds=5.0)["clip"])
    voice, face = SpeechHead.load(), FaceHead.load()
    d = probe(path).duration
    sets = [sample_times(d, fps=AU_FPS), sample_times(d, num_frames=FACE_FRAMES)]
    ms: dict[str, float] = {}

    def part(name, fn):
        fn()
        cpu = []
        for _ in range(args.repeats):
            c0 = time.process_time()
            out = fn()
            cpu.append(time.process_time() - c0)
        ms[name] = 1000 * statistics.median(cpu)
        print(f"{name:36s} {ms[name]:6.1f} ms")
        return out

    print(f"{path}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; CPU per part:")
    with silenced(True):
        audio = part("read audio (16 kHz mono)", lambda: read_audio(path, 16000))
        part("prosody", lambda: measure_prosody(audio))
        part("voice features (openSMILE x 2)", lambda: voice.features(audio.samples, 16000))
        part(
            "decode the 25 action-unit frames",
            lambda: read_frames(path, times=sets[0], max_side=640),
        )
        part(
            "decode the 8 face-head frames", lambda: read_frames(path, times=sets[1], max_side=640)
        )
        both = np.unique(np.concatenate(sets))
        part("decode both in one pass", lambda: read_frames(path, times=both, max_side=640))
        frames = read_frames(path, times=sets[0], max_side=640)
        part("action units (FaceMesh, 25 frames)", lambda: measure_face(frames))
        with frames_decoded_once(path, sets, max_side=640):
            crops, _ = part(
                "face crops (detector, 8 frames)", lambda: media_face_crops(path, "video", 8)
            )
        part("face head (crop mesh + CNN, 8 crops)", lambda: face.predict_proba(np.stack(crops)))
    sound = ms["read audio (16 kHz mono)"] + ms["prosody"] + ms["voice features (openSMILE x 2)"]
    au = ms["action units (FaceMesh, 25 frames)"]
    head = ms["face crops (detector, 8 frames)"] + ms["face head (crop mesh + CNN, 8 crops)"]
    serial = ms["decode the 25 action-unit frames"] + au + ms["read audio (16 kHz mono)"]
    serial += ms["prosody"]
    beside = max(
        ms["decode the 8 face-head frames"] + head,
        ms["read audio (16 kHz mono)"] + ms["voice features (openSMILE x 2)"],
    )
    before = serial + beside
    old_cpu = serial + ms["decode the 8 face-head frames"] + head
    old_cpu += ms["read audio (16 kHz mono)"] + ms["voice features (openSMILE x 2)"]
    picture = ms["decode both in one pass"] + au
    new_cpu = sound + picture + head
    after = max(new_cpu / 2, picture, ms["decode both in one pass"] + head, sound)
    print(f"CPU per clip: before issue 12 {old_cpu:.0f} ms, now {new_cpu:.0f} ms")
    print(
        f"one clip on 2 free cores: before {before:.0f} ms ({1000 / before:.2f} clips/s); "
        f"now at least {after:.0f} ms (at most {1000 / after:.2f} clips/s)"
    )
    print(f"free cores now: two threads take {_overlap():.2f} of their serial time (0.5 = 2 free)")


def _overlap() -> float:
    """Wall time of two GIL-free threads (SHA-256 of 64 MiB each) over running them serially:
    how much of the overlap the bound assumes this machine can give right now."""
    import hashlib
    import threading

    data = os.urandom(64 << 20)

    def work() -> None:
        hashlib.sha256(data).digest()

    def both() -> None:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def wall(fn) -> float:
        fn()
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return wall(both) / (2 * wall(work))


if __name__ == "__main__":
    main()
