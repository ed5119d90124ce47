"""Data pipeline pieces that keep a painting's class mask aligned with the painting.

``LoadClassMask`` reads the label map of the image loaded under ``img_key`` (same file stem,
``mask_dir/<stem>.png``; ``override_dir`` first, which the mask-update hook points at the masks
it recomputed on G(x)). ``ResizeLabelMap`` resizes it with nearest-neighbour interpolation; the
random crop is shared with the images through mmagic's ``TransformBroadcaster`` and the flip is
applied to painting and mask together (one ``Flip`` with both keys); ``PackInputs(data_keys=...)``
puts the mask in the data sample, out of the data preprocessor's image normalisation.
"""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmagic.registry import TRANSFORMS

from .segmenters import read_label_map

__all__ = ['LoadClassMask', 'ResizeLabelMap']


class LoadClassMask(BaseTransform):
    """Load ``results[key]`` ``(H, W)`` uint8 from the label map of ``results[img_key + '_path']``.

    Args:
        mask_dir: folder of ``<image stem>.png`` label maps; default ``<root>/<mask_folder>``
            where ``<root>`` is the folder above the image's (``trainA/x.jpg`` ->
            ``masksA/x.png``), so a config only sets the dataset's ``data_root``.
        override_dir: folder searched first (masks recomputed during training).
    """

    def __init__(self, key: str, img_key: str, mask_dir: str | None = None,
                 mask_folder: str = 'masksA', override_dir: str | None = None):
        self.key, self.img_key = key, img_key
        self.mask_dir, self.mask_folder, self.override_dir = mask_dir, mask_folder, override_dir

    def mask_path(self, image_path: str) -> str:
        stem = osp.splitext(osp.basename(image_path))[0]
        if self.override_dir is not None:
            path = osp.join(self.override_dir, stem + '.png')
            if osp.exists(path):
                return path
        folder = self.mask_dir or osp.join(osp.dirname(osp.dirname(osp.abspath(image_path))),
                                           self.mask_folder)
        return osp.join(folder, stem + '.png')

    def transform(self, results: dict) -> dict:
        image_path = results.get(f'{self.img_key}_path')
        if image_path is None:
            raise KeyError(f'LoadClassMask: no {self.img_key}_path in the results (load the '
                           f'image {self.img_key!r} first)')
        path = self.mask_path(image_path)
        if not osp.exists(path):
            raise FileNotFoundError(f'{image_path}: no class mask at {path}')
        img = results.get(self.img_key)
        labels = read_label_map(path)
        if img is not None and labels.shape != img.shape[:2]:
            raise ValueError(f'{path}: mask is {labels.shape[1]}x{labels.shape[0]}, the image '
                             f'{image_path} is {img.shape[1]}x{img.shape[0]}')
        if labels.max() > 255:
            raise ValueError(f'{path}: class ids must be < 256, found {labels.max()}')
        results[self.key] = labels.astype(np.uint8)
        results[f'{self.key}_path'] = path
        return results


class ResizeLabelMap(BaseTransform):
    """Resize label maps to ``scale`` (w, h) with nearest-neighbour interpolation."""

    def __init__(self, keys, scale):
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        self.scale = tuple(int(v) for v in scale)

    def transform(self, results: dict) -> dict:
        for k in self.keys:
            results[k] = cv2.resize(results[k], self.scale, interpolation=cv2.INTER_NEAREST)
        return results


TRANSFORMS.register_module(module=LoadClassMask)
TRANSFORMS.register_module(module=ResizeLabelMap)
