"""``mmemo metrics ew --reference-tables`` against the reference EW algorithm, 100k samples.

    python benchmarks/bench_ew_reference.py [--samples 100000] [--level level1]

Tables: MER/AffectGPT layout (format.csv, synonym.xlsx with 8 runs, wheel1..5.xlsx) at the
reference sizes of docs/metrics.md 8 (wheel L1/L2/L3 6/36/72, 7/41/79, 6/36/36, 6/48/48,
6/36/36), with made-up words (the real tables are never shipped); about 1,200 synonym words
and 3 variants per base word in format.csv. GT/prediction CSVs: 1-4 / 1-6 words per sample,
15 % of them out of the vocabulary.

Timed, in this run, on the same files:
- reference: the reference algorithm (docs/metrics.md 1.3), written out here in the structure
  of the reference driver (MERTools ``wheel_metric_calculation``): the tables are first built
  into one pickled mapping file (timed apart, like the reference's table-building step);
  then for each of the 5 wheels the mapping file and both CSVs are loaded again (pandas),
  and every sample is parsed and each word mapped by concatenating and sorting its
  candidates. The MERTools code itself is not vendored; this is a re-implementation.
- reference, files loaded once: the same algorithm without the per-wheel reloading.
- mmemo cold: a fresh ``mmemo metrics ew`` process, started as the ``mmemo`` executable starts
  it (``mmemo.cli.console``): interpreter, imports, CSVs, tables read and compiled to the
  array cache, metric, exit; start-up included.
- mmemo warm: the same command again, the cache beside the tables now present (median of
  ``--repeats`` runs), alternated with the same command with the numpy byte reader switched
  off (the Arrow reader it replaced, which is still the fallback).
- pure Python: ``load_wheels`` + ``ew_score`` in this process (tables read with
  openpyxl, per-sample Python metric), without interpreter start-up.
The four scores must agree; ratios are reference time / each time. CPU seconds (the
reference's in this process, each mmemo process's from its rusage) are printed too: on a
shared machine wall time is mostly waiting for a core.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = [(6, 36, 72), (7, 41, 79), (6, 36, 36), (6, 48, 48), (6, 36, 36)]


def make_tables(d: Path, rng: random.Random) -> tuple[Path, list[str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/
    from tests.taxonomy.ref_tables import write_tables

    pool = [f"emo{i}" for i in range(253)]
    wheels = []
    for l1n, l2n, l3n in SIZES:
        words = rng.sample(pool, l1n + l2n + l3n) if l1n + l2n + l3n <= 253 else pool
        l1s, l2s, l3s = words[:l1n], words[l1n : l1n + l2n], words[l1n + l2n :]
        tree = {a: {} for a in l1s}
        for i, b in enumerate(l2s):
            tree[l1s[i % l1n]][b] = []
        seconds = [(a, b) for a in tree for b in tree[a]]
        for i, c in enumerate(l3s):
            a, b = seconds[i % len(seconds)]
            tree[a][b].append(c)
        for a in tree:
            for b in tree[a]:
                if not tree[a][b]:
                    tree[a][b].append(b)
        wheels.append(tree)
    on_wheel = sorted({w for t in wheels for a, ch in t.items() for b, lv in ch.items()
                       for w in [a, b, *lv]})  # fmt: skip
    syn_pool = [f"syn{i}" for i in range(1200)]
    synonyms = {w: [rng.sample(syn_pool, 3) for _ in range(8)] for w in on_wheel}
    bases = sorted(set(on_wheel) | set(syn_pool))
    formats = {b: [f"{b}{s}" for s in ("ed", "ing", "ly")] for b in bases}
    vocab = bases + [v for vs in formats.values() for v in vs]
    return write_tables(d, wheels, formats, synonyms), vocab


def write_csvs(d: Path, vocab: list[str], n: int, rng: random.Random) -> tuple[Path, Path]:
    def words(lo: int, hi: int) -> str:
        ws = [rng.choice(vocab) if rng.random() > 0.15 else f"oov{rng.randint(0, 999)}"
              for _ in range(rng.randint(lo, hi))]  # fmt: skip
        return "[" + ", ".join(f"'{w}'" for w in ws) + "]"

    paths = []
    for name, lo, hi in (("gt.csv", 1, 4), ("pred.csv", 1, 6)):
        path = d / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "openset"])
            for i in range(n):
                w.writerow([f"s{i:06d}", words(lo, hi)])
        paths.append(path)
    return paths[0], paths[1]


# ------------------------------------------------------------------ the reference algorithm
def _parse(s: str) -> list[str]:  # metrics.md 1.1 list parsing
    s = s.strip()
    s = s[1:] if s.startswith("[") else s
    s = s[:-1] if s.endswith("]") else s
    return [
        x.strip().lower() for x in s.replace('"', ",").replace("'", ",").split(",") if x.strip()
    ]


def build_reference_mapping(tables: Path, out: Path) -> Path:
    """The reference's table-building step: xlsx/csv -> one pickled mapping file (npz)."""
    import numpy as np
    import pandas as pd

    fmt = pd.read_csv(tables / "format.csv")
    format_mapping: dict[str, list[str]] = {}
    for base, variants in zip(fmt["name"], fmt["format"].fillna(""), strict=True):
        format_mapping.setdefault(base, []).append(base)
        for v in str(variants).split(","):
            if v.strip():
                format_mapping.setdefault(v.strip(), []).append(base)
    syn = pd.read_excel(tables / "synonym.xlsx")
    raw_mapping: dict[str, list[str]] = {}
    runs = sorted({c.split("_run")[1] for c in syn.columns if "_run" in c})
    for _, row in syn.iterrows():
        for r in runs:
            word = str(row[f"word_run{r}"]).strip().lower()
            raw_mapping.setdefault(word, [])
            if word not in raw_mapping[word]:
                raw_mapping[word].append(word)
            for s in _parse(str(row[f"synonym_run{r}"])):
                raw_mapping.setdefault(s, [])
                if word not in raw_mapping[s]:
                    raw_mapping[s].append(word)
    whole = {}
    for k in range(1, 6):
        wheel = pd.read_excel(tables / f"wheel{k}.xlsx").ffill()
        maps = {"level1": {}, "level2": {}}
        children: dict[str, list[str]] = {}
        for a, b, c in zip(wheel["level1"], wheel["level2"], wheel["level3"], strict=True):
            a, b, c = (str(x).strip().lower() for x in (a, b, c))
            children.setdefault(a, []).append(b)
            maps["level1"][a] = maps["level1"][b] = maps["level1"][c] = a
            maps["level2"][b] = maps["level2"][c] = b
        for a, bs in children.items():
            maps["level2"][a] = sorted(bs)[0]
        whole[f"wheel{k}"] = maps
    np.savez(out, format_mapping=format_mapping, raw_mapping=raw_mapping, wheel_map_whole=whole)
    return out


