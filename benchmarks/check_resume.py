"""Kill a corpus-sized ``mmemo predict`` midway, resume it, compare with an uninterrupted run.

    python benchmarks/check_resume.py [--files 500] [--workers 2] [--kill-at 0.5]

The first ``--files`` RAVDESS clips (../shared/data, sorted, 24 actors: speaker
normalisation on, ``--speaker-from 'Actor_(\\d+)'``) are predicted three times with the same
options: once uninterrupted; once killed with SIGKILL when ``--kill-at`` of the records are
written; then the killed run is resumed into the same file. Prints how many records each
step left and whether the resumed file equals the uninterrupted one record for record
(every field but ``timings_s``, which are wall times). ``tests/test_batch.py`` does the same
on a small batch of generated speech.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(
    os.environ.get("MMEMO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CLI = "import sys; from mmemo.cli import main; sys.exit(main())"


def _records(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "timings_s"} for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kill-at", type=float, default=0.5)
    args = ap.parse_args()
    files = sorted(DATA.glob("ravdess/Actor_*/*.flac"))[: args.files]
    work = Path(tempfile.mkdtemp(prefix="mmemo_resume_"))
    base = [sys.executable, "-c", CLI, "predict", *map(str, files), "--quiet",
            "--speaker-from", r"Actor_(\d+)", "--workers", str(args.workers)]  # fmt: skip
    full, cut = work / "full.jsonl", work / "killed.jsonl"
    t0 = time.perf_counter()
    subprocess.run([*base, "--out", str(full)], check=True, capture_output=True)
    print(f"uninterrupted: {len(_records(full))} records in {time.perf_counter() - t0:.0f} s "
          f"({len(files)} files, {args.workers} workers, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    proc = subprocess.Popen([*base, "--out", str(cut)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    target = int(args.kill_at * len(files))
    while proc.poll() is None:
        if cut.is_file() and cut.read_bytes().count(b"\n") >= target:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    rc = proc.wait()
    kept = cut.read_bytes().count(b"\n")
    print(f"killed (exit {rc}) with {kept} complete records written")
    out = subprocess.run([*base, "--out", str(cut)], capture_output=True, text=True)
    said = [ln for ln in out.stderr.splitlines() if "resum" in ln or "wrote" in ln]
    print("resumed run:", " | ".join(said))
    want, got = _records(full), _records(cut)
    same = sum(a == b for a, b in zip(want, got, strict=False))
    print(f"records: uninterrupted {len(want)}, resumed {len(got)}, identical in order {same}; "
          f"{'EQUAL' if want == got else 'DIFFERENT'}")  # fmt: skip


if __name__ == "__main__":
    main()
