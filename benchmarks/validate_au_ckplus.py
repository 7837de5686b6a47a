"""Validate geometric AUs on CK+48: do the emotions' defining AUs peak in the right class?

Run (from the repository root; needs ../shared/data or MMEMO_SHARED_DATA):

    nice -n 10 python benchmarks/validate_au_ckplus.py                  # held-out subjects
    nice -n 10 python benchmarks/validate_au_ckplus.py --subjects all
    nice -n 10 python benchmarks/validate_au_ckplus.py --calibrate --cache /tmp/mmemo_cache

CK+48 holds 48x48 grayscale crops of peak expressions (no neutral frames), so AUs use the
population neutral template. ``mmemo.encoders.au`` constants come from FER2013 *training*
images (``--calibrate``) and, for the presence thresholds of ``au.TUNED_AUS`` only, from the
even-numbered CK+ subjects. The AU formulas were designed while looking at FER2013 and at
the even-numbered CK+ subjects (``--subjects even``, the design set); the odd-numbered
subjects (default) were not used for any choice and are the honest check. ``--cache`` keeps
the FaceMesh landmarks of the calibration images, so a rerun takes seconds.

For each class's defining AU(s) the script reports whether the class has the highest mean
intensity of all 7 classes (a sum of AUs is ranked as a sum). A class passes when any of its
alternatives ranks first.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
# class -> alternatives; each alternative is a tuple of AUs whose intensities are summed.
DEFINING: dict[str, tuple[tuple[str, ...], ...]] = {
    "happy": (("AU12",), ("AU6",)),
    "surprise": (("AU1", "AU2"), ("AU26",)),
    "sadness": (("AU15",), ("AU1", "AU4")),
    "anger": (("AU4",), ("AU23",)),
    "disgust": (("AU9",), ("AU10",)),
    "fear": (("AU20",), ("AU1", "AU4", "AU5")),
}
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def subject_of(path: Path) -> int:
    """Subject number from a CK+ file name ``S010_004_00000017.png`` -> 10."""
    return int(path.name[1:4])


def ckplus_files(root: Path, subjects: str = "odd", per_class: int | None = None) -> list:
    """(path, class) pairs, filtered by subject parity, optionally the first ``per_class``
    files of each class in name order."""
    out = []
    for cls in CLASSES:
        files = sorted((root / "ckplus48" / cls).glob("*.png"))
        if subjects != "all":
            parity = 1 if subjects == "odd" else 0
            files = [f for f in files if subject_of(f) % 2 == parity]
        out += [(f, cls) for f in files[:per_class]]
    return out


def measure_images(pairs: list) -> tuple[dict[str, np.ndarray], int, int]:
    """Per-class AU intensities [n, n_aus] (population neutral), detected and total counts."""
    from mmemo.encoders.au import aus_from_faces
    from mmemo.encoders.face import FaceMesher, detect_faces
    from mmemo.media import read_image

    by_class: dict[str, list] = {c: [] for c in CLASSES}
    found = 0
    with FaceMesher(video=False, max_faces=1) as mesher:
        for path, cls in pairs:
            cues = aus_from_faces(detect_faces(read_image(path), mesher=mesher))
            if cues.empty:
                continue
            found += 1
            by_class[cls].append(cues.intensity[0])
    return {c: np.array(v) for c, v in by_class.items() if v}, found, len(pairs)


def rank_check(means: dict[str, dict[str, float]]) -> tuple[list[tuple], int, int]:
    """For each defining alternative: (class, AUs, value, best class, first?)."""
    rows, passed, total = [], 0, 0
    for cls, alternatives in DEFINING.items():
        if cls not in means:
            continue
        total += 1
        ok_any = False
        for aus in alternatives:
            score = {c: sum(m[a] for a in aus) for c, m in means.items()}
            best = max(score, key=score.get)
            ok = best == cls
            ok_any |= ok
            rows.append((cls, "+".join(aus), score[cls], best, ok))
        passed += ok_any
    return rows, passed, total


def class_means(by_class: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    from mmemo.encoders.au import AUS

    return {c: dict(zip(AUS, v.mean(axis=0).tolist(), strict=True)) for c, v in by_class.items()}


def validate(root: Path, subjects: str) -> int:
    from mmemo.encoders.au import AUS

    t0 = time.perf_counter()
    pairs = ckplus_files(root, subjects)
    by_class, found, total = measure_images(pairs)
    secs = time.perf_counter() - t0
    n_subj = len({subject_of(p) for p, _ in pairs})
    print(f"CK+48 subjects={subjects} ({n_subj} subjects): face found in {found}/{total} "
          f"images ({100 * found / max(total, 1):.1f}%), {secs:.1f} s")  # fmt: skip
    means = class_means(by_class)
    print("\nmean AU intensity (0-5) per class")
    print(f"{'AU':6s}" + "".join(f"{c[:8]:>9s}" for c in means))
    print(f"{'n':6s}" + "".join(f"{len(by_class[c]):9d}" for c in means))
    for au in AUS:
        vals = [means[c][au] for c in means]
        top = int(np.argmax(vals))
        print(
            f"{au:6s}" + "".join(f"{v:8.2f}{'*' if i == top else ' '}" for i, v in enumerate(vals))
        )
    rows, passed, n = rank_check(means)
    print("\ndefining AU ranks first across classes? (* above = column maximum)")
    for cls, aus, val, best, ok in rows:
        print(f"  {cls:9s} {aus:14s} {val:5.2f}  first: {best:9s} {'yes' if ok else 'no'}")
    print(f"\nclasses whose defining AU ranks first: {passed}/{n} (target >= 5/6)")
    return 0 if passed >= 5 else 1


def landmarks_of(paths: list[Path], cache: Path | None = None) -> np.ndarray:
    """FaceMesh landmarks [N, 478, 3] (pixels; NaN where no face) of image files, one
    detection per image as in :func:`measure_images`; kept in ``cache`` (an .npz named by
    a hash of the paths) when given, so recalibrating does not rerun FaceMesh."""
    import hashlib

    key = hashlib.sha1("\n".join(map(str, paths)).encode()).hexdigest()[:16]
    file = cache / f"au_landmarks_{key}.npz" if cache else None
    if file is not None and file.is_file():
        return np.load(file)["lm"]
    from mmemo.encoders.face import FaceMesher
    from mmemo.media import read_image

    lm = np.full((len(paths), 478, 3), np.nan, np.float32)
    with FaceMesher(video=False, max_faces=1) as mesher:
        for i, f in enumerate(paths):
            faces = mesher(read_image(f))
            if faces:
                lm[i] = faces[0]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(file, lm=lm)
    return lm


def calibrate(root: Path, per_class: int = 300, n_neutral: int = 1000, cache=None) -> int:
    """Print the constants for mmemo/encoders/face.py and au.py from FER2013 train images
    and (for the thresholds of ``au.TUNED_AUS``) the even-numbered CK+ subjects."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from au_presence_ckplus import EXPECTED

    from mmemo.encoders import au, face
    from mmemo.encoders.face import head_pose

    rng = random.Random(0)
    paths, cls = [], []
    for c in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
        files = sorted((root / "fer2013" / "train" / c).glob("*.jpg"))
        rng.shuffle(files)
        take = files[: n_neutral if c == "neutral" else per_class]
        paths += take
        cls += [c] * len(take)
    lm = landmarks_of(paths, cache)
    found = ~np.isnan(lm[:, 0, 0])
    lm, cls = lm[found], np.array(cls)[found]
    face.PITCH_OFFSET_DEG = 0.0
    pose = head_pose(lm)
    frontal0 = (np.abs(pose[:, 0]) < 25) & (np.abs(pose[:, 2]) < 20)
    offset = float(np.median(pose[(cls == "neutral") & frontal0, 1]))
    face.PITCH_OFFSET_DEG = offset
    pose = head_pose(lm)
    frontal = (np.abs(pose[:, 0]) < 25) & (np.abs(pose[:, 1]) < 20) & (np.abs(pose[:, 2]) < 20)
    neutral = lm[(cls == "neutral") & frontal]
    design = ckplus_files(root, "even")
    lm_d = landmarks_of([p for p, _ in design], cache)
    pose_d = head_pose(np.nan_to_num(lm_d))
    ok = ~np.isnan(lm_d[:, 0, 0]) & (np.abs(pose_d[:, 0]) <= au.MAX_YAW)
    ok &= np.abs(pose_d[:, 1]) <= au.MAX_PITCH
    cls_d = np.array([c for _, c in design])
    consts = au.calibrate(neutral, lm[frontal], (lm_d[ok], cls_d[ok]), EXPECTED)
    print(f"# FER2013 train: {len(lm)} faces, {int(frontal.sum())} near-frontal, "
          f"{len(neutral)} neutral; CK+ even subjects: {int(ok.sum())} faces")  # fmt: skip
    print(f"PITCH_OFFSET_DEG = {offset:.2f}")
    print("NEUTRAL_FEATURES: dict[str, float] = {")
    for k, v in consts["NEUTRAL_FEATURES"].items():
        print(f'    "{k}": {v:.4f},')
    print("}")
    print("AU_SCALE: dict[str, tuple[float, float]] = {")
    for k, (s, h) in consts["AU_SCALE"].items():
        print(f'    "{k}": ({s:.4f}, {h:.4f}),')
    print("}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, default=Path(os.environ.get("MMEMO_SHARED_DATA", DEFAULT_DATA))
    )
    ap.add_argument("--subjects", choices=("odd", "even", "all"), default="odd",
                    help="odd = held out from design (default), even = design set")  # fmt: skip
    ap.add_argument("--calibrate", action="store_true", help="print FER2013 constants")
    ap.add_argument("--cache", type=Path, help="folder keeping landmarks for --calibrate")
    args = ap.parse_args(argv)
    if not (args.data / "ckplus48").is_dir():
        print(f"CK+48 not found under {args.data}", file=sys.stderr)
        return 2
    return (
        calibrate(args.data, cache=args.cache)
        if args.calibrate
        else validate(args.data, args.subjects)
    )


if __name__ == "__main__":
    sys.exit(main())
