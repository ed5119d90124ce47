"""Obfuscation throughput on CPU in frames per second, per level and detector, and the filter alone.

    python benchmarks/bench_obfuscation.py [--video V] [--frames 100]

Decodes ``--frames`` frames of a real video (``../shared/data/videos/mmaction2_demo_demo.mp4`` by
default; without it, a generated video of scikit-image's astronaut) and times, in the same run:

- baseline: decode + encode (H.264) with no obfuscation;
- filter alone (every obfuscation method on a fixed face-sized mask, no detection, no I/O);
- per detector: detection only, and decode + detect + policy + obfuscate + encode.

Prints frames/s and, for each line, the ratio to the baseline (< 1: slower than plain re-encoding).

``--resolutions`` (issue 15) then compares, in the same run, the face level before (BlazeFace
short + full range on the whole frame, no person cue, no carry: the defaults until issue 15) and
after (the current defaults: tiles, two detector families, head cue, carry 2) at 1080p and 4K,
and the issue-15 default before its speed work (every tile run, one thread, families one after
the other): frames/s (wall) and CPU seconds per frame of detection + policy + obfuscation, and
recall on the shared annotated faces (``../shared/data/faces_annotated``; without it,
scikit-image's astronaut at 160 px, whose face box is the one mediapipe finds at full size) in two
frames: ``canvas``, the photos side by side at their own size on a grey frame (mostly flat), and
``filled``, the photos repeated side by side until the frame is full (every tile textured: the
cost on real footage).
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
    p.add_argument('--resolutions', action='store_true',
                   help='also time and measure recall before/after issue 15 at 1080p and 4K')
    p.add_argument('--only-resolutions', action='store_true')
    args = p.parse_args()
    if args.resolutions or args.only_resolutions:
        before_after()
        if args.only_resolutions:
            return
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


#: The face level's defaults before issue 15 (one family, whole frame only, no cue, no carry).
BEFORE = dict(detector=dict(type='MediaPipeFaceDetector', model_selection='both', min_score=0.1),
              unsure_action='frame', person_cue=False)


def annotated_items():
    """``[(image, boxes), ...]``: the shared annotated photos (or the astronaut at 160 px)."""
    from vidplugins.privacy.recall import load_images_with_boxes
    gt = osp.join(osp.dirname(REPO), 'shared', 'data', 'faces_annotated', 'faces.xml')
    if osp.isfile(gt):
        return [(img, b) for _, img, b in load_images_with_boxes(gt)]
    import cv2
    from skimage import data
    face = build_detector(dict(type='MediaPipeFaceDetector'))(data.astronaut())
    return [(cv2.resize(data.astronaut(), (160, 160)), face.boxes * 160 / 512)]


def annotated_frames(size, repeat=2, filled=False):
    """``repeat`` copies of one ``size = (W, H)`` frame holding the annotated photos side by side
    at their own size (``filled``: repeated, no gap, until no further copy fits), and their
    boxes."""
    from vidplugins.privacy.recall import place_all_in_canvas
    items = annotated_items()
    if not filled:
        return [place_all_in_canvas(items, size)] * repeat
    k = 1
    while True:
        try:
            place_all_in_canvas(items * (k + 1), size, gap=0)
        except ValueError:
            break
        k += 1
    return [place_all_in_canvas(items * k, size, gap=0)] * repeat


def unsped_default():
    """The face default before its speed work: every tile run (no flat-tile skip), one thread,
    the two families one after the other; the rest as the current default."""
    import copy

    from vidplugins.privacy.anonymizer import LEVEL_DEFAULTS
    d = LEVEL_DEFAULTS['face']
    det = copy.deepcopy(d['detector'])
    det['parallel'] = False
    det['detectors'][0]['detectors'][0].update(flat_range=0, workers=1)
    return dict(detector=det, **{k: d[k] for k in ('unsure_action', 'person_cue', 'person_thr',
                                                   'head_fraction')})


def before_after():
    from vidplugins.privacy.recall import evaluate_regions
    configs = {'before (whole frame, 1 family)': BEFORE,
               'unsped (all tiles, 1 thread)': unsped_default(),
               'after (flat tiles skipped, 2 threads)': {}}
    for size in ((1920, 1080), (3840, 2160)):
        for kind in ('canvas', 'filled'):
            frames, boxes = zip(*annotated_frames(size, filled=kind == 'filled'))
            fps = {}
            for name, cfg in configs.items():
                anon = FrameAnonymizer(level='face', **cfg)
                anon.decide(frames[0])  # build the models
                t0, c0 = time.perf_counter(), time.process_time()
                # detection + policy + obfuscation of every frame; carry 0: each frame is
                # another photo (carry costs nothing next to detection)
                results = [anon.decide(f, i) for i, f in enumerate(frames)]
                for f, r in zip(frames, results):
                    anon.apply(f, r.region, r.whole)
                fps[name] = len(frames) / (time.perf_counter() - t0)
                cpu = (time.process_time() - c0) / len(frames)
                # recall of the same decisions, measured outside the timed part
                rep = evaluate_regions([r.region for r in results], boxes,
                                       [r.whole for r in results])
                print(f'{size[0]}x{size[1]} {kind:6s} {name:38s} {fps[name]:7.3f} fps '
                      f'{cpu:6.2f} CPU s/frame  recall (per frame) {rep["covered"]}/'
                      f'{rep["faces"]}  outside/face area (median) {rep["outside_median"]:.2f}  '
                      f'whole frames {rep["whole_frames"]}', flush=True)
            b, u, a = fps.values()
            print(f'{size[0]}x{size[1]} {kind:6s} after/before frames/s ratio: {a / b:.3f}  '
                  f'after/unsped: {a / u:.2f}', flush=True)


if __name__ == '__main__':
    main()
