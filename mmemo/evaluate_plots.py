"""Plots of an evaluation: confusion matrix, per-class recall, reliability diagram (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plots(result: Any, confidence: list[float], correct: list[bool], out: Path) -> list[Path]:
    """Write ``confusion_matrix.png``, ``per_class_recall.png`` and ``calibration.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    cm = result.metrics["confusion_matrix"]
    labels, matrix = cm["labels"], np.asarray(cm["matrix"], dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    norm = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)  # fmt: skip
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion (row-normalised), accuracy {result.metrics['accuracy']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    paths.append(out / "confusion_matrix.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    recall = result.metrics["per_class_recall"]
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(recall) + 2), 3.2))
    ax.bar(list(recall), list(recall.values()), color="tab:blue")
    ax.axhline(
        result.metrics["uar"], color="tab:red", ls="--", label=f"UAR {result.metrics['uar']:.3f}"
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    ax.legend()
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    fig.tight_layout()
    paths.append(out / "per_class_recall.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    bins = np.linspace(0, 1, 11)
    conf = np.asarray(confidence)
    corr = np.asarray(correct, dtype=float)
    which = np.clip(np.digitize(conf, bins[1:-1]), 0, 9)
    acc = [corr[which == b].mean() if (which == b).any() else np.nan for b in range(10)]
    count = [(which == b).sum() for b in range(10)]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    centers = (bins[:-1] + bins[1:]) / 2
    ax.bar(centers, acc, width=0.09, color="tab:blue", label="accuracy")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    for c, a, n in zip(centers, acc, count, strict=True):
        if n:
            ax.text(c, (a if a == a else 0) + 0.02, str(n), ha="center", fontsize=7)
    ax.set_xlabel("confidence of the answer")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability, ECE {result.metrics['ece']:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    paths.append(out / "calibration.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
