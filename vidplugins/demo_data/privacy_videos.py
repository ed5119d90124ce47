"""A small generated video dataset for privacy-preserving action recognition (thesis Ch. 5).

Real mp4 files (H.264 via PyAV) in mmaction2's video-list layout, with the per-frame face boxes
of every video in the ``<video>.boxes.json`` sidecar read by ``BoxFileDetector``
(``{"frames": [[[x1, y1, x2, y2, score], ...], ...]}``) and a face-obfuscated mirror of the
whole set written with ``vidplugins.privacy.obfuscation`` (normalised box filter, Sec. 5.1).

Each clip shows a textured background and an actor: a "body" rectangle that moves, topped by a
"face" patch. The class evidence is planted where the thesis finds it on Kinetics:

- face (strong, privileged): the face carries a class-specific luminance layout (which half is
  bright) of the same mean; the box filter (kernel about twice the face side) wipes it out.
  ``face_informative`` (default 1: every clip) is the probability that a clip's face shows it;
- body (weaker, survives obfuscation): a "posture" stripe pattern on the body (horizontal,
  vertical, diagonal, anti-diagonal; ``body_contrast``) and a drift direction (``speed``
  pixels per frame, with jitter), both of the clip's class with probability
  ``body_reliability`` and of a random class otherwise, so a model that reads the body alone
  tops out near ``body_reliability + (1 - body_reliability) / C``.

Training labels are noisy (``label_noise``: a fraction is replaced by a random other class, as in
web-collected datasets such as Kinetics); test labels are clean. The face always shows the true
class, so a teacher that reads original clips learns the clean face cue and its soft predictions
on the training clips are closer to the true class than the noisy labels: that is the privileged
information KD passes to a student that sees only obfuscated clips, whereas the student trained
on obfuscated clips alone must learn the body cue from the noisy labels.

Layout under ``root``::

    videos/<split>/<cls>_<i>.mp4                   originals (+ .boxes.json sidecars)
    videos_faces/<split>/<cls>_<i>.mp4             face-obfuscated mirror
    <split>_list.txt                               "<split>/<cls>_<i>.mp4 <label>"
    classes.txt, generation.json

    python -m vidplugins.demo_data.privacy_videos data/privacy_demo
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
from typing import Dict

import numpy as np

from ..utils.io import atomic_write, dump_json_atomic

__all__ = ['generate_privacy_videos', 'face_texture', 'write_video', 'DEFAULT_SPLITS']

DEFAULT_SPLITS = {'train': 96, 'test': 48}   # videos per class (the demo validates on nothing)
_DIRECTIONS = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)]


def face_texture(cls: int, size: int) -> np.ndarray:
    """(size, size) float luminance layout in {0, 1} for class ``cls``, mean 0.5 (so a box filter
    wider than the face leaves the same flat patch whatever the class): the bright half of the face
    is 0 top, 1 bottom, 2 left, 3 right, 4 top-left + bottom-right quadrants, 5 the other two
    (``size`` even)."""
    y, x = np.mgrid[:size, :size]
    half = size // 2
    diagonal = (y < half) == (x < half)
    t = [y < half, y >= half, x < half, x >= half, diagonal, ~diagonal][cls % 6]
    return t.astype(np.float32)


def body_texture(cls: int, height: int, width: int, period: int = 4) -> np.ndarray:
    """(height, width) float stripe pattern in {0, 1} for class ``cls`` (the "posture" cue): stripes
    of ``period`` pixels, horizontal, vertical, diagonal, anti-diagonal, then the first two with
    twice the period."""
    y, x = np.mgrid[:height, :width]
    period = period * (2 if cls % 6 >= 4 else 1)
    coord = [y, x, x + y, x - y + 4 * height, y, x][cls % 6]
    return ((coord // (period // 2)) % 2).astype(np.float32)


def rgb_to_yuv420p(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3H/2, W) uint8 planar YUV 4:2:0 as PyAV packs it (H a multiple of
    4, W even), BT.601 limited range (FFmpeg's default for this conversion), chroma averaged over
    2 x 2 pixels."""
    if frame.shape[0] % 4 or frame.shape[1] % 2:
        raise ValueError(f'frame of {frame.shape[:2]} pixels: height must be a multiple of 4 and '
                         f'width even for YUV 4:2:0')
    rgb = frame.astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = y.shape

    def sub(c):
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).reshape(h // 4, w)

    planes = np.concatenate([y, sub(u), sub(v)])
    return np.clip(np.rint(planes), 0, 255).astype(np.uint8)


def write_video(path: str, frames: np.ndarray, fps: int = 16, crf: int = 8) -> None:
    """Writes (T, H, W, 3) uint8 RGB frames as an H.264 mp4 (atomically: temporary file, then
    rename)."""
    import av
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, '.' + osp.basename(path) + '.tmp.mp4')
    with av.open(tmp, 'w') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = 'yuv420p'
        # Bit-identical files for a seed: one x264 thread without macroblock-tree lookahead, and
        # the RGB -> YUV conversion in NumPy. With x264's defaults about 1 video in 6 came out
        # different from run to run (even with one thread), and so did the models trained on them.
        stream.options = {'crf': str(crf), 'preset': 'veryfast',
                          'x264-params': 'threads=1:mbtree=0:rc-lookahead=0'}
        stream.codec_context.thread_count = 1
        for frame in frames:
            yuv = av.VideoFrame.from_ndarray(rgb_to_yuv420p(frame), format='yuv420p')
            for packet in stream.encode(yuv):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def _render(rng: np.random.Generator, cls: int, num_classes: int, size: int, num_frames: int,
            face: int, body_reliability: float, face_informative: float = 1.0,
            speed: float = 1.0, body_contrast: float = 0.0):
    """One clip of true class ``cls``: (T, H, W, 3) uint8 frames and (T, 4) face boxes (the body's
    cues show ``cls`` with probability ``body_reliability``, a random class otherwise)."""
    # Background: a random smooth colour gradient plus mild noise (no class information).
    c0, c1 = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
    ramp = np.linspace(0, 1, size)[None, :, None] if rng.random() < 0.5 \
        else np.linspace(0, 1, size)[:, None, None]
    bg = c0 * (1 - ramp) + c1 * ramp + np.zeros((size, size, 3))
    # Body: a face-wide rectangle under the face; weaker class cue = stripe pattern + drift.
    bw, bh = face + 2, face + 6
    body_cls = cls if rng.random() < body_reliability else int(rng.integers(num_classes))
    direction = _DIRECTIONS[body_cls % len(_DIRECTIONS)]
    speed = speed * rng.uniform(0.8, 1.2)
    span_x, span_y = size - bw - 1, size - (face + bh) - 1
    x0 = rng.uniform(0, span_x)
    y0 = rng.uniform(0, span_y)
    body_col = rng.uniform(30, 225, 3)
    body_img = np.clip(body_col + (body_texture(body_cls, bh, bw)[..., None] - 0.5)
                       * body_contrast, 0, 255)
    face_col = rng.uniform(100, 155, 3)
    # Faces turned away / too small carry no layout (Fig. 5.3: not every video shows a face).
    tex = face_texture(cls, face)[..., None] if rng.random() < face_informative \
        else np.full((face, face, 1), 0.5, np.float32)
    face_img = np.clip(face_col + (tex - 0.5) * 200, 0, 255)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    boxes = np.empty((num_frames, 4), np.float32)
    x, y = x0, y0
    for t in range(num_frames):
        img = bg + rng.normal(0, 4, bg.shape)
        xi, yi = int(round(x)), int(round(y))
        img[yi + face:yi + face + bh, xi:xi + bw] = body_img
        fx = xi + 1
        img[yi:yi + face, fx:fx + face] = face_img
        frames[t] = np.clip(img, 0, 255).astype(np.uint8)
        boxes[t] = (fx, yi, fx + face, yi + face)
        # Drift, bouncing at the borders, with jitter.
        x += direction[0] * speed + rng.normal(0, 0.2)
        y += direction[1] * speed + rng.normal(0, 0.2)
        if not 0 <= x <= span_x:
            x = float(np.clip(x, 0, span_x))
        if not 0 <= y <= span_y:
            y = float(np.clip(y, 0, span_y))
    return frames, boxes


