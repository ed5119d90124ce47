"""Anonymise every shared real video with the default face level and audit every frame of the
output with the independent auditor (issue 15 "done when": 0 residual faces at every frame).

    python benchmarks/audit_shared_videos.py [--videos ../shared/data/videos] [--out DIR]
        [--stride 1] [--level face]

Prints, per video: frames, instances, head fallbacks, whole frames, disagreement frames, seconds per
frame of anonymisation, and the auditor's faces on the input (every ``--input-stride``-th frame: the
auditor sees the faces it has to find) and on the output (every ``--stride``-th frame, with the
frames where it found one). The exit status is 1 when any output frame shows a face to the auditor.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT = osp.join(osp.dirname(REPO), 'shared', 'data', 'videos')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--videos', default=DEFAULT)
    p.add_argument('--out', default=None, help='keep the anonymised videos here')
    p.add_argument('--stride', type=int, default=1, help='audit every N-th frame')
    p.add_argument('--level', default='face', choices=['face', 'body'])
    p.add_argument('--input-stride', type=int, default=5,
                   help='audit every N-th frame of the input (0: skip the input audit)')
    args = p.parse_args(argv)
    if not osp.isdir(args.videos):
        print(f'no shared videos at {args.videos}: nothing to do')
        return 0
    from vidplugins.privacy.anonymizer import (LEVEL_DEFAULTS, FrameAnonymizer, anonymize_video,
                                               list_videos)
    from vidplugins.privacy.audit import audit_video
    from vidplugins.privacy.detectors import build_detector
    from vidplugins.privacy.audit import AUDIT_DETECTORS
    auditor = build_detector(AUDIT_DETECTORS['face'])
    anon = FrameAnonymizer(level=args.level)
    carry = LEVEL_DEFAULTS[args.level]['carry']
    out_dir = args.out or tempfile.mkdtemp(prefix='anon_')
    bad = 0
    for rel in list_videos(args.videos):
        src, dst = osp.join(args.videos, rel), osp.join(out_dir, rel)
        t0 = time.perf_counter()
        rec = anonymize_video(src, dst, anon, carry)
        spf = (time.perf_counter() - t0) / max(rec['frames'], 1)
        before = None if not args.input_stride else audit_video(src, auditor, False,
                                                                args.input_stride)
        after = audit_video(dst, auditor, False, args.stride, keep_boxes=True)
        bad += after['faces']
        print(f'{rel}: frames={rec["frames"]} instances={rec["instances"]} '
              f'head_fallbacks={rec["head_fallbacks"]} whole_frames={rec["whole_frames"]} '
              f'disagreement_frames={rec.get("disagreement_frames", [])} '
              f'one_family_frames={rec.get("one_family_frames", 0)} '
              f'anonymise_s_per_frame={spf:.2f} | auditor: input faces='
              f'{"-" if before is None else before["faces"]} in '
              f'{"-" if before is None else before["frames_with_faces"]} of '
              f'{"-" if before is None else before["frames"]} frames; output faces='
              f'{after["faces"]} in frames {sorted(after["face_boxes"])} of {after["frames"]}',
              flush=True)
    print(f'residual faces in all outputs: {bad}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
