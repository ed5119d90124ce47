"""Spatio-temporal action detection on a video with STAGE trained end to end (STAGERoIHead).

    python demo/stage_video_demo.py VIDEO --det-config DET_CFG --det-checkpoint DET_CKPT \
        --config STAGE_E2E_CFG --checkpoint STAGE_CKPT --out OUT.mp4 [--device cpu] \
        [--label-map mmaction2_ava_label_map.txt] [--det-score-thr 0.5] [--person-class 0] \
        [--action-score-thr 0.5] [--clips-per-batch 3] [--cfg-options ...] [--det-cfg-options ...]

At every whole second of the video (AVA keyframes, 1 s apart) an mmdet detector finds people
(``--person-class``, 0 = person for COCO) and other objects; the STAGE detector
(``configs/stage/stage-e2e_*.py``) classifies the actions of every person from the clip around
the keyframe, with the objects as graph nodes pooled from its own backbone. Consecutive keyframes
are processed together (``--clips-per-batch``) so that STAGE links them in time (Sec. 3.1.3).
Every frame of the output shows the boxes and labels of its nearest keyframe; the output has the
input's frame count, size and frame rate, and is written atomically.
"""
import argparse
import os
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.utils import ProgressBar

import vidplugins  # noqa: F401  (compat fixes, registries)
from mmaction.registry import TRANSFORMS
from vidplugins.stage.ava import read_label_map
from vidplugins.stage.extraction import (ObjectFeatureExtractor, VideoFolder, ava_clip_pipeline,
                                         load_model, whole_seconds)

