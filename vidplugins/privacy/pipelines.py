"""Paired loading, augmentation and packing (thesis Sec. 5.2: x and x* are the same clip before
and after anonymisation, so teacher and student must see the same frames and the same crop).

How the pairing survives augmentation: ``PairedDecode`` decodes the obfuscated and the original
video at the *same* frame indices (chosen once by mmaction2's ``SampleFrames``) and stacks them
into one frame list ``[x_1..x_N, x*_1..x*_N]``. mmaction2's spatial transforms (``Resize``,
``RandomCrop``, ``RandomResizedCrop``, ``MultiScaleCrop``, ``Flip``, ``CenterCrop``) draw their
random parameters once per results dict and apply them to every frame in the list, so both halves
get identical geometry. ``PackPairedInputs`` splits the list back, formats each half like
``FormatShape`` and packs ``inputs`` of shape (2V, C, T, H, W): the V obfuscated views first (the
student's), then the V original views (the privileged teacher's). Photometric transforms that
draw per-frame parameters must not be placed between the two (none of the configs here uses one).
"""
from __future__ import annotations

import copy

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.datasets.transforms import DecordInit, FormatShape, PackActionInputs
from mmaction.registry import TRANSFORMS

__all__ = ['LoadPairedVideo', 'PairedDecode', 'PackPairedInputs']


def _open(reader: DecordInit, filename: str, key: str):
    try:
        container = reader._get_video_reader(filename)
        n = len(container)
    except Exception as exc:  # decord raises its own error types, naming neither file nor key
        raise RuntimeError(f'{key}: cannot read video {filename!r} ({type(exc).__name__}: '
                           f'{exc})') from exc
    if n <= 0:
        raise RuntimeError(f'{key}: video {filename!r} has no frames')
    return container, n


@TRANSFORMS.register_module()
class LoadPairedVideo(BaseTransform):
    """Opens the obfuscated clip (``obfuscated_filename``) and its original (``filename``) with
    decord and checks that they have the same number of frames.

    Required keys: ``filename``, ``obfuscated_filename`` (set by ``PairedVideoDataset``).
    Added keys: ``video_reader`` (original), ``obfuscated_reader``, ``total_frames``, ``avg_fps``.

    Raises:
        KeyError: no ``obfuscated_filename`` (the sample was not built by a paired dataset).
        RuntimeError: an unreadable or empty video, or frame counts that differ (the pair was not
            produced by a frame-preserving anonymiser), naming both files.
    """

    def __init__(self, io_backend: str = 'disk', num_threads: int = 1, **kwargs):
        self.reader = DecordInit(io_backend=io_backend, num_threads=num_threads, **kwargs)

    def transform(self, results: dict) -> dict:
        if 'obfuscated_filename' not in results:
            raise KeyError(f'LoadPairedVideo: sample {results.get("filename")!r} has no '
                           '"obfuscated_filename"; build it with PairedVideoDataset')
        orig, n_orig = _open(self.reader, results['filename'], 'filename')
        obf, n_obf = _open(self.reader, results['obfuscated_filename'], 'obfuscated_filename')
        if n_orig != n_obf:
            raise RuntimeError(
                f'paired videos differ in length: {results["filename"]!r} has {n_orig} frames, '
                f'{results["obfuscated_filename"]!r} has {n_obf}')
        results['video_reader'] = orig
        results['obfuscated_reader'] = obf
        results['total_frames'] = n_orig
        results['avg_fps'] = orig.get_avg_fps()
        return results


@TRANSFORMS.register_module()
class PairedDecode(BaseTransform):
    """Decodes both videos at the same ``frame_inds``; ``imgs`` becomes the list
    ``[obfuscated frames (N), original frames (N)]`` of (H, W, 3) uint8 RGB arrays and
    ``paired_len`` = N.

    Required keys: ``video_reader``, ``obfuscated_reader``, ``frame_inds``.
    Added keys: ``imgs``, ``paired_len``, ``original_shape``, ``img_shape``.
    """

    def transform(self, results: dict) -> dict:
        inds = np.squeeze(results['frame_inds']) if results['frame_inds'].ndim != 1 \
            else results['frame_inds']
        halves = []
        for key, name in (('obfuscated_reader', 'obfuscated_filename'),
                          ('video_reader', 'filename')):
            try:
                frames = list(results[key].get_batch(inds).asnumpy())
            except Exception as exc:
                raise RuntimeError(f'{name}: cannot decode frames {inds.tolist()} of '
                                   f'{results[name]!r} ({type(exc).__name__}: {exc})') from exc
            halves.append(frames)
            results[key] = None
        if halves[0][0].shape != halves[1][0].shape:
            raise RuntimeError(
                f'paired videos differ in frame size: {results["obfuscated_filename"]!r} '
                f'{halves[0][0].shape} vs {results["filename"]!r} {halves[1][0].shape}')
        results['frame_inds'] = inds
        results['imgs'] = halves[0] + halves[1]
        results['paired_len'] = len(halves[0])
        results['original_shape'] = results['img_shape'] = halves[0][0].shape[:2]
        return results


@TRANSFORMS.register_module()
class PackPairedInputs(PackActionInputs):
    """Splits the paired frame list, formats each half as ``FormatShape(input_format)`` would and
    packs ``inputs`` (2V, C, T, H, W) = [obfuscated views (V), original views (V)].

    The data sample's metainfo gets ``paired_views`` = V (``PrivilegedDistiller`` refuses a batch
    without it) and the two file names.

    Args:
        input_format: ``FormatShape`` format (``'NCTHW'`` for 3D CNNs).
        meta_keys: as ``PackActionInputs``; ``filename``, ``obfuscated_filename`` and
            ``paired_views`` are always added.
    """

    def __init__(self, input_format: str = 'NCTHW',
                 meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp'), **kwargs):
        meta_keys = tuple(meta_keys) + ('filename', 'obfuscated_filename', 'paired_views')
        super().__init__(meta_keys=meta_keys, **kwargs)
        self.format_shape = FormatShape(input_format)

    def transform(self, results: dict) -> dict:
        if 'paired_len' not in results:
            raise KeyError(f'PackPairedInputs: sample {results.get("filename")!r} is not paired '
                           '(no "paired_len"; decode it with PairedDecode)')
        n = results['paired_len']
        imgs = results['imgs']
        if len(imgs) != 2 * n:
            raise RuntimeError(f'PackPairedInputs: expected 2 x {n} frames for '
                               f'{results["filename"]!r}, got {len(imgs)} (a transform between '
                               'PairedDecode and PackPairedInputs changed the frame count)')
        halves = []
        for part in (imgs[:n], imgs[n:]):
            sub = {k: results[k] for k in ('num_clips', 'clip_len') if k in results}
            sub['imgs'] = np.stack(part) if isinstance(part, list) else part
            halves.append(self.format_shape(copy.copy(sub))['imgs'])
        packed = dict(results)
        packed['imgs'] = np.concatenate(halves, axis=0)
        packed['paired_views'] = len(halves[0])
        packed['input_shape'] = packed['imgs'].shape
        return super().transform(packed)
