"""Write an anonymised copy of a video or image dataset (thesis Sec. 5.1).

    python tools/anonymize.py INPUT OUTPUT --level face|body [--method box] [--workers 4]
        [--no-audio] [--shard K/N]

INPUT is a video file, an image file, an mmaction2 rawframes folder (<video>/img_00001.jpg ...)
or a folder of any of these; OUTPUT mirrors it (relative paths and file names, the same frame
count, frame rate and duration; each video's audio streams copied unchanged unless --no-audio;
rawframes written back as rawframes, anonymised as one video). Files of other kinds are listed in
the report and counted, not processed. Each output is written to a temporary file (or folder) and
renamed when complete; a rerun skips finished ones (resume) and deletes what a killed run left.
--shard K/N (0 <= K < N) processes only the inputs of shard K, a deterministic split by relative
path: N jobs (e.g. a Slurm array, tools/slurm_anonymize.sh) cover every input exactly once; a run
without --shard afterwards resumes everything and writes the whole report.

The report, OUTPUT/anonymize_report.json (OUTPUT.report.json for one file; with --shard
anonymize_report.shard-K-of-N.json), counts instances, whole-frame obfuscations by reason,
skipped (unreadable or truncated: fewer frames than the container declares) and failed inputs,
and lists unknown files; its path is printed. Exit status: 0 when every input was written or
resumed, 1 when one was skipped or failed, 2 on bad usage (missing INPUT, a folder with no
input, output written with other settings).
"""
import argparse
import json
import signal
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('input', help='a video or image file, a rawframes folder, or a folder of them')
    p.add_argument('output', help='the output file or folder')
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
    p.add_argument('--unsure-action', choices=['frame', 'region'], default=None,
                   help="default: 'region' with the default detectors, else 'frame'")
    p.add_argument('--enlarge', type=float, default=None, help='box enlargement per side')
    p.add_argument('--person-cue', type=json.loads, default=None,
                   help='face level: person detector config as JSON (e.g. \'{"type": '
                        '"SelfieSegmentationBody"}\'); persons without a face get their head '
                        'region obfuscated')
    p.add_argument('--person-action', choices=['head', 'frame'], default='head')
    p.add_argument('--carry', type=int, default=None,
                   help='also obfuscate each frame with the instances of this many neighbours '
                        'on each side (default: 2 with the default detectors, else 0)')
    p.add_argument('--max-whole-ratio', type=float, default=None,
                   help='report a video as failed (and do not write it) when more than this '
                        'share of its frames had to be obfuscated whole')
    p.add_argument('--workers', type=int, default=1, help='worker processes')
    p.add_argument('--overwrite', action='store_true', help='redo finished videos')
    p.add_argument('--strict', action='store_true',
                   help='stop at the first unreadable or failed video')
    p.add_argument('--report', default=None, help='report path (default: see above)')
    p.add_argument('--no-audio', action='store_true',
                   help='drop the audio streams (default: copy them unchanged)')
    p.add_argument('--shard', default=None, metavar='K/N',
                   help='process only shard K of N (0-based), e.g. $SLURM_ARRAY_TASK_ID/N')
    return p.parse_args(argv)


def _exit_on_sigterm(signum, frame):
    # scancel / kill send SIGTERM: unwind, so the video being written deletes its temporary file
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    import vidplugins  # noqa: F401
    from vidplugins.privacy.anonymizer import VideoReadError, anonymize_dataset
    from vidplugins.privacy.inputs import parse_shard
    policy = {k: v for k, v in dict(
        accept_thr=args.accept_thr, unsure_thr=args.unsure_thr, enlarge=args.enlarge,
        person_cue=args.person_cue).items() if v is not None}
    try:
        shard = None if args.shard is None else parse_shard(args.shard)
        report = anonymize_dataset(
            args.input, args.output, level=args.level, detector=args.detector,
            method=args.method, method_kwargs=args.method_kwargs, carry=args.carry,
            workers=args.workers, max_whole_ratio=args.max_whole_ratio,
            overwrite=args.overwrite, strict=args.strict, report_path=args.report,
            unsure_action=args.unsure_action, person_action=args.person_action,
            audio=not args.no_audio, shard=shard, **policy)
    except (FileNotFoundError, ValueError, KeyError, VideoReadError) as e:
        print(f'anonymize: error: {e}', file=sys.stderr)
        return 2
    except RuntimeError as e:  # other settings than the existing output, or --strict
        print(f'anonymize: error: {e}', file=sys.stderr)
        return 2 if 'other settings' in str(e) else 1
    s = report['summary']
    print(json.dumps(s))
    for rel, rec in report['videos'].items():
        if rec['status'] != 'ok':
            print(f'{rec["status"]}: {rel}: {rec.get("error")}', file=sys.stderr)
        elif rec.get('disagreement_frames'):  # a face one detector family missed: look at these
            f = rec['disagreement_frames']
            print(f'check: {rel}: {len(f)} frames where a detector family missed a face it is '
                  f'built to find: {f[:20]}{" ..." if len(f) > 20 else ""}', file=sys.stderr)
    unknown = report['unknown']
    if unknown:
        more = f' (and {len(unknown) - 5} more)' if len(unknown) > 5 else ''
        print(f'{len(unknown)} files of unknown type not processed: '
              f'{", ".join(unknown[:5])}{more}', file=sys.stderr)
    if args.shard is not None and not report['videos']:
        print(f'shard {args.shard}: no input falls in this shard', file=sys.stderr)
    print(f'report: {report["report_path"]}')
    return 1 if (s['skipped'] or s['failed']) else 0


if __name__ == '__main__':
    sys.exit(main())
