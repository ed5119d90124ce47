"""Extract STAGE actor features (thesis Sec. 3.2.2) with an mmaction2 AVA detection model.

    python tools/data/ava/extract_actor_features.py CONFIG CHECKPOINT \
        (--video-dir DIR | --frame-dir DIR) [--ann-file GT.csv] [--proposals DETS.pkl] \
        [--exclude-file EXCL.csv] [--min-score 0] [--timestamp-start 900] [--fps 30] \
        --out OUT.h5 [--backbone NAME] [--device cpu] [--cfg-options k=v ...]

CONFIG is any mmaction2 AVA detection config (``FastRCNN`` with an I3D / SlowOnly / SlowFast
backbone), e.g. ``mmaction::detection/slowonly/slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-
20e_ava21-rgb.py``. For every keyframe of the ground-truth csv and / or the proposal file (dict
"video_id,timestamp" -> N x 5 normalised boxes + score, like mmaction2's AVA proposals), the
clip is sampled by the config's ``SampleAVAFrames``, the boxes are RoI-aligned on the backbone
features (replicated in time) and averaged over t, h, w. Ground-truth boxes are written with
score 1.0, detections with their score (``vidplugins/stage/feature_io.py`` format). Resumable:
keyframes already in OUT are skipped.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

import vidplugins  # noqa: F401  (compat fixes, registries)
from vidplugins.stage.extraction import (ActorFeatureExtractor, actor_keyframes, build_source,
                                         run_extraction, summary)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmaction2 AVA detection config')
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('--video-dir', help='videos <video_id>.mp4|mkv|webm|...')
    parser.add_argument('--frame-dir', help='raw frames <video_id>/img_00001.jpg (30 fps)')
    parser.add_argument('--ann-file', help='AVA ground-truth csv (boxes written, score 1.0)')
    parser.add_argument('--proposals', help='person detections pkl: "vid,ts" -> (N, 5)')
    parser.add_argument('--exclude-file', help='excluded timestamps csv')
    parser.add_argument('--min-score', type=float, default=0.0,
                        help='keep detections with score >= this (Sec. 3.2.2: any score for '
                        'I3D, 0.9 for the R101 / SlowFast training features)')
    parser.add_argument('--timestamp-start', type=float, default=900,
                        help='AVA second of the first frame (900: mmaction2 15-min cuts; 0: '
                        'whole videos)')
    parser.add_argument('--fps', type=float, default=30, help='frame rate of --frame-dir')
    parser.add_argument('--out', required=True, help='output .h5 (appended to, resumable)')
    parser.add_argument('--backbone', help='name stored in the file (default: config name)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def main():
    args = parse_args()
    source = build_source(args.video_dir, args.frame_dir, args.timestamp_start, args.fps)
    boxes = actor_keyframes(args.ann_file, args.proposals, args.exclude_file, args.min_score)
    extractor = ActorFeatureExtractor(args.config, args.checkpoint, source, args.device,
                                      args.cfg_options)
    backbone = args.backbone or osp.splitext(osp.basename(args.config))[0]

    def compute(video, ts):
        b, s = boxes[(video['video_id'], ts)]
        return extractor(video, ts, b), b, s

    stats = run_extraction(args.out, 'actors', backbone, extractor.feat_dim, source,
                           list(boxes), compute)
    print(summary(stats, args.out, 'actors', extractor.feat_dim))


if __name__ == '__main__':
    main()
