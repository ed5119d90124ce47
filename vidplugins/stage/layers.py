"""STAGE's network (thesis Sec. 3.1, Fig. 3.2, Table 3.1) and the baselines of its ablations.

Everything here takes plain tensors (node features, boxes, clip indices, clip video / time), not the
packed-batch dict, so the same module serves the feature-level model (:mod:`.models`) and the
end-to-end RoI head.

Packed inputs (K clips, no padding)::

    actor_feats  (A, Da)  actor_boxes  (A, 4) normalised x1 y1 x2 y2   actor_clip  (A,) in 0..K-1
    object_feats (O, Do)  object_boxes (O, 4)                          object_clip (O,)
    clip_video   (K,)     clip_time    (K,) seconds
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .graph import (aggregate, box_geometry, box_proximity, dot_product_logits, edge_mask,
                    feature_proximity, graph_attention_logits, masked_softmax, spatial_attention)

ATTENTIONS = ('graph', 'dot_product')
ADJACENCIES = ('box', 'feature', 'none')


class GraphAttentionHeads(nn.Module):
    """H graph-attention heads applied in parallel (Eq. 3.2-3.7; the yellow box of Fig. 3.2).

    Head ``m``: ``h = f W_m`` (Eq. 3.2, ``W_m``: d_f x d_h, no bias), ``E`` by Eq. 3.3
    (``attention='graph'``: one vector ``a_m`` of 2 d_h weights) or Eq. 3.10
    (``attention='dot_product'``: Q, K, V projections, V in place of h), ``D = A (.) E`` (Eq. 3.5),
    masked row softmax (Eq. 3.6), ``ELU(W h)`` (Eq. 3.7), dropout (Sec. 3.2.2).

    The heads' weights are stacked in one (H, d_f, d_h) parameter and applied with one batched
    product, so there is no Python loop over heads (nor over nodes).

    Args:
        in_dim: d_f.
        num_heads: H.
        head_dim: d_h; default ``floor(d_f / H)`` (Sec. 3.2.2).
        attention: 'graph' (Eq. 3.3) or 'dot_product' (Eq. 3.10).
        adjacency: 'box' (Eq. 3.1, given to :meth:`forward`), 'feature' (Eq. 3.11 on each head's
            h), or 'none' (ones on the edges: "w/o boxes proximity").
        negative_slope: LeakyReLU slope of Eq. 3.3 (0.2).
        dropout: drop rate after each head (0.5: keep probability 0.5).
    """

    def __init__(self, in_dim: int, num_heads: int, head_dim: Optional[int] = None,
                 attention: str = 'graph', adjacency: str = 'box', negative_slope: float = 0.2,
                 dropout: float = 0.5):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f'attention must be one of {ATTENTIONS}, got {attention!r}')
        if adjacency not in ADJACENCIES:
            raise ValueError(f'adjacency must be one of {ADJACENCIES}, got {adjacency!r}')
        self.num_heads = num_heads
        self.head_dim = head_dim or in_dim // num_heads
        if self.head_dim < 1:
            raise ValueError(f'{num_heads} heads on {in_dim}-d nodes leave no head channel')
        self.attention = attention
        self.adjacency = adjacency
        self.negative_slope = negative_slope
        self.dropout = nn.Dropout(dropout)
        shape = (num_heads, in_dim, self.head_dim)
        if attention == 'graph':
            self.weight = nn.Parameter(torch.empty(shape))                          # Eq. 3.2
            self.attn = nn.Parameter(torch.empty(num_heads, 2, self.head_dim))      # Eq. 3.3
        else:
            self.query = nn.Parameter(torch.empty(shape))                           # Eq. 3.10
            self.key = nn.Parameter(torch.empty(shape))
            self.value = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    @property
    def out_dim(self) -> int:
        return self.num_heads * self.head_dim

    def reset_parameters(self):
        # Xavier-uniform with gain sqrt(2) per head, as the authors' GAT heads.
        for p in self.parameters():
            for m in range(self.num_heads):
                nn.init.xavier_uniform_(p.data[m], gain=1.414)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                proximity: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            x: (N, d_f) node features.
            mask: (N, N) bool edges (:func:`.graph.edge_mask`).
            proximity: (N, N) Eq. 3.1 (required with ``adjacency='box'``).
        Returns:
            (N, H * d_h) the heads' outputs, concatenated.
        """
        # (H, N, d_f) view: a batched product per head (and counted as such by FLOP counters,
        # which take a broadcast (N, d_f) x (H, d_f, d_h) matmul for a single head).
        xh = x.expand(self.num_heads, *x.shape)
        if self.attention == 'graph':
            h = torch.matmul(xh, self.weight)                                # (H, N, d_h)
            logits = graph_attention_logits(h, self.attn, self.negative_slope)
        else:
            h = torch.matmul(xh, self.value)
            logits = dot_product_logits(torch.matmul(xh, self.query),
                                        torch.matmul(xh, self.key))
        if self.adjacency == 'box':
            if proximity is None:
                raise ValueError("adjacency='box' needs the box proximity (Eq. 3.1)")
            adjacency = proximity
        elif self.adjacency == 'feature':
            adjacency = feature_proximity(h)
        else:
            adjacency = None
        weights = spatial_attention(logits, adjacency, mask)
        out = self.dropout(aggregate(weights, h))                           # (H, N, d_h)
        return out.transpose(0, 1).reshape(x.shape[0], self.out_dim)


