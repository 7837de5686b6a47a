"""Landmark geometry behind the geometric AUs: features and AU measures (IOD units).

All inputs are frontalised FaceMesh landmarks (:func:`mmemo.encoders.face.frontalise`: x
towards the subject's left, y up the face, in inter-ocular distances). Only x and y are used:
MediaPipe's z (depth) of a single image is a learned guess that barely moves with the lips
or chin, and AUs read from it alone (AU14, AU17 before issue 13) never fired on CK+.
"""

from __future__ import annotations

import numpy as np

from mmemo.encoders.base import AU_NAMES

AUS: tuple[str, ...] = tuple(AU_NAMES)

# Landmark groups (MediaPipe FaceMesh indices; the first of each pair is the subject's right).
_EYE_INNER = (133, 362)
_EYE_OUTER = (33, 263)
_BROW_INNER = (107, 66, 55, 65, 336, 296, 285, 295)
_BROW_INNER_R, _BROW_INNER_L = (107, 66, 55, 65), (336, 296, 285, 295)
_BROW_OUTER = (70, 63, 46, 53, 300, 293, 276, 283)
_BROW_ALL = _BROW_INNER + _BROW_OUTER + (105, 52, 334, 282)
_UPPER_LID = (159, 158, 160, 386, 385, 387)
_LOWER_LID = (145, 144, 153, 374, 373, 380)
_LID_MID_R, _LID_MID_L = 159, 386  # upper lid apex above each iris
_IRIS_R, _IRIS_L = 468, 473  # iris centres (FaceMesh with refine_landmarks)
_CHEEK = (117, 118, 50, 101, 346, 347, 280, 330)  # infraorbital cheek surface
_ALA = (129, 358, 64, 294, 48, 278)  # nose wings
_NASION = (168, 6)
_SUBNASALE = (2, 94)
_UPPER_LIP_TOP = 0  # top of the upper lip's red margin, midline
_LIP_IN_UP, _LIP_IN_LO = 13, 14  # inner lip edges, midline
_LOWER_LIP_BOTTOM = 17
_CORNER_R, _CORNER_L = 61, 291
_CHIN = 152


def _y(f: np.ndarray, idx) -> np.ndarray:
    return f[..., list(np.atleast_1d(idx)), 1].mean(-1)


def _x(f: np.ndarray, idx) -> np.ndarray:
    return f[..., list(np.atleast_1d(idx)), 0].mean(-1)


def geometric_features(front: np.ndarray) -> dict[str, np.ndarray]:
    """Distances on frontalised landmarks [..., 478, 3] (IOD units; heights are along the
    face's up axis, so "raised" = larger)."""
    f = front
    eye_line = _y(f, _EYE_INNER + _EYE_OUTER)
    corners = (_CORNER_R, _CORNER_L)
    lid_r = _y(f, _LID_MID_R) - _y(f, _IRIS_R)
    lid_l = _y(f, _LID_MID_L) - _y(f, _IRIS_L)
    return {
        "inner_brow_height": _y(f, _BROW_INNER) - _y(f, _EYE_INNER),
        "outer_brow_height": _y(f, _BROW_OUTER) - _y(f, _EYE_OUTER),
        "brow_height": _y(f, _BROW_ALL) - eye_line,
        "brow_gap": _x(f, _BROW_INNER_L) - _x(f, _BROW_INNER_R),
        "upper_lid_height": _y(f, _UPPER_LID) - eye_line,
        "lower_lid_height": _y(f, _LOWER_LID) - eye_line,
        "lid_above_iris": 0.5 * (lid_r + lid_l),
        "cheek_height": _y(f, _CHEEK) - eye_line,
        "ala_height": _y(f, _ALA) - eye_line,
        "nose_length": _y(f, _NASION) - _y(f, _SUBNASALE),
        "upper_lip_to_nose": _y(f, _SUBNASALE[0]) - _y(f, _UPPER_LIP_TOP),
        "corner_height": _y(f, corners) - eye_line,
        "corner_above_lip_centre": _y(f, corners) - _y(f, (_LIP_IN_UP, _LIP_IN_LO)),
        "corner_above_lower_lip": _y(f, corners) - _y(f, _LOWER_LIP_BOTTOM),
        "half_width": (_x(f, _CORNER_L) - _x(f, _CORNER_R)) / 2,
        # each corner's distance from the face's midline (x = 0 is the rigid points' centre)
        "corner_out_r": -_x(f, _CORNER_R),
        "corner_out_l": _x(f, _CORNER_L),
        "lip_thickness": (_y(f, _UPPER_LIP_TOP) - _y(f, _LIP_IN_UP))
        + (_y(f, _LIP_IN_LO) - _y(f, _LOWER_LIP_BOTTOM)),
        "lip_gap": _y(f, _LIP_IN_UP) - _y(f, _LIP_IN_LO),
        "chin_drop": eye_line - _y(f, _CHIN),
        "chin_to_lower_lip": _y(f, _LOWER_LIP_BOTTOM) - _y(f, _CHIN),
    }