def reference(
    mapping: Path, gt_csv: Path, pred_csv: Path, level: str
) -> tuple[float, float, float]:
    """One evaluation as the reference driver structures it: for each of the 5 wheels, the
    mapping file and both CSVs are loaded again, then every sample is parsed and mapped."""
    import numpy as np
    import pandas as pd

    def backward(label: str, format_mapping, raw_mapping, wheel_map) -> str:
        if label not in format_mapping:
            return ""
        whole = [raw for f in format_mapping[label] for raw in raw_mapping.get(f, [])]
        for cand in sorted(whole):
            if cand in wheel_map:
                return wheel_map[cand]
        return ""

    scores = []
    for k in range(1, 6):
        z = np.load(mapping, allow_pickle=True)
        format_mapping = z["format_mapping"].tolist()
        raw_mapping = z["raw_mapping"].tolist()
        wheel_map = z["wheel_map_whole"].tolist()[f"wheel{k}"][level]
        gt_df, pred_df = pd.read_csv(gt_csv), pd.read_csv(pred_csv)
        name2gt = dict(zip(gt_df["name"], gt_df["openset"], strict=True))
        name2pred = dict(zip(pred_df["name"], pred_df["openset"], strict=True))
        acc, rec = [], []
        for name in name2gt:
            g = {backward(w, format_mapping, raw_mapping, wheel_map)
                 for w in _parse(name2gt[name])} - {""}  # fmt: skip
            p = {backward(w, format_mapping, raw_mapping, wheel_map)
                 for w in _parse(name2pred[name])} - {""}  # fmt: skip
            if not g:
                continue
            if not p:
                acc.append(0)
                rec.append(0)
            else:
                acc.append(len(g & p) / len(p))
                rec.append(len(g & p) / len(g))
        P = float(np.mean(acc)) if acc else 0.0
        R = float(np.mean(rec)) if rec else 0.0
        scores.append([2 * P * R / (P + R) if P + R else 0.0, P, R])
    return tuple(float(x) for x in np.mean(scores, axis=0))


