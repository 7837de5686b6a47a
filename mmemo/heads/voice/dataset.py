"""The voice corpora as one feature matrix: openSMILE functionals of every clip, cached."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mmemo.heads.report import log
from mmemo.heads.voice.corpora import CORPORA, corpus_clips
from mmemo.heads.voice.features import FEATURE_SETS, speech_features
from mmemo.heads.voice.learn import VoiceData


def _clip_features(path: str, trim: bool) -> np.ndarray | str:
    from mmemo.media import MediaError, read_audio

    try:
        audio = read_audio(path, sample_rate=16000, mono=True)
        return speech_features(audio.samples, audio.sample_rate, FEATURE_SETS, trim=trim)
    except (MediaError, ValueError) as exc:
        return f"{path}: {exc}"


def corpus_features(data: Path, cache: Path, trim: bool = True, workers: int = 2) -> VoiceData:
    """openSMILE features of every clip of the three corpora (cached as npz under ``cache``).

    A clip that cannot be read is reported and left out; the rest go on.
    """
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    clips = corpus_clips(data, CORPORA)
    path = cache / f"voice_{'trim' if trim else 'raw'}_{'-'.join(FEATURE_SETS)}.npz"
    if path.is_file():
        z = np.load(path)
        if set(z["path"]) >= {str(c.path) for c in clips}:
            log(f"voice features from cache {path}")
            return VoiceData(z["X"], z["label"], z["speaker"], z["corpus"], z["gender"], z["path"])
    t0 = time.time()
    log(f"voice features of {len(clips)} clips (trim={trim}) with {workers} processes")
    with ProcessPoolExecutor(workers) as pool:
        feats = list(pool.map(partial(_clip_features, trim=trim), [str(c.path) for c in clips]))
    keep = [i for i, f in enumerate(feats) if not isinstance(f, str)]
    for f in feats:
        if isinstance(f, str):
            log(f"skip {f}")
    log(f"voice features done in {time.time() - t0:.0f} s")
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
    return out
