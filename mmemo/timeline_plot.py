"""One figure of a :class:`~mmemo.timeline.Timeline` on a shared time axis (seconds):

1. emotion probabilities per segment (stacked bars spanning each segment),
2. valence and arousal per segment (steps, -1..1; circumplex coordinates of the labels),
3. the AU intensity heatmap (0-5) of the frames analysed in the segments (grey: no face),
4. the pitch contour (Hz) of the segments' speech.

Rows without data (no face, no audio) say so. Works with the Agg backend; no pyplot state
is kept (``matplotlib.figure.Figure``), so it is safe from the demo's server threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COLOURS = {
    "neutral": "#9e9e9e", "calm": "#80cbc4", "happy": "#fdd835", "sad": "#1e88e5",
    "angry": "#e53935", "fearful": "#8e24aa", "disgust": "#43a047", "surprised": "#fb8c00",
    "contempt": "#6d4c41",
}  # fmt: skip


def plot_timeline(timeline: Any, top: int = 5) -> Any:
    """The figure (``matplotlib.figure.Figure``); save it with ``fig.savefig(path)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.5), constrained_layout=True)
    ax_p, ax_va, ax_au, ax_f0 = fig.subplots(
        4, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1.2, 2.4, 1.4]}
    )
    done = [r for r in timeline.segments if r.prediction is not None]
    end = max([timeline.duration] + [r.segment.end for r in timeline.segments]) or 1.0
    # 1. probabilities
    totals: dict[str, float] = {}
    for r in done:
        for lab, p in r.prediction.probabilities.items():
            totals[lab] = totals.get(lab, 0.0) + p * r.segment.duration
    labels = [lab for lab, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    for r in done:
        s, bottom = r.segment, 0.0
        for lab in labels:
            p = r.prediction.probabilities.get(lab, 0.0)
            ax_p.bar(s.start, p, width=s.duration, bottom=bottom, align="edge",
                     color=COLOURS.get(lab, "#455a64"), edgecolor="white", linewidth=0.5)  # fmt: skip
            bottom += p
        ax_p.text(s.start + s.duration / 2, 1.02, r.prediction.emotion, ha="center",
                  va="bottom", fontsize=8)  # fmt: skip
    for lab in labels:
        ax_p.bar(0, 0, color=COLOURS.get(lab, "#455a64"), label=lab)
    ax_p.set_ylim(0, 1.15)
    ax_p.set_ylabel("probability")
    title = f"{timeline.path}: {len(timeline.segments)} segments ({timeline.segmentation})"
    fig.suptitle(title, fontsize=9)
    if labels:
        ax_p.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncol=len(labels),
                    frameon=False)  # fmt: skip
    # 2. valence / arousal
    for key, colour in (("valence", "#00897b"), ("arousal", "#d81b60")):
        xs, ys = [], []
        for r in done:
            v = getattr(r.prediction, key)
            if v is not None:
                xs += [r.segment.start, r.segment.end, np.nan]
                ys += [v, v, np.nan]
        ax_va.plot(xs, ys, color=colour, lw=2, label=key)
    ax_va.axhline(0, color="0.7", lw=0.8)
    ax_va.set_ylim(-1.05, 1.05)
    ax_va.set_ylabel("-1 .. 1")
    ax_va.legend(loc="upper right", fontsize=7)
    # 3. AU heatmap over the analysed frames of all segments
    faces = [r.cues.face for r in timeline.segments if r.cues is not None and r.cues.face]
    faces = [f for f in faces if len(f.timestamps)]
    if faces:
        aus = list(faces[0].aus)
        t = np.concatenate([f.timestamps for f in faces])
        z = np.concatenate([f.intensity for f in faces]).T
        order = np.argsort(t)
        t, z = t[order], z[:, order]
        edges = np.concatenate([[t[0] - 0.1], (t[1:] + t[:-1]) / 2, [t[-1] + 0.1]])
        gaps = np.diff(t) > 1.0  # between segments: no frames, leave blank
        z = np.ma.masked_invalid(z)
        cmap = _cmap()
        mesh = ax_au.pcolormesh(edges, np.arange(len(aus) + 1) - 0.5, z, cmap=cmap, vmin=0,
                                vmax=5, shading="flat")  # fmt: skip
        for i in np.flatnonzero(gaps):
            ax_au.axvspan(t[i] + 0.1, t[i + 1] - 0.1, color="white")
        ax_au.set_yticks(range(len(aus)))
        ax_au.set_yticklabels(aus, fontsize=6)
        ax_au.invert_yaxis()
        fig.colorbar(mesh, ax=ax_au, label="AU intensity (0-5)", pad=0.01)
    else:
        ax_au.text(0.5, 0.5, "no face analysed", ha="center", va="center",
                   transform=ax_au.transAxes)  # fmt: skip
    # 4. pitch
    drew = False
    for r in timeline.segments:
        pr = r.cues.prosody if r.cues is not None else None
        if pr is None or pr.empty or pr.f0_contour_hz is None:
            continue
        f0 = np.asarray(pr.f0_contour_hz, dtype=float)
        ax_f0.plot(r.segment.start + np.arange(len(f0)) * pr.hop_s, f0, color="#3949ab", lw=1)
        drew = True
    if not drew:
        ax_f0.text(0.5, 0.5, "no speech prosody", ha="center", va="center",
                   transform=ax_f0.transAxes)  # fmt: skip
    ax_f0.set_ylabel("pitch (Hz)")
    ax_f0.set_xlabel("time (s)")
    ax_f0.set_xlim(0, end)
    return fig


def _cmap() -> Any:
    import matplotlib

    cmap = matplotlib.colormaps["magma"].copy()
    cmap.set_bad("0.85")
    return cmap
