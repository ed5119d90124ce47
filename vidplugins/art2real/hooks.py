"""Mask updates during training (thesis App. A.1.2): the paintings' masks are recomputed on the
generated photos G(x) every ``interval`` epochs from ``start_epoch`` on (thesis: every 20 after
epoch 40). The authors' code keeps the paintings' masks fixed; set ``start_epoch`` beyond the last
epoch to do the same.

At the end of epoch e (e = start, start + interval, ...) the hook translates every training
painting with the painting -> photo generator, segments the result, writes the label maps to
``<work_dir>/art2real_masks/epoch_<e>/<stem>.png`` (atomically) and points the pipeline's
``LoadClassMask`` at them. Data loader workers copy the pipeline when they start, so the train
loader must not use persistent workers (checked before training). On resume, the newest mask
folder of an epoch <= the resumed one is used again.
"""
from __future__ import annotations

import os
import os.path as osp
import re

import numpy as np
import torch
from mmengine.hooks import Hook
from mmagic.registry import HOOKS
from mmengine.utils import ProgressBar

from .inference import translate_rgb
from .segmenters import build_segmenter, read_rgb
from .transforms import LoadClassMask

__all__ = ['Art2RealMaskUpdateHook']


def _find_mask_loaders(dataset):
    pipeline = getattr(dataset, 'pipeline', None)
    transforms = getattr(pipeline, 'transforms', []) if pipeline is not None else []
    return [t for t in transforms if isinstance(t, LoadClassMask)]


def _save_png_atomic(path, labels):
    from PIL import Image
    tmp = path + '.tmp.png'
    Image.fromarray(labels.astype(np.uint8)).save(tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Art2RealMaskUpdateHook(Hook):
    """Recompute the paintings' masks on G(x) every ``interval`` epochs from ``start_epoch``.

    Args:
        segmenter: segmenter config (see ``vidplugins.art2real.segmenters``) applied to G(x).
        start_epoch, interval: thesis 40 and 20 (1-based epoch numbers, as mmengine logs them).
    """
    priority = 'LOW'

    def __init__(self, segmenter, start_epoch: int = 40, interval: int = 20):
        self.segmenter_cfg = segmenter
        self.start_epoch, self.interval = int(start_epoch), int(interval)
        self._segmenter = None

    def is_update_epoch(self, epoch: int) -> bool:
        return epoch >= self.start_epoch and (epoch - self.start_epoch) % self.interval == 0

    def _loaders(self, runner):
        loaders = _find_mask_loaders(runner.train_dataloader.dataset)
        if not loaders:
            raise RuntimeError('Art2RealMaskUpdateHook: the train pipeline has no LoadClassMask')
        return loaders

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.num_workers > 0 and getattr(loader, 'persistent_workers', False):
            raise RuntimeError('Art2RealMaskUpdateHook: set persistent_workers=False in the train '
                               'dataloader (workers would keep the old masks)')
        root = osp.join(runner.work_dir, 'art2real_masks')
        if osp.isdir(root):   # resume: reuse the newest masks computed up to this epoch
            done = sorted(int(m.group(1)) for m in (re.fullmatch(r'epoch_(\d+)', d)
                                                   for d in os.listdir(root)) if m)
            done = [e for e in done if e <= runner.epoch]
            if done:
                for t in self._loaders(runner):
                    t.override_dir = osp.join(root, f'epoch_{done[-1]}')
                runner.logger.info(f'Art2Real masks: using those of epoch {done[-1]}')

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1   # runner.epoch is incremented after this hook
        if not self.is_update_epoch(epoch):
            return
        out_dir = self.update_masks(runner, epoch)
        for t in self._loaders(runner):
            t.override_dir = out_dir

    @torch.no_grad()
    def update_masks(self, runner, epoch: int) -> str:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        if self._segmenter is None:
            self._segmenter = build_segmenter(self.segmenter_cfg)
        loader = self._loaders(runner)[0]
        dataset = runner.train_dataloader.dataset
        paths = _painting_paths(dataset, loader.img_key)
        out_dir = osp.join(runner.work_dir, 'art2real_masks', f'epoch_{epoch}')
        os.makedirs(out_dir, exist_ok=True)
        bar = ProgressBar(len(paths))
        for path in paths:
            fake = translate_rgb(model, read_rgb(path), model.photo_domain)
            labels = np.asarray(self._segmenter(fake, path))
            stem = osp.splitext(osp.basename(path))[0]
            _save_png_atomic(osp.join(out_dir, stem + '.png'), labels)
            bar.update()
        runner.logger.info(f'Art2Real masks: recomputed on G(x) for {len(paths)} paintings '
                           f'(epoch {epoch}) -> {out_dir}')
        return out_dir


def _painting_paths(dataset, img_key):
    """Paths of the training images loaded under ``img_key`` (``img_A``: mmagic's
    ``UnpairedImageDataset`` keeps them in ``data_infos_a``; other datasets through
    ``get_data_info``)."""
    if img_key == 'img_A' and hasattr(dataset, 'data_infos_a'):
        paths = [info['path'] for info in dataset.data_infos_a]
    else:
        paths = [dataset.get_data_info(i).get(f'{img_key}_path') for i in range(len(dataset))]
        paths = [p for p in paths if p is not None]
    if not paths:
        raise RuntimeError(f'Art2RealMaskUpdateHook: the training dataset has no {img_key} '
                           'images')
    return sorted(set(paths))


HOOKS.register_module(module=Art2RealMaskUpdateHook)
