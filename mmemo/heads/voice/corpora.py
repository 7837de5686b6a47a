"""The acted speech corpora the voice head learns from: RAVDESS, ASED and EmoDB.

Each corpus becomes a list of :class:`Clip` (path, canonical label, speaker, gender, corpus),
decoded from the file names exactly as each folder's README describes. Labels are mapped onto
the taxonomy's canonical words (``anger -> angry``); a class with no canonical word (EmoDB's
boredom) is left out, so no clip teaches a label the shared set cannot express.

``CORPUS_LABELS`` says which classes each corpus *has*: training masks the others for its
clips (a corpus that lacks a class does not teach that class's absence), and the
leave-one-corpus-out protocol scores a held-out corpus on the classes it shares with the
training corpora.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mmemo.data.converters.ravdess import EMOTIONS as RAVDESS_EMOTIONS

CORPORA = ("ravdess", "ased", "emodb")

CORPUS_LABELS: dict[str, tuple[str, ...]] = {
    "ravdess": tuple(RAVDESS_EMOTIONS.values()),
    "ased": ("neutral", "fearful", "happy", "sad", "angry"),
    # EmoDB's boredom has no canonical label and is left out
    "emodb": ("angry", "neutral", "happy", "fearful", "sad", "disgust"),
}
# the four classes every corpus has: the target set of the leave-one-corpus-out table
CORE_LABELS = ("angry", "happy", "neutral", "sad")

_RAVDESS_RE = re.compile(r"^03-01-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Clip:
    """One labelled clip. ``speaker`` is unique across corpora (``"ased/07"``)."""

    path: Path
    label: str
    speaker: str
    gender: str  # "female" | "male"
    corpus: str


def ravdess_clips(root: Path) -> list[Clip]:
    """RAVDESS speech (audio-only, ``03-01-EE-II-SS-RR-AA``); odd actors are male."""
    out = []
    for f in sorted(root.glob("Actor_*/*.flac")) + sorted(root.glob("Actor_*/*.wav")):
        m = _RAVDESS_RE.match(f.stem)
        if m is None or int(m.group(1)) not in RAVDESS_EMOTIONS:
            continue
        actor = int(m.group(5))
        gender = "male" if actor % 2 else "female"
        out.append(
            Clip(f, RAVDESS_EMOTIONS[int(m.group(1))], f"ravdess/{actor:02d}", gender, "ravdess")
        )
    return out


def ased_clips(root: Path) -> list[Clip]:
    """ASED ``xn-yy-aa-gg-bb`` (names decoded by :mod:`mmemo.data.converters.ased`)."""
    from mmemo.data.converters.ased import parse_name

    out = []
    for f in sorted(root.glob("speaker_*/*.flac")) + sorted(root.glob("speaker_*/*.wav")):
        fields = parse_name(f.stem)
        if fields is not None:
            spk = fields["speaker"].split("_")[1]
            out.append(Clip(f, fields["emotion"], f"ased/{spk}", fields["gender"], "ased"))
    return out


def emodb_clips(root: Path) -> list[Clip]:
    """EmoDB ``SSTTTEV`` (decoded by :mod:`mmemo.data.converters.emodb`); boredom left out."""
    from mmemo.data.converters.emodb import parse_name

    out = []
    for f in sorted(root.glob("*.flac")) + sorted(root.glob("*.wav")):
        fields = parse_name(f.stem)
        if fields is not None and fields["emotion"] in CORPUS_LABELS["emodb"]:
            spk = fields["speaker"].split("_")[1]
            out.append(Clip(f, fields["emotion"], f"emodb/{spk}", fields["gender"], "emodb"))
    return out


_READERS = {"ravdess": ravdess_clips, "ased": ased_clips, "emodb": emodb_clips}


def corpus_clips(data: str | Path, corpora: tuple[str, ...] = CORPORA) -> list[Clip]:
    """The clips of ``corpora`` under ``data`` (one sub-folder each, as in ``shared/data``).

    Raises:
        FileNotFoundError: a corpus folder is missing or holds no recognisable clip.
    """
    clips: list[Clip] = []
    for name in corpora:
        root = Path(data) / name
        found = _READERS[name](root) if root.is_dir() else []
        if not found:
            raise FileNotFoundError(f"no {name} clips under {root} (see its README for the layout)")
        clips += found
    return clips
