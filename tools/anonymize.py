"""Write an anonymised copy of a video or a video dataset (thesis Sec. 5.1).

    python tools/anonymize.py INPUT OUTPUT --level face|body [--method box] [--workers 4]

INPUT and OUTPUT are two video files or two folders (OUTPUT mirrors INPUT's relative paths, same frame
count and frame rate). Each video is written to a temporary file in its output folder and renamed when
complete; a rerun skips finished videos (resume). ``OUTPUT/anonymize_report.json`` (or
``OUTPUT.report.json`` for one file) counts instances, whole-frame obfuscations by reason, skipped
(unreadable) and failed videos. The exit status is 1 when a video was skipped or failed.
"""
import argparse
import json
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('input', help='a video file or a folder of videos')
    p.add_argument('output', help='the output video file or folder')
    p.add_argument('--level', choices=['face', 'body'], default='face')
    p.add_argument('--method', choices=['box', 'gaussian', 'pixelate', 'solid'], default='box',
                   help="obfuscation ('box': the thesis's normalised box filter)")
    p.add_argument('--method-kwargs', nargs='+', action=DictAction, default={},
                   help='obfuscation arguments, e.g. kernel_size=15')
    p.add_argument('--detector', type=json.loads, default=None,
                   help='detector config as JSON, e.g. \'{"type": "CascadeFaceDetector"}\' or '
                        '\'{"type": "MMDetDetector", "config": "...", "checkpoint": "..."}\'')
    p.add_argument('--accept-thr', type=float, default=None, help='scores >= this are obfuscated')
    p.add_argument('--unsure-thr', type=float, default=None,
                   help='scores in [unsure-thr, accept-thr) count as "not sure" (fail closed)')
    p.add_argument('--unsure-action', choices=['frame', 'region'], default='frame')
    p.add_argument('--enlarge', type=float, default=None, help='box enlargement per side')
    p.add_argument('--person-cue', type=json.loads, default=None,
                   help='face level: person detector config as JSON (e.g. \'{"type": '
                        '"SelfieSegmentationBody"}\'); persons without a face get their head '
                        'region obfuscated')
    p.add_argument('--person-action', choices=['head', 'frame'], default='head')
    p.add_argument('--carry', type=int, default=0,
                   help='also obfuscate each frame with the instances of this many neighbours '
                        'on each side')
    p.add_argument('--max-whole-ratio', type=float, default=None,
                   help='report a video as failed (and do not write it) when more than this '
                        'share of its frames had to be obfuscated whole')
    p.add_argument('--workers', type=int, default=1, help='worker processes')
    p.add_argument('--overwrite', action='store_true', help='redo finished videos')
    p.add_argument('--strict', action='store_true',
                   help='stop at the first unreadable or failed video')
    p.add_argument('--report', default=None, help='report path (default: see above)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import vidplugins  # noqa: F401
    from vidplugins.privacy.anonymizer import anonymize_dataset
    policy = {k: v for k, v in dict(
        accept_thr=args.accept_thr, unsure_thr=args.unsure_thr, enlarge=args.enlarge,
        person_cue=args.person_cue).items() if v is not None}
    report = anonymize_dataset(
        args.input, args.output, level=args.level, detector=args.detector, method=args.method,
        method_kwargs=args.method_kwargs, carry=args.carry, workers=args.workers,
        max_whole_ratio=args.max_whole_ratio, overwrite=args.overwrite, strict=args.strict,
        report_path=args.report, unsure_action=args.unsure_action,
        person_action=args.person_action, **policy)
    s = report['summary']
    print(json.dumps(s))
    for rel, rec in report['videos'].items():
        if rec['status'] != 'ok':
            print(f'{rec["status"]}: {rel}: {rec.get("error")}', file=sys.stderr)
    return 1 if (s['skipped'] or s['failed']) else 0


if __name__ == '__main__':
    sys.exit(main())
