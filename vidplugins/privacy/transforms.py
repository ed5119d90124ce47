"""On-the-fly obfuscation in an mmaction2 data pipeline (thesis Sec. 5.1 without a stored copy)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

from .anonymizer import FrameAnonymizer, anonymize_frames

__all__ = ['ObfuscateFrames']


@TRANSFORMS.register_module()
class ObfuscateFrames(BaseTransform):
    """Obfuscate faces or bodies in ``results['imgs']`` right after decoding, with the same
    fail-closed policy as ``tools/anonymize.py`` (:class:`~.anonymizer.FrameAnonymizer`).

    Put it after the decode step (``DecordDecode`` / ``PyAVDecode`` / ``OpenCVDecode``, which give
    RGB frames) and before resizing, so detectors see full-resolution frames::

        dict(type='DecordDecode'),
        dict(type='ObfuscateFrames', level='face'),
        dict(type='Resize', scale=(-1, 128)),

    Required keys: ``imgs`` (list of (H, W, 3) uint8 RGB). Optional: ``frame_inds`` (passed to
    detectors that read per-frame files), ``filename`` (passed to ``detector.reset``).
    Modified keys: ``imgs``. Added keys: ``obfuscation`` (per clip: ``instances``,
    ``whole_frames``, ``whole_reasons``, ``head_fallbacks``).

    Args:
        level: ``'face'`` or ``'body'``. carry: temporal carry in *sampled* frames of the clip.
        keep_original: also keep the untouched frames in ``imgs_original`` (for privileged
            distillation, where the teacher needs x* and the student x of the same clip).
        **kwargs: :class:`~.anonymizer.FrameAnonymizer` arguments (detector, method, thresholds).
    """

    def __init__(self, level: str = 'face', carry: int = 0, keep_original: bool = False,
                 **kwargs):
        self.anonymizer = FrameAnonymizer(level=level, **kwargs)
        self.level, self.carry, self.keep_original = level, int(carry), bool(keep_original)

    def transform(self, results: dict) -> dict:
        if 'imgs' not in results:
            raise KeyError(f"ObfuscateFrames: results has no 'imgs' (keys: {sorted(results)}); "
                           'put it after a decode transform')
        imgs = results['imgs']
        for i, im in enumerate(imgs):
            if not (isinstance(im, np.ndarray) and im.ndim == 3 and im.shape[2] == 3
                    and im.dtype == np.uint8):
                raise ValueError(f'ObfuscateFrames: imgs[{i}] of {results.get("filename")} must be '
                                 f'an (H, W, 3) uint8 RGB frame, got {getattr(im, "shape", None)} '
                                 f'{getattr(im, "dtype", type(im))}')
        self.anonymizer.reset(results.get('filename'))
        inds: Optional[list] = None
        if 'frame_inds' in results:
            inds = [int(v) for v in np.asarray(results['frame_inds']).reshape(-1)]
            if len(inds) != len(imgs):
                inds = None
        out, stats = [], dict(instances=0, whole_frames=0, whole_reasons={}, head_fallbacks=0)
        for frame, res, _ in anonymize_frames(imgs, self.anonymizer, self.carry, inds):
            out.append(frame)
            stats['instances'] += res.instances
            stats['head_fallbacks'] += res.head_fallbacks
            if res.whole:
                stats['whole_frames'] += 1
                stats['whole_reasons'][res.reason] = stats['whole_reasons'].get(res.reason, 0) + 1
        if self.keep_original:
            results['imgs_original'] = list(imgs)
        results['imgs'] = out
        results['obfuscation'] = stats
        return results

    def __repr__(self) -> str:
        a = self.anonymizer
        return (f'{self.__class__.__name__}(level={self.level!r}, method={a.method!r}, '
                f'carry={self.carry}, accept_thr={a.accept_thr}, unsure_thr={a.unsure_thr})')
