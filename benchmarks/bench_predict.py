"""Speed of ``mmemo predict`` with the default model on a 5 s clip (face + speech).

    python benchmarks/bench_predict.py [--repeats 3] [--batch 12]

Prints:
- cold: wall time of a fresh ``mmemo predict clip.mp4`` process (imports, model load, cues,
  heads), against the floor of a fresh process that only imports the libraries it needs
  (torch, mediapipe, opensmile) -- both measured here, in this run;
- warm: clips per second of one loaded ``Predictor`` over a batch of clips, against the cue
  extraction alone on the same clips (the ratio is the price of the heads and fusion).
Targets (issue 6): cold <= 6 s, warm >= 3 clips/s, on a 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=12)
    args = ap.parse_args()
    from mmemo.data.samples import make_sample

    work = Path(tempfile.mkdtemp(prefix="mmemo_bench_"))
    clip = make_sample(work, seconds=5.0)["clip"]
    # ``python -m mmemo.cli`` is what the ``mmemo`` console script runs (import + main); the
    # script itself can carry a stale interpreter path in a copied venv
    mmemo = [sys.executable, "-m", "mmemo.cli"]
    env_note = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    imports = "import torch, mediapipe, opensmile, transformers"
    _wall([*mmemo, "predict", str(clip), "--quiet"])  # first run warms the OS file cache
    cold = [_wall([*mmemo, "predict", str(clip), "--quiet"]) for _ in range(args.repeats)]
    floor = [_wall([sys.executable, "-c", imports]) for _ in range(args.repeats)]
    print(f"clip: 5.0 s, 640x480, face + espeak-ng speech; {env_note}")
    print(f"cold mmemo predict (median of {args.repeats}): {statistics.median(cold):.2f} s "
          f"(runs {', '.join(f'{c:.2f}' for c in cold)})")  # fmt: skip
    print(f"  floor: fresh process importing the libraries: {statistics.median(floor):.2f} s; "
          f"ratio {statistics.median(cold) / statistics.median(floor):.2f}")  # fmt: skip

    from mmemo.data.inputs import InputItem
    from mmemo.encoders.pipeline import extract_cues
    from mmemo.predict import AU_FPS, Predictor

    clips = []
    for i in range(args.batch):
        shutil.copy(clip, work / f"c{i}.mp4")
        clips.append(work / f"c{i}.mp4")
    predictor = Predictor.from_pretrained("default")
    list(predictor.predict_items([InputItem("w", str(clip), None, None)], progress=False))
    t0 = time.perf_counter()
    results = list(
        predictor.predict_items([InputItem(str(c), str(c)) for c in clips], progress=False)
    )
    warm = time.perf_counter() - t0
    assert all(not isinstance(r, str) for _, r in results), results
    t0 = time.perf_counter()
    for c in clips:
        extract_cues(c, au_fps=AU_FPS)
    cues_only = time.perf_counter() - t0
    print(f"warm batch of {args.batch}: {args.batch / warm:.2f} clips/s ({warm:.2f} s)")
    print(f"  cues alone on the same clips: {args.batch / cues_only:.2f} clips/s; "
          f"ratio predict/cues {warm / cues_only:.2f}")  # fmt: skip
    ok_cold = statistics.median(cold) <= 6.0
    ok_warm = args.batch / warm >= 3.0
    print(
        f"[{'PASS' if ok_cold else 'FAIL'}] cold <= 6 s; [{'PASS' if ok_warm else 'FAIL'}] warm >= 3 clips/s"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