def generate_privacy_videos(root: str, num_classes: int = 4, splits: Dict[str, int] = None,
                            size: int = 32, num_frames: int = 16, face: int = 8,
                            body_reliability: float = 0.8, label_noise: float = 0.4,
                            face_informative: float = 1.0, speed: float = 1.5,
                            body_contrast: float = 100.0, blur_kernel: int = 17,
                            seed: int = 0) -> dict:
    """Writes the dataset (module docstring) and returns its description.

    Args:
        root: output folder (created; existing files are overwritten).
        num_classes: C (<= 6 distinct face textures).
        splits: videos per class per split (default ``DEFAULT_SPLITS``).
        size: frame side in pixels; num_frames: frames per video; face: face side in pixels.
        body_reliability: probability that the body's pattern and drift show the clip's class
            (otherwise a random class's).
        label_noise: fraction of *training* labels replaced by a random other class.
        face_informative: probability that a clip's face shows its class layout (otherwise a
            flat patch).
        speed: body drift in pixels per frame (times a random factor in [0.8, 1.2]).
        body_contrast: luminance contrast of the body's stripe pattern (0: a flat body, the
            drift is then the only body cue).
        blur_kernel: box-filter kernel of the face obfuscation (normalised box filter, Sec. 5.1);
            about twice the face side, so that nothing of the layout survives.
        seed: everything is a function of the seed.
    Returns:
        dict with the roots, list files and label statistics (also in ``generation.json``).
    """
    from vidplugins.privacy.obfuscation import boxes_to_mask, obfuscate
    if not 2 <= num_classes <= 6:
        raise ValueError(f'num_classes must be in [2, 6] (distinct face textures), got '
                         f'{num_classes}')
    splits = dict(DEFAULT_SPLITS if splits is None else splits)
    rng = np.random.default_rng(seed)
    orig_root, obf_root = osp.join(root, 'videos'), osp.join(root, 'videos_faces')
    info = dict(root=root, originals=orig_root, obfuscated=obf_root, num_classes=num_classes,
                size=size, num_frames=num_frames, face=face, body_reliability=body_reliability,
                face_informative=face_informative, speed=speed, body_contrast=body_contrast,
                label_noise=label_noise, blur_kernel=blur_kernel, seed=seed, lists={},
                noisy_labels=0)
    for split, per_class in splits.items():
        lines = []
        for cls in range(num_classes):
            for i in range(per_class):
                rel = f'{split}/{cls}_{i:03d}.mp4'
                frames, boxes = _render(rng, cls, num_classes, size, num_frames, face,
                                        body_reliability, face_informative, speed,
                                        body_contrast)
                write_video(osp.join(orig_root, rel), frames)
                dump_json_atomic(
                    {'frames': [[[*map(float, b), 1.0]] for b in boxes]},
                    osp.join(orig_root, rel + '.boxes.json'))
                hidden = np.stack([obfuscate(f, boxes_to_mask(b[None], f.shape[:2]), 'box',
                                             kernel_size=blur_kernel)
                                   for f, b in zip(frames, boxes)])
                write_video(osp.join(obf_root, rel), hidden)
                label = cls
                if split == 'train' and rng.random() < label_noise:
                    label = int((cls + rng.integers(1, num_classes)) % num_classes)
                    info['noisy_labels'] += 1
                lines.append(f'{rel} {label}')
        list_file = osp.join(root, f'{split}_list.txt')
        with atomic_write(list_file) as f:
            f.write('\n'.join(lines) + '\n')
        info['lists'][split] = list_file
    with atomic_write(osp.join(root, 'classes.txt')) as f:
        f.write('\n'.join(f'class_{c}' for c in range(num_classes)) + '\n')
    dump_json_atomic(info, osp.join(root, 'generation.json'), indent=1)
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, default=4)
    args = parser.parse_args()
    info = generate_privacy_videos(args.root, num_classes=args.num_classes, seed=args.seed)
    print(json.dumps(info, indent=1))


if __name__ == '__main__':
    main()
