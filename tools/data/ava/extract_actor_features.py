"""Extract STAGE actor features (thesis Sec. 3.2.2) with an mmaction2 AVA detection model.

    python tools/data/ava/extract_actor_features.py CONFIG CHECKPOINT \
        (--video-dir DIR | --frame-dir DIR) --split train|val|test [--ann-file GT.csv] \
        [--proposals DETS.pkl] [--exclude-file EXCL.csv] [--min-score 0] \
        [--timestamp-start 900] [--fps 30] [--shard K/N] --out OUT.h5 [--backbone NAME] \
        [--device cpu] [--cfg-options k=v ...]

CONFIG is any mmaction2 AVA detection config (``FastRCNN`` with an I3D / SlowOnly / SlowFast
backbone), e.g. ``mmaction::detection/slowonly/slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-
20e_ava21-rgb.py``. For every keyframe of the ground-truth csv and / or the proposal file (dict
"video_id,timestamp" -> N x 5 normalised boxes + score, like mmaction2's AVA proposals), the
clip is sampled by the config's ``SampleAVAFrames``, the boxes are RoI-aligned on the backbone
features (replicated in time) and averaged over t, h, w. Ground-truth boxes are written with
score 1.0 and marked ``is_gt``, detections with their score (``vidplugins/stage/feature_io.py``
format). ``--split`` names the split the file is for (stored in it and printed): training
uses the ground-truth boxes (Sec. 3.2.2); at validation / test time ``AVAFeatureDataset``
drops them unless a config asks for the ground-truth-box experiment (``test_boxes=
'ground_truth'``, Sec. 3.3.2), so extracting val features with ``--ann-file`` is safe.
Resumable: keyframes already in OUT are skipped.

``--shard K/N`` (0 <= K < N) extracts a deterministic 1/N of the keyframes (whole videos,
dealt round-robin over the sorted video ids) into OUT: run N jobs with N different OUT files
(e.g. a Slurm array, K = $SLURM_ARRAY_TASK_ID), each resumable on its own, then merge them
with ``tools/data/ava/merge_feature_shards.py OUT SHARD_0.h5 ... SHARD_N-1.h5``.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

import vidplugins  # noqa: F401  (compat fixes, registries)
from vidplugins.stage.extraction import (ActorFeatureExtractor, actor_keyframes, build_source,
                                         parse_shard, run_extraction, shard_keyframes, summary)

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmaction2 AVA detection config')
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('--video-dir', help='videos <video_id>.mp4|mkv|webm|...')
    parser.add_argument('--frame-dir', help='raw frames <video_id>/img_00001.jpg (30 fps)')
    parser.add_argument('--split', required=True, choices=SPLITS,
                        help='split the features are for (stored in OUT); ground-truth boxes '
                        'are marked is_gt and reach val / test predictions only in the '
                        'ground-truth-box experiment')
    parser.add_argument('--ann-file', help='AVA ground-truth csv (boxes written, score 1.0, '
                        'marked is_gt)')
    parser.add_argument('--proposals', help='person detections pkl: "vid,ts" -> (N, 5)')
    parser.add_argument('--exclude-file', help='excluded timestamps csv')
    parser.add_argument('--min-score', type=float, default=0.0,
                        help='keep detections with score >= this (Sec. 3.2.2: any score for '
                        'I3D, 0.9 for the R101 / SlowFast training features)')
    parser.add_argument('--timestamp-start', type=float, default=900,
                        help='AVA second of the first frame (900: mmaction2 15-min cuts; 0: '
                        'whole videos)')
    parser.add_argument('--fps', type=float, default=30, help='frame rate of --frame-dir')
    parser.add_argument('--shard', metavar='K/N',
                        help='extract only shard K of N (0 <= K < N; whole videos, '
                        'deterministic): one OUT per shard, resumable, merged afterwards by '
                        'merge_feature_shards.py')
    parser.add_argument('--out', required=True, help='output .h5 (appended to, resumable)')
    parser.add_argument('--backbone', help='name stored in the file (default: config name)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shard, num_shards = parse_shard(args.shard)
    source = build_source(args.video_dir, args.frame_dir, args.timestamp_start, args.fps)
    boxes = actor_keyframes(args.ann_file, args.proposals, args.exclude_file, args.min_score)
    keys = shard_keyframes(boxes, shard, num_shards)
    n_gt = sum(int(boxes[k][2].sum()) for k in keys)
    print(f'extracting actor features for the {args.split!r} split: {len(keys)} keyframes'
          + (f' (shard {shard}/{num_shards} of {len(boxes)})' if num_shards > 1 else '')
          + f', {n_gt} ground-truth boxes marked is_gt'
          + (" (used at val / test only by test_boxes='ground_truth' configs)"
             if n_gt and args.split != 'train' else ''))
    extractor = ActorFeatureExtractor(args.config, args.checkpoint, source, args.device,
                                      args.cfg_options)
    backbone = args.backbone or osp.splitext(osp.basename(args.config))[0]

    def compute(video, ts):
        b, s, gt = boxes[(video['video_id'], ts)]
        return extractor(video, ts, b), b, s, gt

    stats = run_extraction(args.out, 'actors', backbone, extractor.feat_dim, source,
                           keys, compute, split=args.split)
    print(summary(stats, args.out, 'actors', extractor.feat_dim))


if __name__ == '__main__':
    main()
