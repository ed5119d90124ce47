"""Registered models of STAGE on pre-extracted features (thesis Sec. 3.1-3.2).

All take the packed batch of the data preprocessor (``inputs`` dict: ``actor_feats`` (A, Da),
``actor_boxes`` (A, 4), ``actor_clip`` (A,), ``object_feats`` (O, Do), ``object_boxes`` (O, 4),
``object_clip`` (O,), ``clip_video`` (K,), ``clip_time`` (K,); actors clip by clip) and one
``ActionDataSample`` per clip. ``mode='tensor'`` returns the actor logits (A, C); ``'loss'`` a dict
with ``loss_cls``; ``'predict'`` the data samples with ``pred_instances.bboxes`` (A_k, 4) and
``pred_instances.scores`` (A_k, C), what mmaction2's AVA metric consumes.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmaction.registry import MODELS

from .layers import ActorLinear, STAGEModule, STOModule

PACKED_KEYS = ('actor_feats', 'actor_boxes', 'actor_clip', 'object_feats', 'object_boxes',
               'object_clip', 'clip_video', 'clip_time')
LOSSES = ('bce', 'ce')


class PackedActorClassifier(BaseModel):
    """Loss and prediction shared by the models that classify the actors of a packed batch.

    Args:
        net: the network (:class:`STAGEModule`, :class:`STOModule` or :class:`ActorLinear`);
            called with the eight packed tensors, returns (A, C) logits.
        loss: 'bce' (sigmoid binary cross-entropy, multi-label AVA) or 'ce' (softmax
            cross-entropy, one label per actor: J-HMDB-21, UCF101-24) (Sec. 3.2.2).
        background_column: column 0 of the C outputs is the background (mmaction2's layout, also
            used by the J-HMDB-21 / UCF101-24 datasets with labels 1..C-1): it is left out of the
            loss (and of the softmax) and its predicted score is 0.
        data_preprocessor: config of the preprocessor that packs the keyframes.
    """

    def __init__(self, net, loss: str = 'bce', background_column: bool = True,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if isinstance(data_preprocessor, dict):
            # Built from mmaction2's registry, so the model also builds outside a runner scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if loss not in LOSSES:
            raise ValueError(f'loss must be one of {LOSSES}, got {loss!r}')
        self.net = net
        self.loss_type = loss
        self.background_column = background_column

    @property
    def num_classes(self) -> int:
        return self.net.num_classes

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f'mode must be tensor, loss or predict, got {mode!r}')

    def logits(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(A, C) actor logits of a packed batch."""
        missing = [k for k in ('actor_feats', 'actor_boxes', 'actor_clip', 'clip_video',
                               'clip_time') if k not in inputs]
        if missing:
            raise KeyError(f'packed batch (inputs) lacks {missing}; it has {sorted(inputs)}')
        return self.net(*(inputs.get(k) for k in PACKED_KEYS))

    def _targets(self, inputs, data_samples) -> torch.Tensor:
        actor_clip = inputs['actor_clip']
        if len(data_samples) != len(inputs['clip_video']):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(inputs["clip_video"])} clips')
        if actor_clip.numel() > 1 and bool((actor_clip[1:] < actor_clip[:-1]).any()):
            raise ValueError('actor_clip must be sorted: actors are packed clip by clip')
        counts = torch.bincount(actor_clip, minlength=len(data_samples)).tolist()
        labels = []
        for k, (ds, n) in enumerate(zip(data_samples, counts)):
            lab = ds.gt_instances.labels
            if len(lab) != n:
                raise ValueError(f'clip {k} ({ds.metainfo.get("video_id")}, '
                                 f'{ds.metainfo.get("timestamp")}): gt_instances.labels has '
                                 f'{len(lab)} rows for {n} actors')
            labels.append(lab)
        dev = inputs['actor_feats'].device
        if self.loss_type == 'bce':
            return torch.cat([lab.reshape(-1, self.num_classes).float() for lab in labels]).to(dev)
        return torch.cat([lab.reshape(-1).long() for lab in labels]).to(dev)

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: List) -> dict:
        """Sigmoid BCE on the C (or C - 1 without background) columns, or softmax CE."""
        logits = self.logits(inputs)
        targets = self._targets(inputs, data_samples)
        if logits.shape[0] == 0:
            # No actor in the whole batch: a zero that still reaches every parameter.
            return dict(loss_cls=logits.sum() * 0.)
        start = 1 if self.background_column else 0
        if self.loss_type == 'ce':
            if bool((targets < start).any()):
                raise ValueError('gt_instances.labels hold class 0, the background column')
            return dict(loss_cls=F.cross_entropy(logits[:, start:], targets - start))
        return dict(loss_cls=F.binary_cross_entropy_with_logits(logits[:, start:],
                                                                targets[:, start:]))

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """(A, C) probabilities: sigmoid (BCE) or softmax (CE); background column set to 0."""
        if self.loss_type == 'ce':
            # Softmax over the foreground columns only (the background one is never a target).
            start = 1 if self.background_column else 0
            scores = torch.cat((logits[:, :start].new_zeros(len(logits), start),
                                logits[:, start:].softmax(-1)), dim=1)
            return scores
        scores = logits.sigmoid()
        if self.background_column:
            scores = torch.cat((torch.zeros_like(scores[:, :1]), scores[:, 1:]), dim=1)
        return scores

    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: List) -> List:
        """Stores ``pred_instances`` (bboxes (A_k, 4) normalised, scores (A_k, C)) in each clip's
        data sample and returns the data samples."""
        scores = self.scores(self.logits(inputs)).detach()
        boxes, clip = inputs['actor_boxes'], inputs['actor_clip']
        for k, ds in enumerate(data_samples):
            sel = clip == k
            pred = InstanceData()
            pred.bboxes = boxes[sel].detach()
            pred.scores = scores[sel]
            ds.pred_instances = pred
        return data_samples

    # ------------------------------------------------------------------ analysis
    def dummy_inputs(self, num_actors: int = 4, num_objects: int = 25,
                     num_clips: int = 1) -> Dict[str, torch.Tensor]:
        """A packed batch of ``num_clips`` clips of one video, each with ``num_actors`` actors and
        ``num_objects`` objects (random features and boxes): the input of ``get_flops.py``
        (Table 3.10: one clip, 4 actors and 25 objects, the AVA training averages)."""
        net = self.net
        dev = next(self.parameters()).device
        g = torch.Generator().manual_seed(0)
        a, o = num_actors * num_clips, num_objects * num_clips
        object_dim = getattr(net, 'object_dim', None)
        if object_dim is None:
            o, object_dim = 0, net.actor_dim

        def boxes(n):
            xy = torch.rand(n, 2, generator=g) * 0.5
            return torch.cat((xy, xy + 0.1 + torch.rand(n, 2, generator=g) * 0.4), 1)

        clips = torch.arange(num_clips)
        packed = dict(
            actor_feats=torch.randn(a, net.actor_dim, generator=g),
            actor_boxes=boxes(a), actor_clip=clips.repeat_interleave(num_actors),
            object_feats=torch.randn(o, object_dim, generator=g),
            object_boxes=boxes(o),
            object_clip=clips.repeat_interleave(num_objects)[:o],
            clip_video=torch.zeros(num_clips, dtype=torch.long), clip_time=clips.clone())
        return {k: v.to(dev) for k, v in packed.items()}


