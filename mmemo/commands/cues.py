"""``mmemo cues``: measure facial action units and speech prosody of media files.

For each file (directories are searched recursively for media extensions) it prints the
compact cue description, or with ``--json`` one JSON object per line. With ``--out DIR`` it
writes ``NAME.cues.json`` plus plots: ``NAME.au.png`` (AU intensity heatmap over time) and
``NAME.prosody.png`` (pitch and energy contours). ``--csv`` writes the per-frame action units
in the OpenFace 2.x CSV layout (``NAME.csv`` in ``--out``, or on stdout for one file), which
``mmemo.encoders.au.read_openface_csv`` and OpenFace-based tools read. A file that fails is reported with its
path and the reason and the batch goes on; the exit code is then 1.

Resume: with ``--out DIR``, a file whose ``NAME.cues.json`` is already there is skipped (each
is written whole, after its plots, so one present is complete); ``DIR/cues_run.json`` holds
the settings (face, prosody, AU frame rate, gender norm) and the mmemo version, and a run
with other settings into the same folder stops with an error instead of mixing the two.
The run says how many files it resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cues",
        help="measure facial action units and speech prosody of media files",
        description=__doc__.replace("``", "'"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR", help="media files or folders")
    p.add_argument("--out", type=Path, help="folder for NAME.cues.json and PNG plots")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.add_argument(
        "--csv",
        action="store_true",
        help="per-frame action units in the OpenFace 2.x CSV layout (frame, face_id, "
        "timestamp, confidence, success, pose_R*, AUxx_r, AUxx_c): NAME.csv in --out, or on "
        "stdout for a single file without --out. Tools built for OpenFace read it",
    )
    p.add_argument("--no-face", action="store_true", help="skip facial action units")
    p.add_argument("--no-prosody", action="store_true", help="skip speech prosody")
    p.add_argument(
        "--au-fps", type=float, default=10.0, help="frames per second sampled for AUs (10)"
    )
    p.add_argument("--gender", choices=("male", "female"), help="norm for the prosody levels")
    p.add_argument(
        "--verbose", action="store_true", help="let third-party native logs and warnings through"
    )
    p.set_defaults(func=run)


def collect_media(inputs: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Media files named or found under the inputs (sorted, unique), and (input, error)s."""
    from mmemo.media import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS

    exts = AUDIO_EXTS | VIDEO_EXTS | IMAGE_EXTS
    files: list[Path] = []
    errors: list[tuple[str, str]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in exts)
            if not found:
                errors.append((item, "no media files in this folder"))
            files.extend(found)
        elif p.exists():
            files.append(p)  # an explicit file is tried whatever its extension
        else:
            errors.append((item, "file not found"))
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return unique, errors


def _out_name(path: Path, used: set[str]) -> str:
    name, i = path.stem, 2
    while name in used:
        name, i = f"{path.stem}-{i}", i + 1
    used.add(name)
    return name


