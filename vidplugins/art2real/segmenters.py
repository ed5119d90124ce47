"""Pluggable segmenters for the memory banks and the painting masks (thesis App. A.1).

A segmenter maps an RGB image (and its path) to an integer label map ``(H, W)``: 0 is background,
``c > 0`` a semantic class, 255 "ignore" (no bank). The thesis uses Hu et al.'s weakly supervised
model, whose weights are not distributed with any package; users plug in what they have:

* ``labelmap``: label-map PNGs next to the images, the format segmentation datasets ship
  (``photo.jpg`` -> ``photo.png`` in ``label_dir``, or ``photo<suffix>`` beside the image);
* ``mmdet``: an mmdet instance-segmentation config + checkpoint (class ``c`` = label + 1);
* ``mmseg``: an mmseg semantic-segmentation config + checkpoint (needs mmsegmentation installed);
* ``prototype``: nearest RGB prototype per pixel after a box blur (for domains whose classes
  are colour-coded, e.g. the generated demo data);
* ``background``: everything background (one bank per scale).
"""
from __future__ import annotations

import os.path as osp

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ['read_rgb', 'read_label_map', 'build_segmenter', 'LabelMapSegmenter',
           'PrototypeSegmenter', 'BackgroundSegmenter', 'MMDetSegmenter', 'MMSegSegmenter',
           'IMAGE_EXTENSIONS']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
IGNORE = 255


def read_rgb(path: str) -> np.ndarray:
    """Read any image as uint8 RGB ``(H, W, 3)``.

    Grayscale is replicated, CMYK converted by PIL, an alpha channel composited over black
    (transparent pixels are not content). Unreadable files raise ``ValueError`` naming the file.
    """
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ('RGBA', 'LA', 'PA') or (im.mode == 'P' and 'transparency' in im.info):
                im = im.convert('RGBA')
                black = Image.new('RGBA', im.size, (0, 0, 0, 255))
                im = Image.alpha_composite(black, im)
            arr = np.asarray(im.convert('RGB'), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f'{path}: cannot read the image ({e})') from None
    return arr


def read_label_map(path: str, shape=None) -> np.ndarray:
    """Read a label-map PNG (one integer class per pixel, mode L / P / I) as ``(H, W)`` int64."""
    try:
        with Image.open(path) as im:
            if im.mode not in ('L', 'P', 'I', 'I;16'):
                raise ValueError(f'{path}: a label map must be a single-channel PNG of class ids '
                                 f'(mode L, P or I), got mode {im.mode}')
            arr = np.asarray(im).astype(np.int64)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f'{path}: cannot read the label map ({e})') from None
    if shape is not None and arr.shape != tuple(shape[:2]):
        raise ValueError(f'{path}: label map is {arr.shape[1]}x{arr.shape[0]}, the image is '
                         f'{shape[1]}x{shape[0]}')
    return arr


class LabelMapSegmenter:
    """Label maps stored next to the images.

    ``label_dir=None``: ``<image stem><suffix>`` beside the image (default ``photo.jpg`` ->
    ``photo_labels.png``); otherwise ``<label_dir>/<image stem>.png``.
    """

    def __init__(self, label_dir: str | None = None, suffix: str = '_labels.png'):
        self.label_dir, self.suffix = label_dir, suffix

    def label_path(self, image_path: str) -> str:
        stem = osp.splitext(osp.basename(image_path))[0]
        if self.label_dir is not None:
            return osp.join(self.label_dir, stem + '.png')
        return osp.join(osp.dirname(image_path), stem + self.suffix)

    def is_label_file(self, path: str) -> bool:
        return self.label_dir is None and path.endswith(self.suffix)

    def __call__(self, rgb: np.ndarray, path: str | None = None) -> np.ndarray:
        if path is None:
            raise ValueError('LabelMapSegmenter needs the image path to find its label map')
        lp = self.label_path(path)
        if not osp.exists(lp):
            raise FileNotFoundError(f'{path}: no label map at {lp}')
        return read_label_map(lp, rgb.shape)


