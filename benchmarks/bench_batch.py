"""Batch prediction at corpus scale: workers, memory, transcripts (mmemo.batch).

    python benchmarks/bench_batch.py throughput [--files 200] [--workers 1 2 4]
    python benchmarks/bench_batch.py memory [--sizes 200 2000]
    python benchmarks/bench_batch.py transcripts [--rows 2000]

Real files from ../shared/data (never copied into the repository):
- throughput: the first ``--files`` RAVDESS speech clips (sorted paths), predicted with the
  default model by :func:`mmemo.batch.stream` at each worker count, in this one process
  (warmed up on one clip first, so no count pays this process's lazy imports); wall time
  includes starting the worker processes (fork server, one model each; this process measures
  meanwhile); the rate after the first result is printed too. Ratios are to 1 worker in the
  same run. The pool has at most one worker per core (``mmemo.batch.usable_cores``).
- memory: FER2013 train images (48x48 faces), ``--sizes`` inputs, each size in a fresh
  process; peak resident memory (ru_maxrss) of streaming (``mmemo.batch.stream``) against
  measuring every input before predicting any (what ``predict_items`` did before), both in
  this run.
- transcripts: MELD utterances as transcript-only rows: rows per second of the streamed
  batch (text head batched: 1,024 rows per call, tokenised once, encoder batches sorted by
  token count, about 1,024 tokens each) against one text-head call per row (the old path),
  on the same rows, model already loaded in both; ``--threads`` sets torch's thread count
  (on a loaded machine one thread beats two).
State the machine load with the numbers: the machine may be shared.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(
    os.environ.get("MMEMO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def throughput(files: int, workers: list[int]) -> None:
    from mmemo.batch import stream
    from mmemo.data.inputs import InputItem
    from mmemo.predict import Predictor

    paths = sorted(DATA.glob("ravdess/Actor_*/*.flac"))[:files]
    items = [InputItem(str(p), str(p)) for p in paths]
    predictor = Predictor.from_pretrained("default")
    predictor.measure(items[:1])  # this process's lazy imports (opensmile...) before any timing
    print(f"{len(items)} RAVDESS clips, default model; {_load()}")
    base = None
    for w in workers:
        t0 = time.perf_counter()
        out, first = [], None
        for res in stream(predictor, items, workers=w, progress=False):
            out.append(res)
            first = first or time.perf_counter() - t0
        dt = time.perf_counter() - t0
        ok = sum(not isinstance(r, str) for _, r in out)
        steady = (len(out) - 1) / max(dt - first, 1e-9)  # after the workers are up
        base = base or (dt, steady)
        print(f"workers {w}: {dt:6.1f} s  {ok / dt:5.2f} files/s  x{base[0] / dt:4.2f} vs 1 worker;"
              f" first result after {first:4.1f} s, then {steady:5.2f} files/s"
              f" x{steady / base[1]:4.2f}  ({ok}/{len(items)} predicted; {_load()})")  # fmt: skip


_MEMORY_CHILD = """
import json, resource, sys
from mmemo.batch import stream
from mmemo.data.inputs import InputItem
from mmemo.predict import Predictor
paths, mode = json.loads(sys.argv[1]), sys.argv[2]
items = [InputItem(f"{i}", p) for i, p in enumerate(paths)]
pred = Predictor.from_pretrained("default")
if mode == "stream":
    n = sum(1 for _ in stream(pred, items, progress=False))
else:  # the old two passes: every input measured before the first prediction
    measured = [m for it in items for m in pred.measure([it])]
    n = sum(1 for _ in pred.finish(measured))
print(json.dumps({"n": n, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory(sizes: list[int]) -> None:
    images = sorted(DATA.glob("fer2013/train/*/*.jpg"))
    print(f"FER2013 train images; {_load()}")
    print(f"{'inputs':>7}{'streamed peak MiB':>19}{'measure-all-first peak MiB':>28}{'s':>8}")
    for n in sizes:
        paths = [str(p) for p in images[:n]]
        row = []
        t0 = time.perf_counter()
        for mode in ("stream", "all"):
            out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, json.dumps(paths), mode],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            res = json.loads(out.stdout.strip().splitlines()[-1])
            assert res["n"] == n, res
            row.append(res["peak_mib"])
        print(f"{n:>7}{row[0]:>19.0f}{row[1]:>28.0f}{time.perf_counter() - t0:>8.0f}")


def transcripts(rows: int, threads: int | None = None) -> None:
    from mmemo.batch import stream
    from mmemo.data.inputs import InputItem
    from mmemo.predict import Predictor

    texts = []
    for name in ("dev_sent_emo.csv", "train_sent_emo.csv"):
        with (DATA / "meld" / name).open(encoding="utf-8") as fh:
            texts += [r["Utterance"] for r in csv.DictReader(fh)]
    items = [InputItem(f"u{i}", None, t) for i, t in enumerate(texts[:rows])]
    predictor = Predictor.from_pretrained("default")
    predictor.text.predict_proba(["warm up"])  # load MiniLM before timing either path
    if threads:
        import torch

        torch.set_num_threads(threads)
    import torch

    print(f"{len(items)} MELD utterances, transcript only, torch threads "
          f"{torch.get_num_threads()}; {_load()}")  # fmt: skip
    t0 = time.perf_counter()
    out = list(stream(predictor, items, progress=False))
    dt = time.perf_counter() - t0
    assert all(not isinstance(r, str) for _, r in out)
    few = items[:200]
    t0 = time.perf_counter()
    for it in few:
        predictor.text.predict_proba([it.transcript])
    one = time.perf_counter() - t0
    print(f"streamed, text head batched: {len(items) / dt:7.1f} rows/s ({dt:.1f} s)")
    print(f"one text-head call per row:  {len(few) / one:7.1f} rows/s (first {len(few)} rows, "
          f"text head only)  -> batched x{(len(items) / dt) / (len(few) / one):.1f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=("throughput", "memory", "transcripts"))
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--threads", type=int, help="torch threads for transcripts (default: torch's)")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real corpora not found at {DATA} (set MMEMO_SHARED_DATA)")
    if args.what == "throughput":
        throughput(args.files, args.workers)
    elif args.what == "memory":
        memory(args.sizes)
    else:
        transcripts(args.rows, args.threads)


if __name__ == "__main__":
    main()