def _write_outputs(cues, out_dir: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if cues.face is not None:
        from mmemo.encoders.au import plot_au_heatmap

        fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
        plot_au_heatmap(cues.face, ax=ax)
        ax.set_title(f"{name}: action unit intensity (0-5)", fontsize=10)
        fig.savefig(out_dir / f"{name}.au.png", dpi=110)
        plt.close(fig)
    if cues.prosody is not None:
        from mmemo.encoders.prosody import plot_prosody

        fig = plot_prosody(cues.prosody)
        fig.suptitle(name, fontsize=10)
        fig.savefig(out_dir / f"{name}.prosody.png", dpi=110)
        plt.close(fig)
    # last and atomic: a NAME.cues.json that exists is complete (resume relies on it)
    tmp = out_dir / f".{name}.cues.json.tmp"
    tmp.write_text(json.dumps(cues.to_dict(), indent=1) + "\n")
    tmp.replace(out_dir / f"{name}.cues.json")


def _check_run(out_dir: Path, settings: dict) -> str | None:
    """Write ``cues_run.json`` on a first run; the reason to stop when it differs."""
    from mmemo import __version__

    run = {"settings": settings, "mmemo": __version__}
    path = out_dir / "cues_run.json"
    if path.is_file():
        try:
            before = json.loads(path.read_text())
        except ValueError:
            before = None
        if before != run:
            return (
                f"{out_dir} holds cues measured with other settings ({path}: {before}); "
                f"this run: {run}. Use another --out, or empty the folder"
            )
        return None
    path.write_text(json.dumps(run, indent=1) + "\n")
    return None


def _write_openface(cues, path: Path, out: Path | None) -> None:
    from mmemo.encoders.openface_csv import write_openface_csv
    from mmemo.media import MediaError

    if cues.face is None:
        raise MediaError(path, "--csv writes facial action units: this file has no picture")
    write_openface_csv(cues.face, out if out is not None else sys.stdout)


def run(args: argparse.Namespace) -> int:
    if args.no_face and args.no_prosody:
        print("mmemo cues: --no-face and --no-prosody leave nothing to measure", file=sys.stderr)
        return 2
    if args.au_fps <= 0:
        print("mmemo cues: --au-fps must be positive", file=sys.stderr)
        return 2
    from tqdm import tqdm

    from mmemo.encoders.pipeline import extract_cues
    from mmemo.media import MediaError

    files, errors = collect_media(args.inputs)
    if args.csv and args.out is None and len(files) + len(errors) > 1:
        print("mmemo cues: --csv with several inputs needs --out DIR", file=sys.stderr)
        return 2
    for item, reason in errors:
        print(f"error: {item}: {reason}", file=sys.stderr)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        settings = {"face": not args.no_face, "prosody": not args.no_prosody,
                    "au_fps": args.au_fps, "gender": args.gender}  # fmt: skip
        problem = _check_run(args.out, settings)
        if problem:
            print(f"mmemo cues: {problem}", file=sys.stderr)
            return 2
    used: set[str] = set()
    names = [_out_name(path, used) for path in files]
    resumed = 0
    if args.out is not None:
        done = [(args.out / f"{n}.cues.json").is_file() for n in names]
        resumed = sum(done)
        if resumed:
            print(f"resuming: {resumed} of {len(files)} files already in {args.out}",
                  file=sys.stderr)  # fmt: skip
        todo = [(p, n) for p, n, d in zip(files, names, done, strict=True) if not d]
    else:
        todo = list(zip(files, names, strict=True))
    failed = len(errors)
    bar = tqdm(todo, desc="cues", unit="file", disable=len(todo) < 2, file=sys.stderr)
    for path, name in bar:
        try:
            cues = extract_cues(
                path, face=not args.no_face, prosody=not args.no_prosody,
                au_fps=args.au_fps, gender=args.gender,
            )  # fmt: skip
            if args.csv:  # before NAME.cues.json, which marks a file done for resume
                csv_out = args.out / f"{name}.csv" if args.out is not None else None
                _write_openface(cues, path, csv_out)
            if args.out is not None:
                _write_outputs(cues, args.out, name)
            elif args.csv:
                continue  # the CSV is the output on stdout
        except MediaError as exc:
            failed += 1
            tqdm.write(f"error: {exc.path}: {exc.reason}", file=sys.stderr)
            continue
        except Exception as exc:  # one bad file must not stop the batch
            failed += 1
            tqdm.write(f"error: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if args.json:
            tqdm.write(json.dumps(cues.to_dict(contours=False)), file=sys.stdout)
        else:
            tqdm.write(f"{path}: {cues.describe()}", file=sys.stdout)
    if failed:
        print(
            f"{failed} input(s) failed, {len(files) + len(errors) - failed} done", file=sys.stderr
        )
    if resumed:
        print(f"{resumed} resumed, {len(todo) - (failed - len(errors))} new", file=sys.stderr)
    return 1 if failed else 0
