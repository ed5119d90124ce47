"""Build Art2Real's memory banks of real patches (thesis App. A.1, "Patch memory banks").

    python tools/art2real/build_banks.py PHOTOS OUT [--scales 4:4,8:5,16:6] [--threshold 0.2]
        [--segmenter labelmap|mmdet|mmseg|prototype|background] [--label-dir DIR]
        [--label-suffix _labels.png] [--seg-config C --seg-checkpoint K] [--strict]

PHOTOS is a folder (searched recursively) or an image. Each photo is segmented, cut into patches
per scale (SIZE:STRIDE) and each patch stored in the bank of every class covering >= threshold of
its pixels (class 0: background). OUT gets, per scale, ``class<c>.bin`` (raw float32 rows in
[-1, 1]), ``class<c>_mean.npy`` and ``class<c>.index`` (faiss), and ``meta.json``. Rerunning
after an interruption resumes (photos and indexes already done are not redone). Unreadable or too
small photos are skipped, counted and listed in meta.json (``--strict``: stop at the first).
Exit status: 0 when every photo was used, 1 when some were skipped, 2 on bad usage.
"""
import argparse
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Build Art2Real patch memory banks.')
    p.add_argument('photos', help='folder of real photos (or one image)')
    p.add_argument('out', help='output folder of the banks')
    p.add_argument('--scales', default='4:4,8:5,16:6', help='SIZE:STRIDE,... (thesis default)')
    p.add_argument('--threshold', type=float, default=0.2,
                   help='min fraction of a patch in a class to enter its bank (thesis: 0.2)')
    p.add_argument('--segmenter', default='labelmap',
                   choices=['labelmap', 'mmdet', 'mmseg', 'prototype', 'background'])
    p.add_argument('--label-dir', help='labelmap: folder of <photo stem>.png label maps')
    p.add_argument('--label-suffix', default='_labels.png',
                   help='labelmap without --label-dir: <photo stem><suffix> beside each photo')
    p.add_argument('--seg-config', help='mmdet / mmseg model config')
    p.add_argument('--seg-checkpoint', help='mmdet / mmseg checkpoint')
    p.add_argument('--device', default='cpu')
    p.add_argument('--k', type=int, default=5, help='neighbours the loss uses (reports smaller banks)')
    p.add_argument('--index-factory', default=None,
                   help='faiss factory string for banks too large for an exact index, with '
                        'the placeholders {nlist} and {pca} (default PCAR{pca},IVF{nlist},SQ8, '
                        'vidplugins.art2real.banks.BANK_INDEX; exact re-rank from the rows)')
    p.add_argument('--exact-max-mb', type=int, default=256,
                   help='banks up to this size get an exact (flat) index')
    p.add_argument('--strict', action='store_true', help='stop at the first bad photo')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from vidplugins.art2real.banks import BANK_INDEX, build_banks

    seg = dict(type=args.segmenter)
    if args.segmenter == 'labelmap':
        seg.update(label_dir=args.label_dir, suffix=args.label_suffix)
    elif args.segmenter in ('mmdet', 'mmseg'):
        if not (args.seg_config and args.seg_checkpoint):
            print(f'--segmenter {args.segmenter} needs --seg-config and --seg-checkpoint',
                  file=sys.stderr)
            return 2
        seg.update(config=args.seg_config, checkpoint=args.seg_checkpoint, device=args.device)
    elif args.segmenter == 'prototype':
        print('--segmenter prototype is configured from Python (class colours); use '
              'vidplugins.art2real.build_banks(..., segmenter=dict(type="prototype", ...))',
              file=sys.stderr)
        return 2
    try:
        meta = build_banks(args.photos, args.out, scales=args.scales, segmenter=seg,
                           threshold=args.threshold, k=args.k, strict=args.strict,
                           index_factory=args.index_factory or BANK_INDEX,
                           exact_max_bytes=args.exact_max_mb << 20)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for s, banks in meta['banks'].items():
        print(s, ' '.join(f'class{c}:{v["rows"]}' for c, v in sorted(banks.items(),
                                                                       key=lambda x: int(x[0]))))
    print(f'skipped {len(meta["skipped"])} of {meta["images"]} photos')
    return 1 if meta['skipped'] else 0


if __name__ == '__main__':
    sys.exit(main())