class GraphAttentionLayer(nn.Module):
    """One graph-attention layer (red box of Fig. 3.2; GAL_i of Table 3.1).

    ``f <- LayerNorm(f + FC(concat_m head_m(f)))``: heads, linear layer, residual, LayerNorm.

    Args:
        dim: d_f (input = output size).
        num_heads: H.
        input_dropout: drop rate on the layer input before the heads: 0.5, as the authors'
            ``gat.py`` (dropout on the input of every layer); the thesis mentions only the
            dropout 0.5 after the heads, so ``input_dropout=0`` is the thesis read literally
            (``configs/stage/stage_i3d_no-input-dropout_ava21.py``).
        **head_kwargs: :class:`GraphAttentionHeads` arguments.
    """

    def __init__(self, dim: int, num_heads: int, input_dropout: float = 0.5, **head_kwargs):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        self.heads = GraphAttentionHeads(dim, num_heads, **head_kwargs)
        self.fc = nn.Linear(self.heads.out_dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                proximity: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N, d_f) -> (N, d_f); ``mask`` / ``proximity`` as in :class:`GraphAttentionHeads`."""
        return self.norm(x + self.fc(self.heads(self.input_dropout(x), mask, proximity)))


def _check_packed(name: str, feats: torch.Tensor, boxes: torch.Tensor, clip: torch.Tensor,
                  num_clips: int, dim: Optional[int]):
    n = feats.shape[0]
    if feats.dim() != 2 or (dim is not None and feats.shape[1] != dim):
        raise ValueError(f'{name}_feats must be (N, {dim}), got {tuple(feats.shape)}')
    if tuple(boxes.shape) != (n, 4):
        raise ValueError(f'{name}_boxes must be ({n}, 4), got {tuple(boxes.shape)}')
    if tuple(clip.shape) != (n, ):
        raise ValueError(f'{name}_clip must be ({n},), got {tuple(clip.shape)}')
    if n and (int(clip.min()) < 0 or int(clip.max()) >= num_clips):
        raise ValueError(f'{name}_clip must index the {num_clips} clips of clip_video, got '
                         f'values in [{int(clip.min())}, {int(clip.max())}]')


class STAGEModule(nn.Module):
    """STAGE: graph attention over the actors and objects of consecutive clips (Sec. 3.1).

    Node features (Sec. 3.2.2): actor / object features, the larger of the two sizes brought to
    the smaller by a Linear (+ ReLU, as the authors' code), then box height, width and centre
    appended: ``d_f = min(Da, Do) + 4``. The graph links every entity of a clip to every entity
    of the clips of the same video within ``temporal_radius`` seconds (receptive field 3 for
    radius 1, Sec. 3.1.3), weighted by box proximity (Eq. 3.1). L graph-attention layers, then a
    Linear on the actor nodes gives the class logits.

    Ablations (Tables 3.6-3.8) are plain arguments: ``num_heads`` / ``num_layers``,
    ``adjacency='none'`` (w/o boxes proximity), ``temporal_radius=0`` (w/o temporal connections),
    ``actor_actor=False``, ``object_object=False``, ``attention='dot_product'`` (Eq. 3.10),
    ``adjacency='feature'`` (Eq. 3.11).

    Args:
        actor_dim: Da (1024 I3D, 2048 R101-I3D-NL, 2304 SlowFast-NL).
        object_dim: Do (2048, Faster R-CNN on Visual Genome); None when there are no objects
            (J-HMDB-21, UCF101-24: Sec. 3.3.1).
        num_classes: C (81 on AVA: column 0 background, as mmaction2 and the authors' code).
        num_heads, num_layers: 4 x 2 for I3D, 2 x 2 for R101-I3D-NL / SlowFast-NL.
        temporal_radius: clips linked at most this many seconds apart (1).
        use_geometry: append h, w, x_c, y_c (True).
        projection_act: ReLU after the projection (True, authors' code).
        **layer_kwargs: ``attention``, ``adjacency``, ``negative_slope``, ``dropout``,
            ``input_dropout``, ``head_dim`` of :class:`GraphAttentionLayer`.
    """

    def __init__(self, actor_dim: int, object_dim: Optional[int] = 2048, num_classes: int = 81,
                 num_heads: int = 4, num_layers: int = 2, temporal_radius: int = 1,
                 actor_actor: bool = True, object_object: bool = True,
                 attention: str = 'graph', adjacency: str = 'box', use_geometry: bool = True,
                 projection_act: bool = True, **layer_kwargs):
        super().__init__()
        self.actor_dim, self.object_dim = actor_dim, object_dim
        self.num_classes = num_classes
        self.temporal_radius = temporal_radius
        self.actor_actor, self.object_object = actor_actor, object_object
        self.use_geometry = use_geometry
        self.projection_act = projection_act
        common = actor_dim if object_dim is None else min(actor_dim, object_dim)
        # The larger features are projected to the smaller size (Sec. 3.2.2).
        self.actor_proj = nn.Linear(actor_dim, common) if actor_dim > common else None
        self.object_proj = (nn.Linear(object_dim, common)
                            if object_dim is not None and object_dim > common else None)
        self.node_dim = common + (4 if use_geometry else 0)
        self.layers = nn.ModuleList(
            GraphAttentionLayer(self.node_dim, num_heads, attention=attention,
                                adjacency=adjacency, **layer_kwargs)
            for _ in range(num_layers))
        self.adjacency = adjacency
        self.classifier = nn.Linear(self.node_dim, num_classes)

    def _project(self, feats: torch.Tensor, boxes: torch.Tensor,
                 proj: Optional[nn.Linear]) -> torch.Tensor:
        if proj is not None:
            feats = proj(feats)
            feats = F.relu(feats) if self.projection_act else feats
        if self.use_geometry:
            feats = torch.cat((feats, box_geometry(boxes).to(feats.dtype)), dim=1)
        return feats

    def graph(self, actor_boxes, actor_clip, object_boxes, object_clip, clip_video, clip_time):
        """Edges and box proximity of the batch graph, actors first then objects.

        Returns:
            (mask (N, N) bool, proximity (N, N) or None), N = A + O.
        """
        node_clip = torch.cat((actor_clip, object_clip)).long()
        is_actor = torch.arange(len(node_clip), device=node_clip.device) < len(actor_clip)
        mask = edge_mask(node_clip, clip_video, clip_time, is_actor, self.temporal_radius,
                         self.actor_actor, self.object_object)
        proximity = None
        if self.adjacency == 'box':
            boxes = torch.cat((actor_boxes, object_boxes))
            proximity = box_proximity(box_geometry(boxes)[:, 2:])
        return mask, proximity

    def forward(self, actor_feats: torch.Tensor, actor_boxes: torch.Tensor,
                actor_clip: torch.Tensor, object_feats: Optional[torch.Tensor],
                object_boxes: Optional[torch.Tensor], object_clip: Optional[torch.Tensor],
                clip_video: torch.Tensor, clip_time: torch.Tensor) -> torch.Tensor:
        """Actor logits (A, C) of a packed batch (see the module docstring for shapes).

        Objects may be None or empty (0 rows); any clip may have no actor or no object.
        """
        num_clips = clip_video.shape[0]
        if tuple(clip_time.shape) != (num_clips, ):
            raise ValueError(f'clip_time must be ({num_clips},) like clip_video, got '
                             f'{tuple(clip_time.shape)}')
        _check_packed('actor', actor_feats, actor_boxes, actor_clip, num_clips, self.actor_dim)
        if object_feats is None:
            object_feats = actor_feats.new_zeros(0, self.object_dim or self.actor_dim)
            object_boxes = actor_boxes.new_zeros(0, 4)
            object_clip = actor_clip.new_zeros(0)
        if self.object_dim is None and object_feats.shape[0]:
            raise ValueError('this STAGE has no object input (object_dim=None) but got '
                             f'{object_feats.shape[0]} objects')
        _check_packed('object', object_feats, object_boxes, object_clip, num_clips,
                      self.object_dim if object_feats.shape[0] else None)
        if object_feats.shape[0] == 0:
            # An empty (0, D) tensor of any D (e.g. no object file): the expected width.
            object_feats = actor_feats.new_zeros(0, self.object_dim or self.actor_dim)
        x = torch.cat((self._project(actor_feats, actor_boxes, self.actor_proj),
                       self._project(object_feats.to(actor_feats.dtype), object_boxes,
                                     self.object_proj)))
        mask, proximity = self.graph(actor_boxes, actor_clip, object_boxes, object_clip,
                                     clip_video, clip_time)
        for layer in self.layers:
            x = layer(x, mask, proximity)
        return self.classifier(x[:actor_feats.shape[0]])


class NonLocalActorLayer(nn.Module):
    """Non-local actor-actor operator of the STO baseline (Table 3.7; LFB's short-term operator).

    Among the actors of the same clip: ``theta, phi, g`` linear embeddings, attention
    ``softmax(theta phi^T / sqrt(d))`` over the clip's actors, then LayerNorm, ReLU, a linear layer
    back to d, dropout and a residual (the non-local block of Wang et al. as used by LFB).

    Args:
        dim: actor feature size d.
        latent_dim: embedding size (512, LFB).
        dropout: drop rate before the residual (0.2, LFB).
    """

    def __init__(self, dim: int, latent_dim: int = 512, dropout: float = 0.2):
        super().__init__()
        self.theta = nn.Linear(dim, latent_dim)
        self.phi = nn.Linear(dim, latent_dim)
        self.g = nn.Linear(dim, latent_dim)
        self.norm = nn.LayerNorm(latent_dim)
        self.out = nn.Linear(latent_dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, same_clip: torch.Tensor) -> torch.Tensor:
        """Args: x (A, d) actor features; same_clip (A, A) bool. Returns (A, d)."""
        logits = dot_product_logits(self.theta(x)[None], self.phi(x)[None])[0]
        y = torch.matmul(masked_softmax(logits, same_clip), self.g(x))
        return x + self.dropout(self.out(F.relu(self.norm(y))))


class STOModule(nn.Module):
    """STO baseline (Table 3.7): L non-local actor-actor layers within each clip, no graph, no
    objects, no time, then a Linear classifier on the actors.

    Args:
        actor_dim: d.
        num_classes: C.
        num_layers: 1 or 2 (Table 3.7).
        latent_dim, dropout: :class:`NonLocalActorLayer`.
    """

    def __init__(self, actor_dim: int, num_classes: int = 81, num_layers: int = 1,
                 latent_dim: int = 512, dropout: float = 0.2):
        super().__init__()
        self.actor_dim, self.num_classes = actor_dim, num_classes
        self.layers = nn.ModuleList(NonLocalActorLayer(actor_dim, latent_dim, dropout)
                                    for _ in range(num_layers))
        self.classifier = nn.Linear(actor_dim, num_classes)

    def forward(self, actor_feats, actor_boxes, actor_clip, object_feats, object_boxes,
                object_clip, clip_video, clip_time) -> torch.Tensor:
        """Same signature as :meth:`STAGEModule.forward`; objects, boxes and times are unused."""
        _check_packed('actor', actor_feats, actor_boxes, actor_clip, clip_video.shape[0],
                      self.actor_dim)
        same_clip = actor_clip[:, None] == actor_clip[None, :]
        x = actor_feats
        for layer in self.layers:
            x = layer(x, same_clip)
        return self.classifier(x)


class ActorLinear(nn.Module):
    """Per-actor linear classifier on the actor features (the "*" rows of Table 3.5).

    Args:
        actor_dim: d.
        num_classes: C.
        dropout: drop rate on the input (0).
    """

    def __init__(self, actor_dim: int, num_classes: int = 81, dropout: float = 0.0):
        super().__init__()
        self.actor_dim, self.num_classes = actor_dim, num_classes
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(actor_dim, num_classes)

    def forward(self, actor_feats, actor_boxes, actor_clip, object_feats, object_boxes,
                object_clip, clip_video, clip_time) -> torch.Tensor:
        """Same signature as :meth:`STAGEModule.forward`; only the actor features are used."""
        _check_packed('actor', actor_feats, actor_boxes, actor_clip, clip_video.shape[0],
                      self.actor_dim)
        return self.classifier(self.dropout(actor_feats))
