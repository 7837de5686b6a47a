"""``mmemo media``: probe media files; make a sample clip to try the toolkit on."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "media",
        help="probe media files; make a sample clip",
        description="Inspect media files and make sample media (no download involved).",
    )
    sub = parser.add_subparsers(dest="media_command", metavar="ACTION", required=True)
    p = sub.add_parser(
        "probe",
        help="duration, fps, size, rotation and streams of media files",
        description="Print what each file holds: kind, duration, displayed size and frame rate, "
        "rotation (phone clips' display matrix, applied when frames are read), audio rate and "
        "channels, and where the audio track ends when it is shorter than the picture. "
        "Unreadable files are reported with the reason; the others are still probed. "
        "Exit code 1 when any file failed.",
    )
    p.add_argument("paths", nargs="+", help="media files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run_probe)
    s = sub.add_parser(
        "sample",
        help="write a sample clip (face video + espeak-ng speech) and a manifest",
        description="Write sample_clip.mp4, its speech and face image, and "
        "sample_manifest.jsonl into OUT_DIR. Needs ffmpeg and espeak-ng.",
    )
    s.add_argument("out_dir", nargs="?", default="mmemo_sample", help="default: ./mmemo_sample")
    s.add_argument("--seconds", type=float, default=4.0, help="clip length (default 4)")
    s.set_defaults(func=run_sample)


def run_probe(args: argparse.Namespace) -> int:
    from mmemo.media import MediaError, probe

    failed = 0
    for path in args.paths:
        try:
            info = probe(path)
        except MediaError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(info.to_dict()))
        else:
            parts = [f"{info.kind}", f"{info.duration:.2f} s"]
            if info.has_video and info.width:
                fps = f" @ {info.fps:.2f} fps" if info.fps else ""
                parts.append(f"{info.width}x{info.height}{fps}")
            if info.rotation:
                parts.append(f"rotated {info.rotation} degrees clockwise for display")
            if info.has_audio and info.sample_rate:
                parts.append(f"audio {info.sample_rate} Hz x{info.channels}")
            a_end, v_end = info.audio_duration, info.video_duration
            if info.has_video and a_end is not None and v_end and a_end < v_end - 0.25:
                parts.append(f"audio ends at {a_end:.2f} s")
            print(f"{path}: {', '.join(parts)}")
    return 1 if failed else 0


def run_sample(args: argparse.Namespace) -> int:
    from mmemo.data.samples import ToolMissing, make_sample

    try:
        files = make_sample(args.out_dir, seconds=args.seconds)
    except ToolMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kind, path in files.items():
        print(f"{kind:9s} {path}")
    return 0
