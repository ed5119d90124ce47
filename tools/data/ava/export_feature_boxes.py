"""Write the actor boxes of a feature file as an mmaction2 proposal pkl.

    python tools/data/ava/export_feature_boxes.py FEATURES --format stage-slowfast \
        --ann-file data/ava/annotations/ava_val_v2.2.csv --out boxes-8x8_val.pkl

The pkl (``{"video_id,timestamp": (N, 5) float32}``, normalised boxes + score, in the file's box
order) feeds ``extract_actor_features.py --proposals``, which then extracts another backbone's
features on exactly these boxes: what averaging two feature sets before STAGE needs (Table 3.3,
``configs/stage/stage_slowfast-nl-8x8-16x8-avg_ava22.py``). ``--ann-file`` gives the split's video
ids, to which the authors' SlowFast release maps its clip numbers (sorted, as
``AVAFeatureDataset`` does).
"""
import argparse

import vidplugins  # noqa: F401  (compat fixes, registries)
from vidplugins.stage.ava import read_ava_ground_truth
from vidplugins.stage.feature_io import (FEATURE_FORMATS, build_reader,
                                         export_boxes_as_proposals)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('features', help='actor feature file (or the authors\' I3D folder)')
    parser.add_argument('--format', default='vidplugins', choices=FEATURE_FORMATS)
    parser.add_argument('--ann-file', help='AVA csv of the split (needed for stage-slowfast)')
    parser.add_argument('--out', required=True, help='proposal pkl to write (atomically)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    videos = None
    if args.format == 'stage-slowfast':
        if not args.ann_file:
            raise SystemExit('--format stage-slowfast needs --ann-file (clip number -> video id)')
        videos = sorted({v for v, _ in read_ava_ground_truth(args.ann_file)})
    reader = build_reader(args.format, 'actors', args.features, video_list=videos)
    n = export_boxes_as_proposals(reader, args.out)
    print(f'{n} keyframes written to {args.out}')


if __name__ == '__main__':
    main()
