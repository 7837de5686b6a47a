"""A local web page to try a model: pick a sample clip or upload a file, see what it predicts.

The page (Gradio, the optional ``demo`` extra) shows the predicted emotions with their
probabilities, the rationale, the measured cues as text, the action-unit heatmap and the
pitch/energy contours (matplotlib figures rendered to PNG); a file longer than
``LONG_MEDIA_S`` gets an emotion timeline instead of one label (segments with their labels and
transcripts, and the timeline figure of :mod:`mmemo.timeline_plot`). It runs offline: analytics are
off, nothing is fetched from a CDN (Gradio bundles its scripts and fonts), no share link is
made, and it listens on localhost unless told otherwise. A file that cannot be analysed shows
its reason on the page; the server goes on.

:func:`analyse` does the work without Gradio (one file in, a :class:`DemoResult` out), so the
page is a thin layer over it. Run: ``mmemo demo`` (see ``mmemo demo --help``).
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Accepted uploads; anything else is still tried and, if unreadable, reported on the page.
UPLOAD_TYPES: tuple[str, ...] = (
    ".mp4", ".mkv", ".webm", ".avi", ".mov",
    ".wav", ".flac", ".mp3", ".ogg", ".m4a",
    ".jpg", ".jpeg", ".png", ".bmp", ".webp",
)  # fmt: skip
TITLE = "mmemo: multimodal emotion reasoning"
# Uploads above this are refused by the server (Gradio's max_file_size) and again here; every
# upload is deleted once analysed, and Gradio's cache is swept of anything older than an hour.
MAX_UPLOAD_MB = 200
LONG_MEDIA_S = 15.0  # longer files get an emotion timeline (mmemo.timeline) instead of one label


class DemoUnavailable(RuntimeError):
    """Gradio (the ``demo`` extra) is not installed."""


@dataclass
class DemoResult:
    """What the page shows for one file.

    ``probabilities``: emotion -> probability in [0, 1] (empty on error); ``au_png`` and
    ``prosody_png``: PNG bytes of the plots, ``None`` when the file has no face / no audio.
    """

    path: str
    emotion: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    rationale: str = ""
    cues: str = ""
    au_png: bytes | None = None
    prosody_png: bytes | None = None
    error: str | None = None
    timeline_png: bytes | None = None  # media longer than LONG_MEDIA_S: the emotion timeline
    segments: str = ""  # one line per timeline segment


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib figure (no pyplot state, so safe from server threads)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _au_png(face: Any) -> bytes | None:
    from matplotlib.figure import Figure

    from mmemo.encoders.au import plot_au_heatmap

    if face is None or face.empty or len(face.timestamps) == 0:
        return None
    fig = Figure(figsize=(max(4.0, 0.12 * len(face.timestamps) + 2), 4.5))
    plot_au_heatmap(face, ax=fig.add_subplot())
    return figure_png(fig)


def _prosody_png(prosody: Any) -> bytes | None:
    from matplotlib.figure import Figure

    from mmemo.encoders.prosody import plot_prosody

    if prosody is None:
        return None
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    plot_prosody(prosody, axes=fig.subplots(2, 1, sharex=True))
    return figure_png(fig)


_ASR: list[Any] = []


def _timeline_asr() -> Any:
    """pocketsphinx for the timelines (loaded once), or None without the asr extra."""
    if not _ASR:
        from mmemo.asr import AsrUnavailable, load_asr

        try:
            _ASR.append(load_asr("pocketsphinx", "en"))
        except AsrUnavailable:
            _ASR.append(None)
    return _ASR[0]


def _analyse_long(predictor: Any, path: str | Path, name: str, out: DemoResult) -> DemoResult:
    """The timeline of a long file: segments, their labels, the aggregate, one figure."""
    from mmemo.data.inputs import InputItem
    from mmemo.timeline import predict_timeline
    from mmemo.timeline_plot import plot_timeline

    saved = predictor.asr
    if saved is None:  # transcripts per segment where the asr extra is installed
        predictor.asr = _timeline_asr()
    try:
        tl = predict_timeline(predictor, InputItem(name, str(path)))
    finally:
        predictor.asr = saved
    lines = []
    for r in tl.segments:
        span = f"{r.segment.start:6.1f}-{r.segment.end:6.1f} s"
        if r.prediction is None:
            lines.append(f"{span}  error: {r.error}")
            continue
        p = r.prediction
        words = f'  "{p.transcript}"' if p.transcript else ""
        lines.append(f"{span}  {p.emotion} {p.probabilities[p.emotion]:.2f}{words}")
    out.segments = "\n".join(lines)
    if tl.overall is None:
        out.error = f"{name}: no segment could be predicted ({tl.segmentation})"
        return out
    o = tl.overall
    out.emotion, out.probabilities = o.emotion, dict(o.probabilities)
    out.summary = f"{name}: {len(tl.segments)} segments; " + o.summary().split(": ", 1)[1]
    out.rationale, out.cues = o.rationale, o.cues
    out.timeline_png = figure_png(plot_timeline(tl))
    return out


def analyse(
    predictor: Any, path: str | Path, name: str | None = None, long_s: float = LONG_MEDIA_S
) -> DemoResult:
    """Predict one file and draw its cue plots; never raises (errors go in ``.error``).

    ``name`` is how the file is called in messages (an upload's own name, not its temp path).
    Files longer than ``long_s`` seconds get an emotion timeline (segments and their plot).
    """
    from mmemo.encoders.pipeline import extract_cues
    from mmemo.media import MediaError, probe
    from mmemo.predict import AU_FPS

    name = name or Path(path).name
    out = DemoResult(path=str(path))
    try:
        if predictor.backbone is None and probe(path).duration > long_s:
            return _analyse_long(predictor, path, name, out)
    except MediaError as exc:
        out.error = f"{name}: {exc.reason}"
        return out
    except Exception as exc:
        out.error = f"{name}: timeline failed ({type(exc).__name__}: {exc})"
        return out
    try:
        pred = predictor.predict(path)
    except ValueError as exc:  # Predictor.predict names the file; show the upload's name
        out.error = str(exc).replace(str(path), name, 1)
        return out
    except Exception as exc:  # a bug in one file's analysis must not take the page down
        out.error = f"{name}: prediction failed ({type(exc).__name__}: {exc})"
        return out
    out.emotion = pred.emotion
    out.probabilities = dict(pred.probabilities)
    out.summary = pred.summary().replace(str(path), name, 1)
    out.rationale = pred.rationale
    out.cues = pred.cues
    try:
        # The same measurement the predictor made (same AU frame rate), kept for the plots.
        cues = extract_cues(path, au_fps=AU_FPS)
        out.au_png = _au_png(cues.face)
        out.prosody_png = _prosody_png(cues.prosody)
    except Exception as exc:
        out.error = f"{name}: predicted, but the cue plots failed ({type(exc).__name__}: {exc})"
    return out


def analyse_upload(predictor: Any, path: str | Path, max_mb: float = MAX_UPLOAD_MB) -> DemoResult:
    """:func:`analyse` an uploaded file, refusing one above ``max_mb``; the file is deleted after."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_mb * 1024 * 1024:
            return DemoResult(
                path=str(path),
                error=f"{path.name}: {size / 2**20:.0f} MB is above the {max_mb:g} MB upload limit",
            )
        return analyse(predictor, path, path.name)
    finally:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own


def make_samples(out_dir: str | Path) -> dict[str, Path]:
    """Sample inputs for the page (clip, speech, face), keyed by the name shown; ``{}`` when
    ffmpeg or espeak-ng is missing (uploads still work)."""
    from mmemo.data.samples import ToolMissing, make_sample

    try:
        made = make_sample(out_dir)
    except (ToolMissing, RuntimeError) as exc:
        print(f"demo: no sample clips ({exc}); upload files instead")
        return {}
    from mmemo.data.samples import three_emotion_speech

    samples = {
        "sample clip (face + speech, video)": made["clip"],
        "sample speech (audio only)": made["speech"],
        "sample face (image)": made["image"],
    }
    try:
        long = three_emotion_speech(Path(out_dir) / "sample_three_emotions.wav")
        samples["sample long speech (happy, sad, angry; 60 s timeline)"] = long
    except (ToolMissing, RuntimeError) as exc:
        print(f"demo: no long sample ({exc})")
    return samples


def _import_gradio() -> Any:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no usage reports, no version check
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gradio as gr
    except ImportError as exc:
        raise DemoUnavailable(
            "the demo needs Gradio: pip install 'mmemo[demo]' (or pip install gradio)"
        ) from exc
    return gr


def _png_image(data: bytes | None) -> Any:
    if data is None:
        return None
    from PIL import Image

    return Image.open(io.BytesIO(data))


def build_app(
    predictor: Any, samples: dict[str, Path], max_upload_mb: float = MAX_UPLOAD_MB
) -> Any:
    """The Gradio Blocks page around ``predictor`` (a :class:`mmemo.predict.Predictor`)."""
    gr = _import_gradio()

    def run(sample: str | None, upload: str | None) -> tuple:
        if upload:
            name = Path(upload).name
            r = analyse_upload(predictor, upload, max_upload_mb)
        elif sample and sample in samples:
            name = sample
            r = analyse(predictor, str(samples[sample]), name)
        else:
            empty = (None, "", "", "", None, None, "", None)
            return ("**Error:** choose a sample or upload a file first.", *empty)
        if r.error and not r.emotion:
            return (f"**Error:** {r.error}", None, "", "", "", None, None, r.segments, None)
        status = f"**Predicted: {r.emotion}** ({name})"
        if r.error:
            status += f"\n\n**Error:** {r.error}"
        label = {k: float(v) for k, v in r.probabilities.items()}
        return (
            status,
            label,
            r.summary,
            r.rationale,
            r.cues,
            _png_image(r.au_png),
            _png_image(r.prosody_png),
            r.segments,
            _png_image(r.timeline_png),
        )

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(
            f"# {TITLE}\nPick a sample or upload a video, audio or image file, then press "
            "**Predict**. An uploaded file is used when there is one. Everything runs on this "
            f"machine (model: `{predictor.name}`)."
        )
        with gr.Row():
            with gr.Column(scale=1):
                sample = gr.Dropdown(
                    choices=list(samples),
                    value=next(iter(samples), None),
                    label="Sample",
                    elem_id="sample",
                )
                upload = gr.File(
                    label="...or upload a clip, audio or image",
                    type="filepath",
                    file_types=list(UPLOAD_TYPES),
                    elem_id="upload",
                )
                button = gr.Button("Predict", variant="primary", elem_id="predict")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                label = gr.Label(label="Emotions", num_top_classes=5, elem_id="emotions")
                summary = gr.Textbox(label="Summary", elem_id="summary")
                rationale = gr.Textbox(label="Rationale", lines=3, elem_id="rationale")
                cues = gr.Textbox(label="Measured cues", lines=3, elem_id="cues")
        with gr.Row():
            # no "share" button: it posts to Hugging Face Spaces
            buttons = ["download", "fullscreen"]
            au = gr.Image(
                label="Action units (0-5) over time", type="pil", buttons=buttons, elem_id="au-plot"
            )
            prosody = gr.Image(
                label="Pitch and energy", type="pil", buttons=buttons, elem_id="prosody-plot"
            )
        segments = gr.Textbox(
            label=f"Timeline segments (files longer than {LONG_MEDIA_S:g} s)", lines=4,
            elem_id="segments",
        )  # fmt: skip
        timeline = gr.Image(
            label="Emotion timeline: probabilities, valence/arousal, AUs and pitch over time",
            type="pil", buttons=buttons, elem_id="timeline-plot",
        )  # fmt: skip
        button.click(
            run,
            inputs=[sample, upload],
            outputs=[status, label, summary, rationale, cues, au, prosody, segments, timeline],
            api_name=False,
        )
    return app


def _check_port(host: str, port: int) -> None:
    """Raise ``OSError`` naming ``host:port`` when it cannot be listened on."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OSError(f"{host}:{port} is not free ({exc.strerror or exc})") from exc


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    model: str = "default",
    samples_dir: str | Path | None = None,
    block: bool = True,
    max_upload_mb: float = MAX_UPLOAD_MB,
) -> Any:
    """Load ``model``, make sample clips in ``samples_dir`` (a temporary folder when None)
    and serve the page at ``http://host:port``. ``block=False`` returns the running app
    (stop it with ``app.close()``). Raises ``ModelLoadError`` or :class:`DemoUnavailable`."""
    import atexit
    import shutil
    import tempfile

    from mmemo.predict import Predictor

    gr = _import_gradio()
    _check_port(host, port)  # before the model loads, so a taken port fails fast
    predictor = Predictor.from_pretrained(model)
    if samples_dir is None:
        samples_dir = tempfile.mkdtemp(prefix="mmemo_demo_")
        atexit.register(shutil.rmtree, samples_dir, ignore_errors=True)
    samples = make_samples(samples_dir)
    app = build_app(predictor, samples, max_upload_mb)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])
    app.launch(
        server_name=host,
        server_port=port,
        max_file_size=f"{max_upload_mb:g}mb",
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        show_error=True,
        footer_links=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        theme=theme,
        quiet=False,
    )
    return app
