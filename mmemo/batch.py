"""Batch prediction at corpus scale: streamed, resumable, on several cores.

Used by ``mmemo predict``, ``mmemo eval`` and :mod:`mmemo.scale` (Ray). One model, many inputs.

**Streaming, two passes.** The inputs are cut into *blocks* of whole speakers
(:func:`plan`): every clip of one speaker is in one block (its voice features are normalised
together), an item without a speaker is a block of its own, and runs of transcript-only
items without a speaker share a block of up to :data:`TEXT_BLOCK` (one batched pass of the
text head). A block is measured (pass one, :meth:`Predictor.measure`), then predicted
(pass two, :meth:`Predictor.finish`) and its results are yielded at once; nothing else is
kept, so memory is flat in the number of inputs (it grows with the largest speaker only).
Blocks come out in the order of their first item: a manifest sorted by speaker keeps its
order; an unsorted one comes out grouped by speaker.

**Resume.** Records written to ``--out`` carry a ``run`` field: the model name, a
fingerprint of its files (:func:`fingerprint`) and the settings that change the answer. A
later run into the same file reads them back (:func:`read_done`), refuses records of another
model or other settings (:class:`ResumeError`), and skips every block whose items are all
recorded. A block cut by the interruption is run again whole, and only its missing items are
written, so a resumed run gives the same records as an uninterrupted one, speaker
normalisation included. A line cut in the middle by a kill is removed.

**Workers.** ``workers > 1`` measures in a process pool, one predictor per worker built from
the same model (``Predictor.spec``), one thread each (torch, OpenMP, BLAS); results keep their
order (a bounded window of tasks in flight). Pass two runs in the calling process, which also
measures the first inputs itself until a worker is up. There are never more workers than
cores (:func:`usable_cores`). Where the
platform has it the pool uses a *fork server* that has imported torch, the heads and the cue
extractors once (:data:`WORKER_PRELOAD`, about 2 s of CPU): each worker forks from that clean,
single-threaded process instead of importing everything again as a ``spawn`` worker must, so
adding workers costs a model load each, not an interpreter's start-up. The calling process is
never forked (its threads and native libraries may be in any state); elsewhere: ``spawn``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# transcript-only items measured together: one text-head call; the encoder sorts them by
# token count into batches of about 1,024 tokens, and the more texts it sorts the less each
# batch pads (MELD: 6 % padding at 1,024 texts, 24 % at 256)
TEXT_BLOCK = 1024
RUN_KEY = "run"
# imported once by the fork server that workers start from (missing ones are skipped); the
# rest of what a worker uses (MediaPipe for faces) it imports at first use
WORKER_PRELOAD = ("torch", "mmemo.predict", "mmemo.heads.face.model", "mmemo.heads.text.model",
                  "mmemo.heads.voice.model", "mmemo.encoders.pipeline", "mmemo.encoders.prosody",
                  "mmemo.heads.face.crop", "mmemo.media", "soundfile", "opensmile")  # fmt: skip
# one thread per worker process: the pool is the parallelism (read when the libraries load)
WORKER_THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                      "OPENBLAS_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}  # fmt: skip
_WEIGHT_SUFFIXES = {".json", ".safetensors", ".bin", ".pt", ".model", ".txt", ".yaml", ".npz"}


class ResumeError(ValueError):
    """An output file holds records that another model or other settings made."""


# ---------------------------------------------------------------------------- identity
def fingerprint(predictor: Any) -> str:
    """A short hash of the model behind ``predictor``: its files' bytes where it has a folder.

    Files above 64 MiB (backbone weights) are hashed by name, size and their first and last
    MiB, so the check stays fast; a copy of a folder has the fingerprint of the original.
    """
    h = hashlib.sha256()
    src = getattr(predictor, "source", None)
    if isinstance(src, Path) and src.is_dir():
        for f in sorted(src.rglob("*")):
            if not f.is_file() or f.suffix not in _WEIGHT_SUFFIXES:
                continue
            size = f.stat().st_size
            h.update(f"{f.relative_to(src).as_posix()}:{size}\n".encode())
            with f.open("rb") as fh:
                if size <= 64 << 20:
                    h.update(fh.read())
                else:
                    h.update(fh.read(1 << 20))
                    fh.seek(-(1 << 20), os.SEEK_END)
                    h.update(fh.read())
    else:  # a hub id, or a predictor assembled by hand: what its heads say about themselves
        h.update(str(src if src is not None else getattr(predictor, "name", "")).encode())
        for key in ("voice", "face", "text"):
            head = getattr(predictor, key, None)
            if head is not None:
                config = getattr(head, "config", {})
                h.update(json.dumps(config, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def run_identity(predictor: Any, **settings: Any) -> dict[str, Any]:
    """What a record must match to be reused: model name, fingerprint, answer-changing settings."""
    settings = dict(
        settings,
        modalities=sorted(getattr(predictor, "modalities", ())),
        weights={k: round(v, 6) for k, v in sorted(getattr(predictor, "weights", {}).items())},
    )
    return {
        "model": str(getattr(predictor, "name", "")),
        "fingerprint": fingerprint(predictor),
        "settings": json.loads(json.dumps(settings, sort_keys=True, default=str)),
    }


def _differences(theirs: Any, ours: dict[str, Any]) -> str:
    if not isinstance(theirs, dict):
        return "it has no run identity (written by an older mmemo), so its model is unknown"
    if theirs.get("model") != ours["model"] or theirs.get("fingerprint") != ours["fingerprint"]:
        return (
            f"it was made by model {theirs.get('model')!r} (fingerprint "
            f"{theirs.get('fingerprint')}), this run uses {ours['model']!r} "
            f"(fingerprint {ours['fingerprint']})"
        )
    a, b = theirs.get("settings") or {}, ours["settings"]
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "its settings differ: " + "; ".join(
        f"{k} was {a.get(k)!r}, now {b.get(k)!r}" for k in keys
    )


def read_done(
    path: str | Path, run: dict[str, Any], keep: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Records of an earlier run in ``path`` by id; raises :class:`ResumeError` on a mismatch.

    ``keep``: the fields to keep of each record (all when None; ``()`` keeps ids only, for
    large outputs). A last line without its newline (cut by a kill) is removed from the file,
    and so are records of failed inputs (``"status": "error"``), which a resumed run retries.
    """
    keep = None if keep is None else tuple(keep)
    path = Path(path)
    if not path.is_file():
        return {}
    _drop_cut_line(path)
    done: dict[str, dict[str, Any]] = {}
    failed_lines: list[int] = []
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise ResumeError(f"{path} line {n}: not a JSON record ({exc})") from exc
            if not isinstance(rec, dict) or "id" not in rec:
                raise ResumeError(f"{path} line {n}: not a prediction record (no 'id')")
            if rec.get(RUN_KEY) != run:
                why = _differences(rec.get(RUN_KEY), run)
                raise ResumeError(
                    f"{path} line {n}: cannot resume from this file: {why}. Write to another "
                    "--out, or delete the file to start again."
                )
            if rec.get("status", "ok") != "ok":
                failed_lines.append(n)
                continue
            done[str(rec["id"])] = rec if keep is None else {k: rec[k] for k in keep if k in rec}
    if failed_lines:
        _drop_lines(path, set(failed_lines))
    return done


