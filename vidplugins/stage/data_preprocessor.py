"""Packs a list of keyframes into STAGE's batch graph input (thesis Sec. 3.1.3).

No padding: clips have variable numbers of actors and objects, concatenated clip by clip, with the
clip index of every entity and the video and time of every clip (``clip_video``, ``clip_time``),
from which the model builds its block adjacency (clips of different videos are never linked).
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mmaction.registry import MODELS

PER_CLIP_KEYS = ('actor_feats', 'actor_boxes', 'object_feats', 'object_boxes')


def pack_keyframes(clips: Sequence[Mapping[str, torch.Tensor]], video_ids: Sequence[str],
                   timestamps: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Concatenate K keyframes into the packed batch.

    Args:
        clips: K dicts with ``actor_feats`` (A_k, Da), ``actor_boxes`` (A_k, 4), ``object_feats``
            (O_k, Do), ``object_boxes`` (O_k, 4); A_k or O_k may be 0.
        video_ids: K video ids; equal ids get the same ``clip_video`` index (first-seen order).
        timestamps: K keyframe timestamps in seconds.

    Returns:
        ``actor_feats`` (A, Da), ``actor_boxes`` (A, 4), ``actor_clip`` (A,) long,
        ``object_feats`` (O, Do), ``object_boxes`` (O, 4), ``object_clip`` (O,) long,
        ``clip_video`` (K,) long, ``clip_time`` (K,) long; A = sum A_k, O = sum O_k.
    """
    k = len(clips)
    if not (len(video_ids) == len(timestamps) == k):
        raise ValueError(f'{k} clips, {len(video_ids)} video ids, {len(timestamps)} timestamps')
    if k == 0:
        raise ValueError('cannot pack an empty batch (no keyframe)')
    out = {}
    for kind in ('actor', 'object'):
        feats = [c[f'{kind}_feats'] for c in clips]
        dims = {f.shape[1] for f in feats if f.shape[0]}
        if len(dims) > 1:
            raise ValueError(f'{kind} features of different sizes in one batch: {sorted(dims)} '
                             f'(videos {sorted(set(video_ids))})')
        dim = dims.pop() if dims else max(f.shape[1] for f in feats)
        # (0, dim): also when dim is 0 (no objects: J-HMDB-21 / UCF101-24), where -1 is ambiguous
        feats = [f.reshape(0, dim) if f.shape[0] == 0 else f for f in feats]
        counts = torch.tensor([f.shape[0] for f in feats])
        out[f'{kind}_feats'] = torch.cat(feats).float()
        out[f'{kind}_boxes'] = torch.cat([c[f'{kind}_boxes'].reshape(-1, 4)
                                          for c in clips]).float()
        out[f'{kind}_clip'] = torch.repeat_interleave(torch.arange(k), counts).to(
            out[f'{kind}_feats'].device)
    index: Dict[str, int] = {}
    dev = out['actor_feats'].device
    out['clip_video'] = torch.tensor([index.setdefault(v, len(index)) for v in video_ids],
                                     dtype=torch.long, device=dev)
    out['clip_time'] = torch.tensor([int(t) for t in timestamps], dtype=torch.long, device=dev)
    return out


@MODELS.register_module()
class STAGEDataPreprocessor(BaseDataPreprocessor):
    """Moves a collated list of keyframes to the model's device and packs it.

    Accepts what mmengine's ``pseudo_collate`` makes of :class:`~.datasets.PackSTAGEInputs`
    items (``inputs`` a dict of K-lists, or a list of K dicts) and returns
    ``dict(inputs=<packed batch>, data_samples=<K ActionDataSample>)``; an already packed batch
    (with ``actor_clip``) passes through.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs, samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, Mapping) and 'actor_clip' in inputs:
            return dict(inputs=dict(inputs), data_samples=samples)
        if isinstance(inputs, Mapping):
            k = len(inputs['actor_feats'])
            clips: List[Mapping] = [{key: inputs[key][i] for key in PER_CLIP_KEYS}
                                    for i in range(k)]
        else:
            clips = list(inputs)
        if samples is None or len(samples) != len(clips):
            got = None if samples is None else len(samples)
            raise ValueError(f'{len(clips)} keyframes need as many data_samples (video_id and '
                             f'timestamp metainfo), got {got}')
        packed = pack_keyframes(clips, [s.metainfo['video_id'] for s in samples],
                                [s.metainfo['timestamp'] for s in samples])
        return dict(inputs=packed, data_samples=samples)