def reference_loaded_once(mapping: Path, gt_csv: Path, pred_csv: Path, level: str):
    """The same algorithm with the mapping and CSVs loaded once (a kinder baseline)."""
    import numpy as np
    import pandas as pd

    z = np.load(mapping, allow_pickle=True)
    fm, rm = z["format_mapping"].tolist(), z["raw_mapping"].tolist()
    whole = z["wheel_map_whole"].tolist()
    gt_df, pred_df = pd.read_csv(gt_csv), pd.read_csv(pred_csv)
    name2gt = dict(zip(gt_df["name"], gt_df["openset"], strict=True))
    name2pred = dict(zip(pred_df["name"], pred_df["openset"], strict=True))
    scores = []
    for k in range(1, 6):
        wm = whole[f"wheel{k}"][level]

        def back(label: str, wm=wm) -> str:
            if label not in fm:
                return ""
            for cand in sorted(raw for f in fm[label] for raw in rm.get(f, [])):
                if cand in wm:
                    return wm[cand]
            return ""

        acc, rec = [], []
        for name, gts in name2gt.items():
            g = {back(w) for w in _parse(gts)} - {""}
            p = {back(w) for w in _parse(name2pred[name])} - {""}
            if not g:
                continue
            hit = len(g & p)
            acc.append(hit / len(p) if p else 0)
            rec.append(hit / len(g) if p else 0)
        P, R = float(np.mean(acc)), float(np.mean(rec))
        scores.append([2 * P * R / (P + R) if P + R else 0.0, P, R])
    return tuple(float(x) for x in np.mean(scores, axis=0))


# ------------------------------------------------------------------ timing
def _child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


_CONSOLE = "from mmemo.cli import console; console()"  # what the `mmemo` executable runs
_PREVIOUS = (  # the Arrow reader that ran before the numpy byte reader (still the fallback)
    "import mmemo.commands.metrics as m; m._run_ew_bytes = lambda args: None; " + _CONSOLE
)