def _drop_lines(path: Path, numbers: set[int]) -> None:
    """Rewrite ``path`` without the given 1-based line numbers (atomically)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with path.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src, start=1):
            if n not in numbers:
                dst.write(line)
    tmp.replace(path)


def _drop_cut_line(path: Path) -> None:
    """Remove a last line that has no newline: the record a kill cut in the middle."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        back = 1 << 16
        while True:
            fh.seek(max(0, size - back))
            tail = fh.read()
            if not tail or tail.endswith(b"\n"):
                return
            end = tail.rfind(b"\n")
            if end >= 0 or back >= size:
                break
            back *= 4
    with path.open("r+b") as fh:
        fh.truncate(size - len(tail) + end + 1)  # end = -1: the file is one cut line


# ---------------------------------------------------------------------------- planning
def plan(items: list[Any]) -> list[list[int]]:
    """Blocks of item indices (see the module doc), in the order of their first item."""
    groups: dict[Any, list[int]] = {}
    for i, it in enumerate(items):
        key = ("speaker", it.speaker) if it.speaker is not None else ("item", i)
        groups.setdefault(key, []).append(i)
    blocks: list[list[int]] = []
    text: list[int] = []
    for key, idx in groups.items():
        if key[0] == "item" and not items[idx[0]].path:
            text.extend(idx)
            if len(text) >= TEXT_BLOCK:
                blocks.append(text)
                text = []
            continue
        if text:
            blocks.append(text)
            text = []
        blocks.append(idx)
    if text:
        blocks.append(text)
    return blocks


def _tasks(block: list[int], items: list[Any]) -> list[list[int]]:
    """A block split into measuring tasks: one media item each, transcripts together."""
    tasks, text = [], []
    for i in block:
        if items[i].path:
            tasks.append([i])
        else:
            text.append(i)
    for k in range(0, len(text), TEXT_BLOCK):
        tasks.append(text[k : k + TEXT_BLOCK])
    return tasks


