"""Merge the shard files of a STAGE feature extraction (``--shard K/N``) into one file.

    python tools/data/ava/merge_feature_shards.py OUT.h5 SHARD_0.h5 SHARD_1.h5 ...

Every shard must come from the same extraction (same kind, backbone, feature size, split and
format version) and hold different keyframes; OUT is written atomically (mode 0644).
"""
import argparse

from vidplugins.stage.feature_io import merge_feature_files


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='merged .h5 to write')
    parser.add_argument('shards', nargs='+', help='the shard files, in any order')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    n = merge_feature_files(args.out, args.shards)
    print(f'{args.out}: {n} keyframes from {len(args.shards)} shard files')


if __name__ == '__main__':
    main()