BOX_COLOUR = (0, 255, 0)      # BGR: people
OBJECT_COLOUR = (255, 128, 0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('video')
    parser.add_argument('--det-config', required=True, help='mmdet detector config')
    parser.add_argument('--det-checkpoint', required=True)
    parser.add_argument('--config', required=True, help='STAGE end-to-end config')
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--out', required=True, help='output video (.mp4)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--label-map', help='"id: name" or .pbtxt AVA label map')
    parser.add_argument('--det-score-thr', type=float, default=0.5)
    parser.add_argument('--person-class', type=int, default=0)
    parser.add_argument('--max-objects', type=int, default=25)
    parser.add_argument('--action-score-thr', type=float, default=0.5)
    parser.add_argument('--max-labels', type=int, default=3, help='labels drawn per person')
    parser.add_argument('--clips-per-batch', type=int, default=3)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--det-cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


class STAGEVideoDetector:
    """The STAGE end-to-end detector on keyframes of one video, given person / object boxes."""

    def __init__(self, config, checkpoint, source, device='cpu', cfg_options=None):
        self.model, cfg = load_model(config, checkpoint, 'mmaction', device, cfg_options)
        steps = [t for t in ava_clip_pipeline(cfg, source.decode, config)
                 if t['type'] != 'LoadAVAObjectBoxes']      # objects come from the detector
        self.pipeline = Compose([TRANSFORMS.build(t) for t in steps])
        self.source = source

    @torch.no_grad()
    def __call__(self, video, keyframes):
        """``keyframes``: list of (timestamp, person boxes (A, 4), object boxes (O, 4)),
        normalised. Returns the (A, C) action scores of each keyframe."""
        packed = []
        for ts, persons, objects in keyframes:
            results = self.source.clip_results(video, ts)
            results.update(gt_bboxes=persons.copy(), gt_labels=np.zeros(len(persons), np.int64),
                           proposals=persons.copy())
            item = self.pipeline(results)
            item['data_samples'].set_metainfo(dict(
                video_id=video['video_id'], timestamp=int(ts),
                object_bboxes=np.asarray(objects, np.float32).reshape(-1, 4)))
            packed.append(item)
        data = self.model.data_preprocessor(pseudo_collate(packed), False)
        out = self.model(data['inputs'], data['data_samples'], mode='predict')
        return [ds.pred_instances.scores.cpu().numpy() for ds in out]


def draw(frame, persons, scores, objects, labels, thr, max_labels):
    """Boxes (normalised) and the labels of the actions scored >= thr, best first."""
    h, w = frame.shape[:2]
    scale = np.array([w, h, w, h], np.float32)
    for box in objects:
        x1, y1, x2, y2 = (box * scale).astype(int)
        cv2.rectangle(frame, (x1, y1), (x2, y2), OBJECT_COLOUR, 1)
    for box, score in zip(persons, scores):
        x1, y1, x2, y2 = (box * scale).astype(int)
        cv2.rectangle(frame, (x1, y1), (x2, y2), BOX_COLOUR, 2)
        order = [c for c in np.argsort(-score) if c > 0 and score[c] >= thr][:max_labels]
        for k, c in enumerate(order):
            text = f'{labels.get(int(c), f"class {c}")} {score[c]:.2f}'
            y = y1 + 12 * (k + 1)
            cv2.putText(frame, text, (x1 + 2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        (255, 255, 255), 1, cv2.LINE_AA)
    return frame


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    if not osp.isfile(args.video):
        raise SystemExit(f'{args.video}: video not found')
    video_id, ext = osp.splitext(osp.basename(args.video))
    source = VideoFolder(osp.dirname(osp.abspath(args.video)), timestamp_start=0)
    if source.path(video_id) != osp.join(source.root, osp.basename(args.video)):
        raise SystemExit(f'{args.video}: unsupported extension {ext!r}')
    video = source.open(video_id)
    labels = read_label_map(args.label_map) if args.label_map else {}
    detector = ObjectFeatureExtractor(args.det_config, args.det_checkpoint, source,
                                      args.det_score_thr, None, args.device,
                                      args.det_cfg_options)
    stage = STAGEVideoDetector(args.config, args.checkpoint, source, args.device,
                               args.cfg_options)

    # 1. People and objects at every keyframe (whole second); 2. actions, block by block.
    keyframes = [ts for _, ts in whole_seconds(source, [video_id])]
    results = {}
    todo = []
    bar = ProgressBar(len(keyframes))
    for ts in keyframes:
        _, boxes, _, cls = detector(video, ts)
        person = cls == args.person_class
        persons, objects = boxes[person], boxes[~person][:args.max_objects]
        results[ts] = (persons, np.zeros((len(persons), 0), np.float32), objects)
        if len(persons):
            todo.append((ts, persons, objects))
        if len(todo) == args.clips_per_batch or (ts == keyframes[-1] and todo):
            for (t, p, o), scores in zip(todo, stage(video, todo)):
                results[t] = (p, scores, o)
            todo = []
        bar.update()

    # 3. Every frame with the boxes of its nearest keyframe, written atomically.
    n, fps = video['num_frames'], video['fps']
    first = video['reader'][0].asnumpy()
    h, w = first.shape[:2]
    folder = osp.dirname(osp.abspath(args.out)) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(args.out) + '.', suffix='.mp4',
                               dir=folder)
    os.close(fd)
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    people = 0
    try:
        stamps = np.array(keyframes if keyframes else [0])
        for i in range(0, n, 32):
            chunk = video['reader'].get_batch(list(range(i, min(n, i + 32)))).asnumpy()
            for j, rgb in enumerate(chunk):
                t = (i + j) / fps
                key = int(stamps[np.argmin(np.abs(stamps - t))])
                frame = np.ascontiguousarray(rgb[..., ::-1])
                if key in results:
                    persons, scores, objects = results[key]
                    frame = draw(frame, persons, scores, objects, labels,
                                 args.action_score_thr, args.max_labels)
                writer.write(frame)
        writer.release()
        os.replace(tmp, args.out)
    except BaseException:
        writer.release()
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    people = sum(len(r[0]) for r in results.values())
    stats = dict(frames=n, keyframes=len(keyframes), people=people,
                 objects=sum(len(r[2]) for r in results.values()),
                 seconds=time.perf_counter() - start)
    print(f'\n{args.out}: {n} frames ({w}x{h}, {fps:.2f} fps), {len(keyframes)} keyframes, '
          f'{people} people, {stats["objects"]} objects; {stats["seconds"]:.1f} s')
    return stats


if __name__ == '__main__':
    main()
