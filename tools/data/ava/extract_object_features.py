"""Extract STAGE object features (thesis Sec. 3.2.2) with a two-stage mmdet detector.

    python tools/data/ava/extract_object_features.py DET_CONFIG DET_CHECKPOINT \
        (--video-dir DIR | --frame-dir DIR) (--ann-file GT.csv | --proposals DETS.pkl |
        --all-seconds) [--split train|val|test] [--score-thr 0.2] [--max-objects 25] \
        [--timestamp-start 900] [--shard K/N] --out OUT.h5 [--backbone NAME] [--device cpu] \
        [--cfg-options k=v ...]

DET_CONFIG is a two-stage detector, e.g. ``mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py``
(a ResNet-C4 shared head gives 2048-d RoI features after res5 and average pooling, the size of the
thesis's Visual Genome Faster R-CNN). The keyframes are those of the csv / proposal file (AVA
timestamps in seconds), or every whole second of each video with ``--all-seconds``. For each
keyframe image the detector's final detections (score >= --score-thr, at most --max-objects) are
written with their features, normalised boxes, scores and class labels. Resumable.

``--shard K/N`` (0 <= K < N) extracts a deterministic 1/N of the keyframes (whole videos,
dealt round-robin over the sorted video ids) into OUT: run N jobs with N different OUT files
(e.g. a Slurm array, K = $SLURM_ARRAY_TASK_ID), each resumable on its own, then merge them
with ``tools/data/ava/merge_feature_shards.py OUT SHARD_0.h5 ... SHARD_N-1.h5``.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

import vidplugins  # noqa: F401  (compat fixes, registries)
from vidplugins.stage.extraction import (ObjectFeatureExtractor, actor_keyframes, build_source,
                                         parse_shard, run_extraction, shard_keyframes, summary,
                                         whole_seconds)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmdet two-stage detector config')
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('--video-dir', help='videos <video_id>.mp4|mkv|webm|...')
    parser.add_argument('--frame-dir', help='raw frames <video_id>/img_00001.jpg (30 fps)')
    parser.add_argument('--ann-file', help='AVA csv whose keyframes are processed')
    parser.add_argument('--proposals', help='proposal pkl whose keyframes are processed')
    parser.add_argument('--exclude-file', help='excluded timestamps csv')
    parser.add_argument('--all-seconds', action='store_true',
                        help='every whole second of every video of the folder')
    parser.add_argument('--score-thr', type=float, default=0.2)
    parser.add_argument('--max-objects', type=int, default=None)
    parser.add_argument('--timestamp-start', type=float, default=900)
    parser.add_argument('--fps', type=float, default=30, help='frame rate of --frame-dir')
    parser.add_argument('--split', choices=('train', 'val', 'test'),
                        help='split the features are for (stored in OUT)')
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
    keys = set()
    if args.ann_file or args.proposals:
        keys |= set(actor_keyframes(args.ann_file, args.proposals, args.exclude_file))
    if args.all_seconds:
        keys |= set(whole_seconds(source, source.video_ids()))
    if not keys:
        raise SystemExit('no keyframe: give --ann-file, --proposals or --all-seconds')
    total = len(keys)
    keys = shard_keyframes(keys, shard, num_shards)
    print(f'extracting object features' + (f' for the {args.split!r} split' if args.split else '')
          + f': {len(keys)} keyframes' + (f' (shard {shard}/{num_shards} of {total})'
                                          if num_shards > 1 else ''))
    extractor = ObjectFeatureExtractor(args.config, args.checkpoint, source, args.score_thr,
                                       args.max_objects, args.device, args.cfg_options)
    backbone = args.backbone or osp.splitext(osp.basename(args.config))[0]
    stats = run_extraction(args.out, 'objects', backbone, extractor.feat_dim, source,
                           keys, extractor, split=args.split)
    print(summary(stats, args.out, 'objects', extractor.feat_dim))


if __name__ == '__main__':
    main()