@MODELS.register_module()
class STAGE(PackedActorClassifier):
    """STAGE on pre-extracted actor and object features (Ch. 3).

    Args:
        actor_dim, object_dim, num_classes, num_heads, num_layers, temporal_radius, actor_actor,
        object_object, attention, adjacency, ...: :class:`~.layers.STAGEModule` arguments
        (ablation switches of Tables 3.6-3.8 included).
        loss, background_column, data_preprocessor: :class:`PackedActorClassifier`.
    """

    def __init__(self, actor_dim: int = 1024, object_dim: Optional[int] = 2048,
                 num_classes: int = 81, num_heads: int = 4, num_layers: int = 2,
                 loss: str = 'bce', background_column: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 **module_kwargs):
        net = STAGEModule(actor_dim, object_dim, num_classes, num_heads=num_heads,
                          num_layers=num_layers, **module_kwargs)
        super().__init__(net, loss, background_column, data_preprocessor, init_cfg)


@MODELS.register_module()
class STO(PackedActorClassifier):
    """STO baseline of Table 3.7: non-local actor-actor layers within a clip (:class:`STOModule`).

    Args:
        actor_dim, num_classes, num_layers, latent_dim, dropout: :class:`~.layers.STOModule`.
    """

    def __init__(self, actor_dim: int = 1024, num_classes: int = 81, num_layers: int = 1,
                 latent_dim: int = 512, dropout: float = 0.2, loss: str = 'bce',
                 background_column: bool = True, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        net = STOModule(actor_dim, num_classes, num_layers, latent_dim, dropout)
        super().__init__(net, loss, background_column, data_preprocessor, init_cfg)


@MODELS.register_module()
class ActorLinearClassifier(PackedActorClassifier):
    """Per-actor linear classifier on the same packed batch (the "*" rows of Table 3.5; the
    baseline of the proof-of-learning test and of ``benchmarks/bench_stage.py``).

    Args:
        actor_dim, num_classes, dropout: :class:`~.layers.ActorLinear`.
    """

    def __init__(self, actor_dim: int = 1024, num_classes: int = 81, dropout: float = 0.0,
                 loss: str = 'bce', background_column: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None):
        net = ActorLinear(actor_dim, num_classes, dropout)
        super().__init__(net, loss, background_column, data_preprocessor, init_cfg)
