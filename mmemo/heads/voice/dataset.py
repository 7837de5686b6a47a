"""The voice corpora as one feature matrix: openSMILE functionals of every clip, cached."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mmemo.heads.report import log
from mmemo.heads.voice.corpora import CORPORA, corpus_clips
from mmemo.heads.voice.features import FEATURE_SETS, speech_features
from mmemo.heads.voice.learn import VoiceData


def _clip_features(path: str, trim: bool, augmentation: str | None = None) -> np.ndarray | str:
    from mmemo.media import MediaError, read_audio

    try:
        audio = read_audio(path, sample_rate=16000, mono=True)
        samples = audio.samples
        if augmentation is not None:
            from mmemo.heads.voice.augment import augment, clip_seed

            samples = augment(samples, augmentation, clip_seed(augmentation, path))
        return speech_features(samples, audio.sample_rate, FEATURE_SETS, trim=trim)
    except (MediaError, ValueError) as exc:
        return f"{path}: {exc}"


def _features(paths: list[str], trim: bool, augmentation: str | None, workers: int) -> list:
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    t0 = time.time()
    what = f"augmented copies {augmentation!r}" if augmentation else "clips"
    log(f"voice features of {len(paths)} {what} (trim={trim}) with {workers} processes")
    with ProcessPoolExecutor(workers) as pool:
        job = partial(_clip_features, trim=trim, augmentation=augmentation)
        feats = list(pool.map(job, paths, chunksize=8))
    for f in feats:
        if isinstance(f, str):
            log(f"skip {f}")
    log(f"voice features done in {time.time() - t0:.0f} s")
    return feats


def _cache_name(trim: bool, augmentation: str | None = None) -> str:
    extra = f"_{augmentation}" if augmentation else ""
    return f"voice_{'trim' if trim else 'raw'}_{'-'.join(FEATURE_SETS)}{extra}.npz"


def _augmented(data: VoiceData, cache: Path, trim: bool, name: str, workers: int) -> np.ndarray:
    """Features of copy ``name`` of every clip of ``data``, row for row (NaN: no copy)."""
    path = cache / _cache_name(trim, name)
    if path.is_file():
        z = np.load(path)
        index = {p: i for i, p in enumerate(z["path"])}
        if all(p in index for p in data.path):
            log(f"voice {name!r} copies from cache {path}")
            return z["X"][[index[p] for p in data.path]]
    feats = _features([str(p) for p in data.path], trim, name, workers)
    out = np.full_like(data.X, np.nan)
    for i, f in enumerate(feats):
        if not isinstance(f, str):
            out[i] = f
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=out, path=data.path)
    return out


def corpus_features(
    data: Path,
    cache: Path,
    trim: bool = True,
    workers: int = 2,
    augment: tuple[str, ...] = (),
) -> VoiceData:
    """openSMILE features of every clip of the three corpora (cached as npz under ``cache``),
    with the features of their perturbed copies ``augment`` (each cached on its own).

    A clip that cannot be read is reported and left out; the rest go on.
    """
    # absolute paths: the cache holds them, and ../data and /abs/data are the same clips
    clips = corpus_clips(Path(data).resolve(), CORPORA)
    path = cache / _cache_name(trim)
    out = None
    if path.is_file():
        z = np.load(path)
        if set(z["path"]) >= {str(c.path) for c in clips}:
            log(f"voice features from cache {path}")
            out = VoiceData(z["X"], z["label"], z["speaker"], z["corpus"], z["gender"], z["path"])
    if out is None:
        feats = _features([str(c.path) for c in clips], trim, None, workers)
        keep = [i for i, f in enumerate(feats) if not isinstance(f, str)]
        out = VoiceData(
            np.stack([feats[i] for i in keep]),
            np.array([clips[i].label for i in keep]),
            np.array([clips[i].speaker for i in keep]),
            np.array([clips[i].corpus for i in keep]),
            np.array([clips[i].gender for i in keep]),
            np.array([str(clips[i].path) for i in keep]),
        )
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=out.X, label=out.label, speaker=out.speaker, corpus=out.corpus,
                 gender=out.gender, path=out.path)  # fmt: skip
    out.augmented = {name: _augmented(out, cache, trim, name, workers) for name in augment}
    return out
