"""Style-transfer proxies of real faces (thesis App. A.2.2): every photo of PHOTO_DIR gets the style
of a random painting of PAINTING_DIR; the generation is repeated with another painting while its
loss stays above --max-loss (40 in the thesis), up to --max-tries.

    python tools/personart/stylize.py PHOTO_DIR PAINTING_DIR OUT_DIR --vgg vgg19.pth

Resumable: photos whose output exists are skipped (outputs are written atomically). Each result
is logged as a JSON line (photo, painting, loss, tries) in OUT_DIR/stylize_log.jsonl; the summary
counts done / existing / unreadable / over-threshold photos.
"""
import argparse
import json
import os
import os.path as osp
import zlib

import numpy as np
import torch

from vidplugins.personart.stylize import GatysStylizer, build_vgg19_features

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('photo_dir')
    p.add_argument('painting_dir')
    p.add_argument('out_dir')
    p.add_argument('--vgg', required=True, help='torchvision VGG-19 state dict file')
    p.add_argument('--size', type=int, default=0, help='resize photos to this square size')
    p.add_argument('--style-size', type=int, default=256, help='paintings resized to this size')
    p.add_argument('--steps', type=int, default=300, help='L-BFGS iterations per try')
    p.add_argument('--alpha', type=float, default=0.02, help='content weight')
    p.add_argument('--max-loss', type=float, default=40.0)
    p.add_argument('--max-tries', type=int, default=5)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=0)
    return p.parse_args(argv)


def list_images(folder):
    if not osp.isdir(folder):
        raise SystemExit(f'not a folder: {folder}')
    return sorted(f for f in os.listdir(folder) if f.lower().endswith(IMG_EXTS))


def read(path, size=0):
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        return None
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if size:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(img).permute(2, 0, 1).contiguous().float() / 255


def write(path, img):
    import cv2
    arr = (img.permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    ext = osp.splitext(path)[1] or '.png'
    tmp = path + '.tmp' + ext
    if not cv2.imwrite(tmp, cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write {path}')
    os.replace(tmp, path)
    os.chmod(path, 0o644)


def main(argv=None):
    from mmengine.utils import ProgressBar
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    photos, paintings = list_images(args.photo_dir), list_images(args.painting_dir)
    if not paintings:
        raise SystemExit(f'no paintings in {args.painting_dir}')
    os.makedirs(args.out_dir, exist_ok=True)
    stylizer = GatysStylizer(build_vgg19_features(args.vgg), args.alpha, args.steps)
    counts = dict(done=0, existing=0, unreadable=0, over_threshold=0)
    log = open(osp.join(args.out_dir, 'stylize_log.jsonl'), 'a')
    bar = ProgressBar(len(photos))
    style_cache = {}
    for name in photos:
        out = osp.join(args.out_dir, name)
        if osp.exists(out):
            counts['existing'] += 1
            bar.update()
            continue
        photo = read(osp.join(args.photo_dir, name), args.size)
        if photo is None:
            counts['unreadable'] += 1
            bar.update()
            continue
        # per-photo generator: the same photo gets the same paintings on a resumed run
        rng = np.random.default_rng([args.seed, zlib.crc32(name.encode())])
        order = rng.permutation(len(paintings))[:args.max_tries]
        best = None
        for tries, k in enumerate(order, start=1):
            pname = paintings[k]
            if pname not in style_cache:
                style_cache[pname] = read(osp.join(args.painting_dir, pname), args.style_size)
            painting = style_cache[pname]
            if painting is None:
                continue
            img, loss = stylizer(photo, painting)
            if best is None or loss < best[1]:
                best = (img, loss, pname)
            if loss <= args.max_loss:
                break
        if best is None:
            counts['unreadable'] += 1
            bar.update()
            continue
        if best[1] > args.max_loss:
            counts['over_threshold'] += 1
        write(out, best[0])
        log.write(json.dumps(dict(photo=name, painting=best[2], loss=round(best[1], 4),
                                  tries=tries)) + '\n')
        log.flush()
        counts['done'] += 1
        bar.update()
    log.close()
    print(f'\nstylized {counts["done"]}, already present {counts["existing"]}, '
          f'unreadable {counts["unreadable"]}, kept over the loss threshold '
          f'{counts["over_threshold"]} (of {len(photos)} photos)')
    return counts


if __name__ == '__main__':
    main()
