"""Keep third-party chatter out of what the user sees (``--verbose`` lets it through).

MediaPipe, TF Lite, absl and glog write straight to file descriptor 2 from C++ ("Created
TensorFlow Lite XNNPACK delegate", "W0000 ... inference_feedback_manager.cc"), protobuf and
transformers raise deprecation warnings, and transformers draws a "Loading weights" bar.
Python's logging cannot reach the native lines, so:

- :func:`silenced` (a context manager, used by :class:`mmemo.predict.Predictor` around each
  file) points fd 2 at ``/dev/null`` for its duration, ignores warnings raised outside
  mmemo and lowers the third-party loggers; everything is restored on exit. mmemo's own
  notes travel in the prediction (``warnings``), not on stderr, so nothing is lost.
- :func:`quiet_process` (used by the CLI unless ``--verbose``) does the same for the whole
  command while Python's ``sys.stderr`` (errors, progress bars) keeps the real terminal.

Shortcut admitted: a native crash message inside a silenced block is lost too; rerun with
``--verbose`` (or ``MMEMO_VERBOSE=1``) to see everything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator

# Read by the native libraries when they load; user-set values win (setdefault).
NATIVE_ENV = {
    "GLOG_minloglevel": "2",  # glog: errors only
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow / TF Lite
    "ABSL_MIN_LOG_LEVEL": "2",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # also transformers' "Loading weights" bar
    "TRANSFORMERS_VERBOSITY": "error",
}
LOGGERS = ("absl", "transformers", "tensorflow", "jax", "mediapipe", "numba", "h5py")

_lock = threading.Lock()
_depth = 0


def verbose_requested() -> bool:
    return os.environ.get("MMEMO_VERBOSE", "").lower() in ("1", "true", "yes")


def _quiet_python() -> None:
    for key, value in NATIVE_ENV.items():
        os.environ.setdefault(key, value)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:  # already imported: its env was read, tell it directly
        with contextlib.suppress(Exception):
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()


def _ignore_foreign_warnings() -> None:
    # module= is the module the warning is attributed to: anything that is not mmemo's
    warnings.filterwarnings("ignore", module=r"^(?!mmemo(\.|$))")


@contextlib.contextmanager
def silenced(enabled: bool = True) -> Iterator[None]:
    """Silence third-party native logs and warnings inside the block (re-entrant)."""
    global _depth
    if not enabled or verbose_requested():
        yield
        return
    with _lock:
        _depth += 1
        outer = _depth == 1
    saved = None
    try:
        if outer:
            _quiet_python()
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        with warnings.catch_warnings():
            _ignore_foreign_warnings()
            yield
    finally:
        with _lock:
            _depth -= 1
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def quiet_process() -> Iterator[None]:
    """For a CLI command: native fd-2 output dropped, ``sys.stderr`` still the terminal."""
    global _depth
    if verbose_requested():
        yield
        return
    _quiet_python()
    old = sys.stderr
    try:
        real = old.fileno() == 2
    except (AttributeError, OSError, ValueError):  # captured (pytest, notebooks): leave it
        real = False
    with contextlib.suppress(Exception):
        old.flush()
    keep = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    if real:
        enc = getattr(old, "encoding", None) or "utf-8"
        sys.stderr = os.fdopen(os.dup(keep), "w", buffering=1, encoding=enc, errors="replace")
    with _lock:
        _depth += 1  # Predictor's own silenced() blocks become no-ops
    try:
        with warnings.catch_warnings():
            _ignore_foreign_warnings()
            yield
    finally:
        with _lock:
            _depth -= 1
        if real:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
                sys.stderr.close()
            sys.stderr = old
        os.dup2(keep, 2)
        os.close(keep)