class PrototypeSegmenter:
    """Nearest RGB prototype per pixel after a ``blur x blur`` box filter.

    ``prototypes``: ``{class_id: (r, g, b)}``; pixels farther than ``max_distance`` from every
    prototype are background.
    """

    def __init__(self, prototypes: dict, blur: int = 5, max_distance: float = 1e9):
        self.ids = np.array([int(k) for k in prototypes], dtype=np.int64)
        self.colors = np.array([prototypes[k] for k in prototypes], dtype=np.float32)
        self.blur, self.max_distance = int(blur), float(max_distance)

    def __call__(self, rgb: np.ndarray, path: str | None = None) -> np.ndarray:
        import cv2
        img = rgb.astype(np.float32)
        if self.blur > 1:
            img = cv2.blur(img, (self.blur, self.blur))
        d = np.linalg.norm(img[:, :, None, :] - self.colors[None, None], axis=-1)
        best = d.argmin(-1)
        labels = self.ids[best]
        labels[d.min(-1) > self.max_distance] = 0
        return labels


class BackgroundSegmenter:
    """Every pixel is background (one bank per scale, no semantics)."""

    def __call__(self, rgb: np.ndarray, path: str | None = None) -> np.ndarray:
        return np.zeros(rgb.shape[:2], dtype=np.int64)


class MMDetSegmenter:
    """An mmdet instance-segmentation model: pixel class = label + 1 of the highest-scoring
    instance covering it (score >= ``score_thr``); uncovered pixels are background."""

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu', score_thr: float = 0.5):
        from mmdet.apis import inference_detector, init_detector
        self._infer = inference_detector
        self.model = init_detector(config, checkpoint, device=device)
        self.score_thr = score_thr

    def __call__(self, rgb: np.ndarray, path: str | None = None) -> np.ndarray:
        result = self._infer(self.model, rgb[:, :, ::-1].copy())  # mmdet expects BGR arrays
        inst = result.pred_instances
        labels = np.zeros(rgb.shape[:2], dtype=np.int64)
        if 'masks' not in inst:
            raise ValueError(f'{path}: the mmdet model returned no masks (not an '
                             'instance-segmentation model)')
        keep = inst.scores.cpu().numpy() >= self.score_thr
        order = np.argsort(inst.scores.cpu().numpy()[keep])   # low first, high painted last
        masks = inst.masks.cpu().numpy()[keep][order]
        cls = inst.labels.cpu().numpy()[keep][order]
        for m, c in zip(masks, cls):
            labels[m.astype(bool)] = int(c) + 1
        return labels


class MMSegSegmenter:
    """An mmseg semantic-segmentation model (class ``c`` = predicted index + 1, so index 0 is not
    confused with background)."""

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu'):
        try:
            from mmseg.apis import inference_model, init_model
        except ImportError as e:
            raise ImportError('the mmseg segmenter needs mmsegmentation (pip install '
                              f'mmsegmentation), which is not installed: {e}') from None
        self._infer = inference_model
        self.model = init_model(config, checkpoint, device=device)

    def __call__(self, rgb: np.ndarray, path: str | None = None) -> np.ndarray:
        result = self._infer(self.model, rgb[:, :, ::-1].copy())
        return result.pred_sem_seg.data[0].cpu().numpy().astype(np.int64) + 1


SEGMENTERS = {
    'labelmap': LabelMapSegmenter,
    'prototype': PrototypeSegmenter,
    'background': BackgroundSegmenter,
    'mmdet': MMDetSegmenter,
    'mmseg': MMSegSegmenter,
}


def build_segmenter(cfg):
    """``dict(type='labelmap', ...)`` (or an already built callable) -> segmenter."""
    if callable(cfg):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop('type')
    if kind not in SEGMENTERS:
        raise KeyError(f'unknown segmenter {kind!r}; choose one of {sorted(SEGMENTERS)}')
    return SEGMENTERS[kind](**cfg)