def au_measures(features: dict[str, np.ndarray], neutral: dict[str, float]) -> np.ndarray:
    """Raw AU measures [..., n_aus] in IOD units, larger = more of the AU, 0 = neutral.

    ``d[name]`` below is the change of a feature from ``neutral``; ``pos`` keeps the positive
    part. Each formula follows the AU's FACS appearance change. Weights other than 1 (0.5,
    0.6, 2) were chosen on FER2013 train and the even-numbered CK+ subjects only.
    """
    d = {k: np.asarray(features[k], dtype=np.float64) - neutral[k] for k in neutral}

    def pos(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)

    lips_part = pos(d["lip_gap"])
    m = {
        # AU1: inner brow ends rise above the inner eye corners.
        "AU1": d["inner_brow_height"],
        # AU2: outer brow ends rise above the outer eye corners.
        "AU2": d["outer_brow_height"],
        # AU4: brows drop towards the eyes and are drawn together (gap between inner ends).
        "AU4": -d["brow_height"] - d["brow_gap"],
        # AU5: the upper lid rises above the iris centre (more iris and sclera above it).
        # The eye-corner line moved with squints and the lid landmarks alone barely moved.
        "AU5": d["lid_above_iris"],
        # AU6: the infraorbital cheek surface rises towards the eyes.
        "AU6": d["cheek_height"],
        # AU7: lower lid rises (tightens) towards the eye-corner line.
        "AU7": d["lower_lid_height"],
        # AU9: the nose shortens (nasion to subnasale) and its wings rise towards the eyes,
        # less the wing rise that a widening smile (AU12/AU6) causes on its own.
        "AU9": -d["nose_length"] + d["ala_height"] - 0.6 * pos(d["half_width"]),
        # AU10: upper lip centre rises towards the subnasale.
        "AU10": -d["upper_lip_to_nose"],
        # AU12: lip corners rise, relative to the lip centre and to the eyes (mean of both).
        "AU12": 0.5 * (d["corner_above_lip_centre"] + d["corner_height"]),
        # AU14: a lip corner is pulled back into the cheek, which moves it away from the
        # midline in the image (stronger side: contempt is often one-sided), not explained by
        # the corners rising (AU12) or the lips parting (AU20/AU25 stretch the mouth open).
        "AU14": np.maximum(d["corner_out_r"], d["corner_out_l"])
        - pos(d["corner_above_lip_centre"])
        - 2 * lips_part,
        # AU15: lip corners drop below the lip centre line.
        "AU15": -d["corner_above_lip_centre"],
        # AU17: the chin boss pushes the lower lip up: it rises away from the chin and above
        # the lip corners (the mouth bows upwards); lips closed.
        "AU17": 0.5 * (d["chin_to_lower_lip"] - d["corner_above_lower_lip"]) - lips_part,
        # AU20: lip corners pulled sideways beyond what the oblique AU12 pull explains
        # (an AU12 corner moves about as far up as out).
        "AU20": d["half_width"] - pos(d["corner_above_lip_centre"]),
        # AU23: the red of the lips narrows and the mouth narrows with it (a stretched mouth,
        # AU20, thins the lips without AU23); lips not parted.
        "AU23": -d["lip_thickness"] - 0.6 * d["half_width"] - lips_part,
        # AU25: inner lip edges part.
        "AU25": d["lip_gap"],
        # AU26: the jaw drops: chin away from the eye line, with the lips apart (half weight:
        # AU25 alone, lips parted over closed teeth, is not a jaw drop).
        "AU26": d["chin_drop"] + 0.5 * d["lip_gap"],
        # AU45: the upper lid drops, beyond what lowered brows push it down (AU4). Not the
        # eye aperture: squinting (AU6/AU7 raise the lower lid, as in disgust) narrows the
        # aperture too and was read as a blink on 44% of CK+ disgust faces.
        "AU45": -d["upper_lid_height"] - pos(-d["brow_height"]),
    }
    return np.stack([m[au] for au in AUS], axis=-1)
