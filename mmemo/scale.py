"""Batch prediction on a Ray cluster (Ray Data), writing the same records as the local path.

    pip install 'mmemo[ray]'
    mmemo predict manifest.jsonl --engine ray --out preds.jsonl

or from Python::

    from mmemo.scale import predict_with_ray
    predict_with_ray("default", ["clips/"], out="preds.jsonl")

Pass one (measuring cues and features, the expensive part) runs in Ray Data: one row per
measuring task of :mod:`mmemo.batch` (one media file, or up to 1,024 transcripts), through
``Dataset.map_batches`` with a callable class, so each Ray actor builds one predictor (from
the same model spec as the local workers) and reuses it. Rows come back in order
(``preserve_order``); pass two (speaker normalisation, fusion) and the writing of records run
in the driver, as in :func:`mmemo.batch.stream`, so resume, run identity and record format
are the same as ``--engine local``.

Pointing it at a cluster: ``ray.init()`` is called with no address when Ray is not yet
initialised, so it joins the cluster named by the ``RAY_ADDRESS`` environment variable (e.g.
``RAY_ADDRESS=ray://head:10001`` or ``auto`` on a cluster node) and starts a local one
otherwise; or call ``ray.init(...)`` yourself first. Every node needs mmemo, the model folder
at the same path (or ``default``) and the media at the same paths (a shared file system).
``concurrency`` sets how many predictor actors run (default: the cluster's CPU count).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any


class RayUnavailable(RuntimeError):
    """Ray Data is not installed (the ``ray`` extra)."""


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayUnavailable(
            "--engine ray needs Ray Data: pip install 'mmemo[ray]' (ray[data])"
        ) from exc
    return ray


class _MeasureActor:
    """A Ray Data callable class: one predictor per actor, pass one for each row's items."""

    def __init__(self, recipe: tuple[str, Any]) -> None:
        from mmemo import batch

        batch._init_worker(recipe)

    def __call__(self, rows: dict[str, Any]) -> dict[str, Any]:
        from mmemo import batch

        measured = [
            pickle.dumps(batch._measure_task(pickle.loads(payload))) for payload in rows["items"]
        ]
        return {"task": rows["task"], "measured": measured}


def ray_measurer(concurrency: int | None = None):
    """A ``measurer`` for :func:`mmemo.batch.stream` that runs pass one in Ray Data."""
    ray = _ray()

    def measure(predictor: Any, items: list[Any], todo: list) -> Iterator:
        from mmemo.batch import _worker_recipe

        if not todo:
            return
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        rows = [
            {"task": t, "items": pickle.dumps([items[i] for i in task])}
            for t, (_, task) in enumerate(todo)
        ]
        actors = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
        ds = ray.data.from_items(rows).map_batches(
            _MeasureActor,
            fn_constructor_args=(_worker_recipe(predictor),),
            batch_size=1,
            concurrency=min(actors, len(rows)),
            num_cpus=1,
        )
        for row in ds.iter_rows():
            bi, task = todo[int(row["task"])]
            yield bi, task, pickle.loads(row["measured"])

    return measure


def ray_stream(
    predictor: Any,
    items: list[Any],
    *,
    skip: Iterable[str] = (),
    progress: bool = True,
    concurrency: int | None = None,
) -> Iterator[tuple[Any, Any]]:
    """:func:`mmemo.batch.stream` with pass one on Ray: same blocks, order and results."""
    from mmemo.batch import stream

    measurer = ray_measurer(concurrency)
    yield from stream(predictor, items, skip=skip, progress=progress, measurer=measurer)


def predict_with_ray(
    model: str = "default",
    inputs: Iterable[str] = (),
    out: str | None = None,
    *,
    speaker_from: str | None = None,
    concurrency: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Predict files/folders/manifests on Ray; the records (also appended to ``out`` .jsonl,
    resuming from it) are those ``mmemo predict --out`` writes. Failures come back as
    ``{"id", "error"}`` records (not written to ``out``, so a resumed run tries them again)."""
    import json

    from mmemo.batch import read_done, record, run_identity
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import Predictor

    items, errors = expand_inputs(list(inputs), speaker_from)
    predictor = Predictor.from_pretrained(model)
    run = run_identity(predictor, labels=None, transcript=None, speaker_from=speaker_from)
    done = read_done(out, run) if out else {}
    results = [{"id": spec, "error": reason} for spec, reason in errors]
    fh = open(out, "a", encoding="utf-8") if out else None  # noqa: SIM115
    try:
        for item, res in ray_stream(
            predictor, items, skip=set(done), progress=progress, concurrency=concurrency
        ):
            if isinstance(res, str):
                results.append({"id": item.id, "error": res})
                continue
            rec = record(res, run)
            results.append(rec)
            if fh is not None:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
    finally:
        if fh is not None:
            fh.close()
    return results
