"""Obfuscation throughput on CPU in frames per second, per level and detector, and the filter alone.

    python benchmarks/bench_obfuscation.py [--video V] [--frames 100]

Decodes ``--frames`` frames of a real video (``../shared/data/videos/mmaction2_demo_demo.mp4`` by
default; without it, a generated video of scikit-image's astronaut) and times, in the same run:

- baseline: decode + encode (H.264) with no obfuscation;
- filter alone (every obfuscation method on a fixed face-sized mask, no detection, no I/O);
- per detector: detection only, and decode + detect + policy + obfuscate + encode.

Prints frames/s and, for each line, the ratio to the baseline (< 1: slower than plain re-encoding).
"""
import argparse
import os
import os.path as osp
import tempfile
import time

import numpy as np

import vidplugins  # noqa: F401
from vidplugins.privacy.anonymizer import (FrameAnonymizer, VideoWriter, anonymize_frames,
                                           read_frames)
from vidplugins.privacy.detectors import build_detector
from vidplugins.privacy.obfuscation import OBFUSCATIONS, boxes_to_mask, obfuscate

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT = osp.join(osp.dirname(REPO), 'shared', 'data', 'videos', 'mmaction2_demo_demo.mp4')

DETECTORS = {
    'face/MediaPipeFaceDetector': ('face', dict(type='MediaPipeFaceDetector')),
    'face/CascadeFaceDetector': ('face', dict(type='CascadeFaceDetector')),
    'body/SelfieSegmentationBody': ('body', dict(type='SelfieSegmentationBody')),
    'body/HOGPeopleDetector': ('body', dict(type='HOGPeopleDetector')),
}


def generated_frames(n):
    import cv2
    from skimage import data
    img = cv2.resize(data.astronaut(), (320, 320))
    return [np.roll(img, 2 * i, axis=1) for i in range(n)]


def encode(frames, path, fps=25):
    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps, w, h) as wr:
        for f in frames:
            wr.write(f)


def timed(fn, n):
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--video', default=DEFAULT if osp.isfile(DEFAULT) else None)
    p.add_argument('--frames', type=int, default=100)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = args.video
        if src is None:
            src = osp.join(tmp, 'astronaut.mp4')
            encode(generated_frames(args.frames), src)
        frames = [f for _, f in zip(range(args.frames), read_frames(src))]
        n = len(frames)
        h, w = frames[0].shape[:2]
        print(f'video: {src} ({n} frames, {w}x{h}); torch/cv2 on CPU')

        def decode():
            return [f for _, f in zip(range(n), read_frames(src))]

        def baseline():
            encode(decode(), osp.join(tmp, 'base.mp4'))
        decode()  # warm the page cache
        base = timed(baseline, n)
        print(f'{"baseline decode+encode":44s} {base:8.1f} fps   1.00x')
        rows = []
        mask = boxes_to_mask([[w * 0.4, h * 0.2, w * 0.4 + h * 0.25, h * 0.45]], (h, w))
        for m in OBFUSCATIONS:
            obfuscate(frames[0], mask, m)
            rows.append((f'filter alone: {m} (one {int(h * 0.25)} px face)',
                         timed(lambda: [obfuscate(f, mask, m) for f in frames], n)))
        whole = np.ones((h, w), bool)
        rows.append(('filter alone: box, whole frame',
                     timed(lambda: [obfuscate(f, whole, 'box') for f in frames], n)))
        for name, (level, cfg) in DETECTORS.items():
            det = build_detector(cfg)
            det(frames[0])
            rows.append((f'detect only: {name}', timed(lambda: [det(f) for f in frames], n)))
            anon = FrameAnonymizer(cfg, level=level)
            anon.decide(frames[0])

            def full():
                out = osp.join(tmp, 'anon.mp4')
                with VideoWriter(out, 25, w, h) as wr:
                    for f, _, _ in anonymize_frames(decode(), anon, carry=1):
                        wr.write(f)
            rows.append((f'decode+{name}+box+encode', timed(full, n)))
        for label, fps in rows:
            print(f'{label:44s} {fps:8.1f} fps  {fps / base:5.2f}x')
        os.sync()


if __name__ == '__main__':
    main()
