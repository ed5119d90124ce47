"""Paired video dataset: triplets (x_i, x_i*, y_i) of thesis Eq. 5.1.

An mmaction2 video list (``<relative path> <label>`` per line) read against two roots: the
originals (``data_prefix=dict(video=...)``, as ``VideoDataset``) and the anonymised copy
(``obfuscated_prefix``, the mirror layout written by ``tools/anonymize.py``). Samples pair by
relative path. A sample whose original or obfuscated file is missing (or, with
``check_videos=True``, unreadable, empty or of a different length) is skipped, counted, logged and
listed in ``skipped`` / ``report_file``; with ``strict=True`` it is an error instead. Nothing
unpaired ever reaches training.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter
from typing import List, Optional

from mmengine.logging import MMLogger

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS

from ..utils.io import dump_json_atomic

__all__ = ['PairedVideoDataset', 'probe_frames']


def probe_frames(path: str) -> int:
    """Number of frames of a video (decord); raises on an unreadable file."""
    import decord
    return len(decord.VideoReader(path, num_threads=1))


@DATASETS.register_module()
class PairedVideoDataset(VideoDataset):
    """``VideoDataset`` whose samples also carry ``obfuscated_filename``.

    Args:
        ann_file: mmaction2 video list.
        pipeline: must load both videos (``LoadPairedVideo`` ... ``PackPairedInputs``).
        obfuscated_prefix: root of the anonymised mirror (relative paths are joined to
            ``data_root`` like ``data_prefix``).
        strict: raise on the first unpaired sample instead of skipping it.
        check_videos: also open both videos of every sample at start-up and skip pairs that are
            unreadable, have no frames or differ in length (costs one open per file).
        report_file: where to write the skip report (JSON: counts per reason and every skipped
            sample); None: only logged.
        **kwargs: ``VideoDataset`` arguments (``data_prefix``, ``data_root``, ``test_mode``...).
    Attributes:
        skipped: list of dicts ``{'filename', 'obfuscated_filename', 'reason'}``.
    """

    def __init__(self, ann_file: str, pipeline, obfuscated_prefix: str, strict: bool = False,
                 check_videos: bool = False, report_file: Optional[str] = None,
                 data_root: Optional[str] = None, **kwargs):
        if not obfuscated_prefix:
            raise ValueError('PairedVideoDataset: obfuscated_prefix (root of the anonymised '
                             'videos) is required')
        if data_root and not osp.isabs(obfuscated_prefix):
            obfuscated_prefix = osp.join(data_root, obfuscated_prefix)
        self.obfuscated_prefix = obfuscated_prefix
        self.strict = strict
        self.check_videos = check_videos
        self.report_file = report_file
        self.skipped: List[dict] = []
        super().__init__(ann_file, pipeline, data_root=data_root, **kwargs)

    def _pair_problem(self, orig: str, obf: str) -> Optional[str]:
        if not osp.isfile(orig):
            return 'missing original'
        if not osp.isfile(obf):
            return 'missing obfuscated'
        if not self.check_videos:
            return None
        counts = []
        for path, what in ((orig, 'original'), (obf, 'obfuscated')):
            try:
                counts.append(probe_frames(path))
            except Exception as exc:  # decord's own error types
                return f'unreadable {what} ({type(exc).__name__})'
            if counts[-1] == 0:
                return f'empty {what}'
        if counts[0] != counts[1]:
            return f'frame count mismatch ({counts[0]} vs {counts[1]})'
        return None

    def load_data_list(self) -> List[dict]:
        data_list = []
        self.skipped = []
        root = self.data_prefix['video'] or ''
        for info in super().load_data_list():
            rel = osp.relpath(info['filename'], root) if root else info['filename']
            info['obfuscated_filename'] = osp.join(self.obfuscated_prefix, rel)
            problem = self._pair_problem(info['filename'], info['obfuscated_filename'])
            if problem is None:
                data_list.append(info)
                continue
            if self.strict:
                raise FileNotFoundError(
                    f'{self.ann_file}: sample {rel!r} cannot be paired: {problem} '
                    f'(original {info["filename"]!r}, obfuscated '
                    f'{info["obfuscated_filename"]!r})')
            self.skipped.append(dict(filename=info['filename'],
                                     obfuscated_filename=info['obfuscated_filename'],
                                     reason=problem))
        self._report(len(data_list))
        return data_list

    def _report(self, kept: int) -> None:
        reasons = Counter(s['reason'] for s in self.skipped)
        if self.skipped:
            MMLogger.get_current_instance().warning(
                f'PairedVideoDataset({self.ann_file}): skipped {len(self.skipped)} of '
                f'{kept + len(self.skipped)} samples without a usable pair: {dict(reasons)} '
                f'(first: {self.skipped[0]["filename"]!r})')
        if self.report_file:
            dump_json_atomic(dict(ann_file=self.ann_file, kept=kept, skipped=len(self.skipped),
                                  reasons=dict(reasons), samples=self.skipped),
                             self.report_file, indent=1)
