"""Translate paintings to photos (or back) with a trained Art2Real / CycleGAN checkpoint.

    python tools/art2real/translate.py CONFIG CHECKPOINT INPUT OUTPUT [--to photo|painting]
        [--size S] [--grid] [--device cpu|cuda]

INPUT is an image or a folder (recursive); OUTPUT is the translated image (for one image) or a
folder mirroring INPUT's relative paths (png). ``--grid`` also writes OUTPUT's ``grid.png``
(one row per image: input | translation; one file next to OUTPUT for a single image).
``--size S`` resizes the shorter side to S first (the thesis trains at 256x256). Unreadable
images are skipped, counted and named. Exit status: 0 all translated, 1 some skipped, 2 bad usage.
The contextual loss is not built (its banks are not needed to translate).
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Art2Real translation')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('input', help='image or folder')
    p.add_argument('output', help='image (one input) or folder')
    p.add_argument('--to', default=None, help='target domain (default: the photo domain)')
    p.add_argument('--size', type=int, default=None, help='resize the shorter side first')
    p.add_argument('--grid', action='store_true', help='write an input | output grid too')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def build_model(config, checkpoint, device='cpu'):
    import vidplugins.art2real  # noqa: F401  (registers the model)
    from mmagic.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    model_cfg = cfg.model
    if 'contextual_loss' in model_cfg:
        model_cfg.contextual_loss = None
    model = MODELS.build(model_cfg)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def save_png(path, arr):
    from PIL import Image
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp.png'
    Image.fromarray(arr).save(tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def resize_short(rgb, size):
    from PIL import Image
    h, w = rgb.shape[:2]
    s = size / min(h, w)
    return np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))),
                                                  Image.BICUBIC))


def grid(pairs, cell=256):
    from PIL import Image
    rows = []
    for a, b in pairs:
        ims = [np.asarray(Image.fromarray(x).resize((cell, cell), Image.BICUBIC)) for x in (a, b)]
        rows.append(np.concatenate(ims, 1))
    return np.concatenate(rows, 0)


def main(argv=None):
    args = parse_args(argv)
    from vidplugins.art2real.banks import list_images
    from vidplugins.art2real.inference import translate_rgb
    from vidplugins.art2real.segmenters import read_rgb
    if not osp.exists(args.input):
        print(f'error: {args.input}: no such file or folder', file=sys.stderr)
        return 2
    single = osp.isfile(args.input)
    inputs = [args.input] if single else list_images(args.input)
    if not inputs:
        print(f'error: {args.input}: no images', file=sys.stderr)
        return 2
    model = build_model(args.config, args.checkpoint, args.device)
    target = args.to or model.photo_domain
    skipped, pairs = [], []
    for path in inputs:
        try:
            rgb = read_rgb(path)
        except ValueError as e:
            skipped.append(str(e))
            print(f'skipped: {e}', file=sys.stderr)
            continue
        if args.size:
            rgb = resize_short(rgb, args.size)
        out = translate_rgb(model, rgb, target)
        if single:
            dest = args.output
        else:
            rel = osp.splitext(osp.relpath(path, args.input))[0] + '.png'
            dest = osp.join(args.output, rel)
        save_png(dest, out)
        pairs.append((rgb, out))
    if args.grid and pairs:
        gpath = (osp.splitext(args.output)[0] + '_grid.png') if single else \
            osp.join(args.output, 'grid.png')
        save_png(gpath, grid(pairs))
        print(f'grid: {gpath}')
    print(f'translated {len(pairs)} image(s) to {target}; skipped {len(skipped)}')
    return 1 if skipped else 0


if __name__ == '__main__':
    sys.exit(main())