# ---------------------------------------------------------------------------- streaming
def stream(
    predictor: Any,
    items: list[Any],
    *,
    skip: Iterable[str] = (),
    workers: int = 1,
    progress: bool = True,
    measurer: Any = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(item, Prediction | reason it failed)`` block by block (see the module doc).

    ``skip``: ids already recorded; a block whose ids are all in it is not run, and the
    recorded items of a block that is run are not yielded again. ``measurer``: who runs pass
    one, ``measurer(predictor, items, todo)`` yielding ``(block, task, measured)`` in order
    (default: this process, or a process pool when ``workers > 1``; :mod:`mmemo.scale` gives
    a Ray Data one).
    """
    from tqdm.auto import tqdm

    skip = set(skip)
    blocks = [b for b in plan(items) if not all(items[i].id in skip for i in b)]
    todo = [(bi, t) for bi, b in enumerate(blocks) for t in _tasks(b, items)]
    bar = tqdm(total=sum(len(b) for b in blocks), desc="predicting", unit="file",
               disable=not progress)  # fmt: skip
    measured: dict[int, Any] = {}
    left = {bi: len(_tasks(b, items)) for bi, b in enumerate(blocks)}
    try:
        measured_tasks = (
            measurer(predictor, items, todo)
            if measurer is not None
            else _measured(predictor, items, todo, workers)
        )
        for bi, task, result in measured_tasks:
            for i, m in zip(task, result, strict=True):
                measured[i] = m
            bar.update(len(task))
            left[bi] -= 1
            if left[bi]:
                continue
            group = [measured.pop(i) for i in blocks[bi]]
            for item, out in predictor.finish(group):
                if item.id not in skip:
                    yield item, out
    finally:
        bar.close()


def _measured(
    predictor: Any, items: list[Any], todo: list, workers: int, *, help_while_starting: bool = True
) -> Iterator:
    """``(block index, task, measured items)`` for every task, in order.

    With workers, this process measures the first tasks itself while the pool starts (the
    fork server's imports, then a model per worker: seconds, more on a busy machine) and hands
    the rest to the pool once a worker has answered, so start-up costs no throughput.
    ``help_while_starting=False``: every task goes to the pool (tests)."""
    workers = min(workers, usable_cores())
    if workers <= 1:
        for bi, task in todo:
            yield bi, task, predictor.measure([items[i] for i in task])
        return
    import threading
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    queue = deque(todo)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_pool_context(),
        initializer=_init_worker,
        initargs=(_worker_recipe(predictor),),
    ) as pool:
        up = threading.Event()  # set when a worker has its model and has answered
        started: list = []

        def start() -> None:  # submit blocks while the fork server imports: not here
            try:
                started.extend(pool.submit(_ready) for _ in range(workers))
                started[0].add_done_callback(lambda _: up.set())
            except BaseException:
                up.set()  # a broken pool: the submissions below raise its error
                raise

        starter = threading.Thread(target=start, name="mmemo-pool-start", daemon=True)
        starter.start()
        while help_while_starting and queue and not up.is_set():
            bi, task = queue.popleft()
            yield bi, task, predictor.measure([items[i] for i in task])
        starter.join()
        window: deque = deque()
        while queue or window:
            while queue and len(window) < 2 * workers:
                bi, task = queue.popleft()
                window.append((bi, task, pool.submit(_measure_task, [items[i] for i in task])))
            bi, task, fut = window.popleft()
            yield bi, task, fut.result()


# ---------------------------------------------------------------------------- workers
_WORKER: Any = None


def usable_cores() -> int:
    """CPU cores this process may run on: more measuring processes than cores only add
    start-up, memory and contention (4 workers on 2 cores measured slower than 2), so the
    pool has at most this many."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _pool_context() -> Any:
    """The fork-server context, its server started with the worker imports done and one
    thread per library (see the module doc); ``spawn`` where there is no fork server."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(WORKER_PRELOAD))
    saved = {k: os.environ.get(k) for k in WORKER_THREADS_ENV}
    os.environ.update(WORKER_THREADS_ENV)  # the server reads them; this process already did
    try:
        forkserver.ensure_running()  # no-op when a server of an earlier batch is up
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ctx


def _worker_recipe(predictor: Any) -> tuple[str, Any]:
    """How a worker rebuilds the predictor: its class (pickled by name, so this module never
    imports :mod:`mmemo.predict`, which imports it) and model spec, or a pickled copy."""
    spec = getattr(predictor, "spec", None)
    if spec is not None:
        return "spec", (type(predictor), spec)
    import pickle

    try:
        return "pickle", pickle.dumps(predictor)
    except Exception as exc:
        raise ValueError(
            f"workers need a predictor made by Predictor.from_pretrained ({exc})"
        ) from exc


def _init_worker(recipe: tuple[str, Any]) -> None:
    """One predictor per worker process, one thread each (the pool is the parallelism)."""
    global _WORKER
    os.environ.update(WORKER_THREADS_ENV)  # (a spawn worker: before torch and numpy load)
    import torch

    torch.set_num_threads(1)
    kind, value = recipe
    if kind == "spec":
        cls, (model, modalities) = value
        _WORKER = cls.from_pretrained(model, modalities=modalities)
    else:
        import pickle

        _WORKER = pickle.loads(value)


def _measure_task(items: list[Any]) -> list[Any]:
    return _WORKER.measure(items)


def _ready() -> bool:
    """A worker's first task: it answers once its initializer has built the predictor."""
    return _WORKER is not None


# ---------------------------------------------------------------------------- output
def record(result: Any, run: dict[str, Any]) -> dict[str, Any]:
    """The JSON record of one prediction, with the run identity that resume checks."""
    return dict(result.to_dict(), **{RUN_KEY: run})
