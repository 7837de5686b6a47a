"""The single-clip measure path before and after issue 12 in ONE process, clip by clip.

    python benchmarks/predict_paths_ab.py [CLIP] [--pairs 20]

On a busy machine two runs a minute apart see different loads; here the two paths alternate
clip by clip (which goes first alternates too) in one process, so both meet the same load.
"before" is ``Predictor._measure_media`` as it was at commit 03cbf99, kept below as a frozen
copy for this comparison only; "after" is the current one. Both then go through the same
heads and fusion (``finish``), and every pair must give the same prediction.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import types
from pathlib import Path


def before_issue_12(self, m) -> None:
    """Predictor._measure_media at 03cbf99: cues (AUs, then prosody), then the face head beside
    the voice features (audio decoded again)."""
    from mmemo.encoders.pipeline import extract_cues
    from mmemo.heads.face.crop import is_crop_sized
    from mmemo.media import probe, read_audio
    from mmemo.predict import AU_FPS

    path = m.item.path
    info = probe(path)
    m.warnings.extend(info.notes())
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
    as_crop = info.kind == "image" and is_crop_sized(info.width, info.height)

    def voice() -> None:
        t0 = time.perf_counter()
        audio = read_audio(path, sample_rate=16000)
        m.voice_features = self.voice.features(audio.samples, audio.sample_rate)
        m.timings["voice"] = time.perf_counter() - t0

    pending = None
    if self.voice is not None and speech:
        if self.face is not None and face_seen:
            pending = self._worker().submit(voice)
        else:
            voice()
    if self.face is not None and (face_seen or as_crop):
        t0 = time.perf_counter()
        m.face_probs, m.face_detail = self._face_probs(path, info.kind)
        m.timings["face"] = time.perf_counter() - t0
    if pending is not None:
        pending.result()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("clip", nargs="?", help="a video with a face and speech (default: the sample)")
    ap.add_argument("--pairs", type=int, default=20)
    args = ap.parse_args()
    from mmemo.data.inputs import InputItem
    from mmemo.data.samples import make_sample
    from mmemo.predict import Predictor

    work = Path(tempfile.mkdtemp(prefix="mmemo_ab_"))
    src = Path(args.clip) if args.clip else make_sample(work, seconds=5.0)["clip"]
    clips = [shutil.copy(src, work / f"c{i}{src.suffix}") for i in range(args.pairs)]
    p = Predictor.from_pretrained("default")
    paths = {
        "before": types.MethodType(before_issue_12, p),
        "after": types.MethodType(Predictor._measure_media, p),
    }
    wall: dict[str, list[float]] = {k: [] for k in paths}
    cpu: dict[str, list[float]] = {k: [] for k in paths}
    for k in paths:  # warm both
        p._measure_media = paths[k]
        list(p.predict_items([InputItem("warm", str(src))], progress=False))
    for i, clip in enumerate(clips):
        got = {}
        for k in ("before", "after") if i % 2 == 0 else ("after", "before"):
            p._measure_media = paths[k]
            c0, t0 = time.process_time(), time.perf_counter()
            ((_, got[k]),) = list(
                p.predict_items([InputItem(f"{k}{i}", str(clip))], progress=False)
            )
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
        a, b = got["before"], got["after"]
        assert (a.emotion, a.probabilities, a.cues) == (b.emotion, b.probabilities, b.cues), i
    print(
        f"{src.name}: {args.pairs} pairs, load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs; the same prediction in every pair"
    )
    for k in paths:
        w, c = statistics.median(wall[k]), statistics.median(cpu[k])
        print(
            f"  {k:6s} median {1000 * w:.0f} ms/clip ({1 / w:.2f} clips/s), CPU {1000 * c:.0f} ms"
        )
    ratios = [a / b for a, b in zip(wall["before"], wall["after"], strict=True)]
    print(f"  speed-up: median of the per-pair ratios {statistics.median(ratios):.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