def mmemo_cli(
    gt: Path, pred: Path, tables: Path, level: str, previous: bool = False
) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, result) of one fresh ``mmemo metrics ew`` process;
    ``previous``: with the byte reader switched off (the Arrow path it replaced)."""
    code = _PREVIOUS if previous else _CONSOLE
    cmd = [sys.executable, "-c", code, "metrics", "ew", str(gt), str(pred),
           "--reference-tables", str(tables), "--level", level, "--json"]  # fmt: skip
    c0, t0 = _child_cpu(), time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, _child_cpu() - c0, json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--level", default="level1", choices=("level1", "level2"))
    ap.add_argument("--repeats", type=int, default=5, help="warm mmemo runs (median reported)")
    args = ap.parse_args()
    rng = random.Random(0)
    work = Path(tempfile.mkdtemp(prefix="mmemo_ew_bench_"))
    tables, vocab = make_tables(work / "tables", rng)
    gt, pred = write_csvs(work, vocab, args.samples, rng)
    print(f"{args.samples} samples, {len(vocab)} vocabulary words, level {args.level}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set, so every mmemo run compiles its modules "
              "again (about 15 ms here); an installed mmemo caches them")  # fmt: skip

    t0 = time.perf_counter()
    mapping = build_reference_mapping(tables, work / "wheel_mapping.npz")
    t_build = time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    ref = reference(mapping, gt, pred, args.level)
    t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    once = reference_loaded_once(mapping, gt, pred, args.level)
    t_once = time.perf_counter() - t0

    t_cold, c_cold, cold = mmemo_cli(gt, pred, tables, args.level)
    warm_runs, prev_runs = [], []
    for _ in range(args.repeats):  # alternated, so both see the same load
        warm_runs.append(mmemo_cli(gt, pred, tables, args.level))
        prev_runs.append(mmemo_cli(gt, pred, tables, args.level, previous=True))
    t_warm = statistics.median(r[0] for r in warm_runs)
    c_warm = statistics.median(r[1] for r in warm_runs)
    t_prev = statistics.median(r[0] for r in prev_runs)
    c_prev = statistics.median(r[1] for r in prev_runs)
    warm = warm_runs[0][2]
    c0 = _child_cpu()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    c_numpy = _child_cpu() - c0

    from mmemo.commands.metrics import _read
    from mmemo.metrics import ew_score
    from mmemo.taxonomy import load_wheels, split_labels

    t0 = time.perf_counter()
    g, p = _read(gt, "openset"), _read(pred, "openset")
    ws = load_wheels(tables)
    old = ew_score([split_labels(g[n], answer_tags=False) for n in g],
                   [split_labels(p[n], answer_tags=False) for n in g], wheels=ws,
                   level=args.level)  # fmt: skip
    t_old = time.perf_counter() - t0

    assert max(abs(a - b) for a, b in zip(ref, once, strict=True)) < 1e-12
    for res in (cold, warm, prev_runs[0][2], old):
        assert abs(res["fs"] - ref[0]) < 1e-9 and abs(res["ps"] - ref[1]) < 1e-9, (res, ref)
    print(f"scores agree: Fs {ref[0]:.6f}  Ps {ref[1]:.6f}  Rs {ref[2]:.6f}")
    print(f"reference table build (xlsx -> pickled npz, once per table set): {t_build:.2f} s")
    print(f"{'run':<52}{'seconds':>9}{'ref / run':>11}")
    rows = [
        ("reference: driver structure (reloads per wheel)", t_ref),
        ("reference algorithm, files loaded once", t_once),
        ("mmemo metrics ew, cold (reads xlsx, builds cache)", t_cold),
        (f"mmemo metrics ew, warm (array cache), median of {args.repeats}", t_warm),
        ("  the same, previous Arrow reader (alternated runs)", t_prev),
        ("pure Python in this process: load_wheels + ew_score", t_old),
    ]
    for name, t in rows:
        print(f"{name:<52}{t:>9.2f}{t_ref / t:>10.1f}x")
    print(f"warm runs: {', '.join(f'{r[0]:.2f}' for r in warm_runs)} s; previous reader: "
          f"{', '.join(f'{r[0]:.2f}' for r in prev_runs)} s")  # fmt: skip
    print(f"warm mmemo against the loaded-once reference: {t_once / t_warm:.1f}x")
    print(
        f"CPU seconds (not slowed by waiting for a core): reference {c_ref:.2f}, mmemo cold "
        f"{c_cold:.2f}, warm {c_warm:.3f} (of which a bare 'import numpy' process "
        f"{c_numpy:.3f}), previous reader {c_prev:.3f} -> reference / warm "
        f"{c_ref / c_warm:.1f}x, reference / previous {c_ref / c_prev:.1f}x"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
