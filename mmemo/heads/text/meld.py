"""MELD as the text head reads it: utterances, labels, and dialogue/speaker metadata."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.heads.report import log
from mmemo.heads.text.model import TEXT_LABELS


@dataclass(frozen=True)
class MeldRow:
    """Where one kept MELD utterance sits: dialogue id, utterance id, speaker name."""

    dialogue: int
    utterance: int
    speaker: str


def meld_meta(data: Path, split: str) -> list[MeldRow]:
    """Dialogue/utterance ids and speaker of the rows :func:`meld_rows` keeps, in its order."""
    path = data / "meld" / f"{split}_sent_emo.csv"
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            label = (row.get("Emotion") or "").strip().lower()
            if label not in TEXT_LABELS or not (row.get("Utterance") or "").strip():
                continue
            try:
                out.append(
                    MeldRow(
                        int(row["Dialogue_ID"]),
                        int(row["Utterance_ID"]),
                        (row.get("Speaker") or "").strip(),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path} line {line}: bad dialogue/utterance id ({exc})") from exc
    return out


def meld_rows(data: Path, split: str) -> tuple[list[str], np.ndarray]:
    """(utterances, label indices) of ``meld/<split>_sent_emo.csv``; bad rows are reported."""
    import csv

    path = data / "meld" / f"{split}_sent_emo.csv"
    texts, ys = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            label = (row.get("Emotion") or "").strip().lower()
            if label not in TEXT_LABELS or not (row.get("Utterance") or "").strip():
                log(f"skip {path} line {line}: empty utterance or unknown emotion {label!r}")
                continue
            texts.append(row["Utterance"].strip())
            ys.append(TEXT_LABELS.index(label))
    return texts, np.array(ys)


def meld_embeddings(data: Path, split: str, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Frozen MiniLM embeddings and labels of a MELD split, cached as npz (baselines)."""
    from mmemo.heads.text.model import embed_texts

    path = cache / f"meld_{split}_minilm.npz"
    texts, y = meld_rows(data, split)
    if path.is_file():
        z = np.load(path)
        if len(z["y"]) == len(y):
            log(f"MELD {split} embeddings from cache {path}")
            return z["X"], z["y"]
    log(f"embedding {len(texts)} MELD {split} utterances with MiniLM")
    X = embed_texts(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, y=y)
    return X, y


def meld_lower_states(
    data: Path, split: str, cache: Path, upto: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(token states, lengths, labels)`` of a MELD split after the first ``upto`` frozen
    MiniLM blocks (:func:`mmemo.heads.text.encoder.lower_states`), cached as npz."""
    from mmemo.heads.text.encoder import load_base, lower_states

    path = cache / f"meld_{split}_minilm_L{upto}.npz"
    texts, y = meld_rows(data, split)
    if path.is_file():
        z = np.load(path)
        if len(z["y"]) == len(y):
            log(f"MELD {split} block-{upto} states from cache {path}")
            return z["states"], z["lengths"], z["y"]
    log(f"MiniLM blocks 1-{upto} on {len(texts)} MELD {split} utterances")
    states, lengths = lower_states(*load_base(), texts, upto)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, states=states, lengths=lengths, y=y)
    return states, lengths, y
