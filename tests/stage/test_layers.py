"""STAGE's heads, layer and module (thesis Sec. 3.1, Fig. 3.2): hand-computed outputs, the block
graph of a packed batch, and no Python loop over nodes."""
import math

import pytest
import torch
from torch.overrides import TorchFunctionMode

from vidplugins.stage.layers import (ActorLinear, GraphAttentionHeads, GraphAttentionLayer,
                                     STAGEModule, STOModule)


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def fixed_head(dim=3):
    """One head, d_h = d_f = dim, W = I, a_1 = (1, 2, 0...), a_2 = (3, -4, 0...)."""
    head = GraphAttentionHeads(dim, 1, head_dim=dim, dropout=0.5).eval()
    with torch.no_grad():
        head.weight.copy_(torch.eye(dim)[None])
        head.attn.zero_()
        head.attn[0, 0, :2] = t([1., 2.])
        head.attn[0, 1, :2] = t([3., -4.])
    return head


def hand_head_output():
    """x = (1,0,0), (0,1,0), box centres (0,0), (0.3,0.4) (distance 0.5).

    h = x; E = [[4, -0.6], [5, -0.4]] (Eq. 3.3); A = [[1, e^-0.5], [e^-0.5, 1]] (Eq. 3.1);
    D = A * E; W = row softmax (Eq. 3.6); h' = ELU(W h) = W h (all entries >= 0) (Eq. 3.7)."""
    p = math.exp(-0.5)
    d = [[4., -0.6 * p], [5. * p, -0.4]]
    rows = []
    for r in d:
        z = math.exp(r[0]) + math.exp(r[1])
        rows.append([math.exp(r[0]) / z, math.exp(r[1]) / z, 0.])
    return t(rows)


def test_graph_attention_head_with_fixed_weights_matches_hand_numbers():
    head = fixed_head()
    x = t([[1., 0., 0.], [0., 1., 0.]])
    prox = t([[1., math.exp(-0.5)], [math.exp(-0.5), 1.]])
    out = head(x, torch.ones(2, 2, dtype=torch.bool), prox)
    assert torch.allclose(out, hand_head_output(), atol=1e-6)
    # e.g. row 0: softmax(4, -0.6 e^-0.5) = (0.98743, 0.01257)
    assert out[0, 0].item() == pytest.approx(0.98743, abs=1e-5)


def test_head_dropout_is_active_in_training_only():
    head = fixed_head()
    x, mask = torch.rand(50, 3) + 1, torch.ones(50, 50, dtype=torch.bool)
    prox = torch.ones(50, 50)
    head.train()
    out = head(x, mask, prox)
    zeros = (out == 0).float().mean().item()
    assert 0.3 < zeros < 0.7                      # keep probability 0.5 (Sec. 3.2.2)
    head.eval()
    assert (head(x, mask, prox) != 0).all()


def test_layer_is_heads_linear_residual_layernorm():
    layer = GraphAttentionLayer(3, 1, head_dim=3).eval()
    head = fixed_head()
    layer.heads.load_state_dict(head.state_dict())
    with torch.no_grad():
        layer.fc.weight.copy_(2 * torch.eye(3))
        layer.fc.bias.copy_(t([0.1, 0., 0.]))
    x = t([[1., 0., 0.], [0., 1., 0.]])
    prox = t([[1., math.exp(-0.5)], [math.exp(-0.5), 1.]])
    out = layer(x, torch.ones(2, 2, dtype=torch.bool), prox)
    y = x + 2 * hand_head_output() + t([0.1, 0., 0.])     # residual of FC(heads)
    mean = y.mean(1, keepdim=True)
    var = ((y - mean) ** 2).mean(1, keepdim=True)          # biased, as LayerNorm
    assert torch.allclose(out, (y - mean) / torch.sqrt(var + 1e-5), atol=1e-5)


def test_head_sizes_follow_sec_3_2_2():
    # floor(d_f / n_h): 1028 / 4 = 257, 2052 / 2 = 1026, 1028 / 8 = 128 (concat 1024 < 1028).
    assert GraphAttentionHeads(1028, 4).head_dim == 257
    assert GraphAttentionHeads(2052, 2).out_dim == 2052
    layer = GraphAttentionLayer(1028, 8)
    assert layer.heads.out_dim == 1024 and layer.fc.in_features == 1024
    with pytest.raises(ValueError, match='attention'):
        GraphAttentionHeads(8, 2, attention='additive')
    with pytest.raises(ValueError, match='adjacency'):
        GraphAttentionHeads(8, 2, adjacency='knn')


# ---------------------------------------------------------------------- packed batches
def packed(actors_per_clip, objects_per_clip, videos, times, da=6, do=10, seed=0):
    g = torch.Generator().manual_seed(seed)

    def part(counts, dim):
        clip = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
        n = len(clip)
        xy = torch.rand(n, 2, generator=g) * 0.5
        boxes = torch.cat((xy, xy + 0.2 + 0.3 * torch.rand(n, 2, generator=g)), 1)
        return torch.randn(n, dim, generator=g), boxes, clip

    af, ab, ac = part(actors_per_clip, da)
    of, ob, oc = part(objects_per_clip, do)
    return dict(actor_feats=af, actor_boxes=ab, actor_clip=ac, object_feats=of,
                object_boxes=ob, object_clip=oc, clip_video=torch.tensor(videos),
                clip_time=torch.tensor(times))


def run(net, b):
    return net(b['actor_feats'], b['actor_boxes'], b['actor_clip'], b['object_feats'],
               b['object_boxes'], b['object_clip'], b['clip_video'], b['clip_time'])


def small(**kw):
    kw.setdefault('num_heads', 2)
    return STAGEModule(6, 10, num_classes=5, **kw).eval()


def test_node_features_project_the_larger_and_append_geometry():
    assert small().object_proj.in_features == 10 and small().actor_proj is None
    assert small().node_dim == 6 + 4
    swapped = STAGEModule(12, 10, num_classes=3)
    assert swapped.actor_proj.in_features == 12 and swapped.object_proj is None
    assert STAGEModule(8, 8, num_classes=3).actor_proj is None
    assert STAGEModule(8, None, num_classes=3).object_proj is None


def test_empty_clips_and_several_videos():
    # Clip 0: 2 actors, no object; clip 1: no actor, 3 objects; clip 2: 1 actor 1 object; clip 3
    # (another video): 1 actor, no object.
    b = packed([2, 0, 1, 1], [0, 3, 1, 0], [0, 0, 0, 1], [3, 4, 5, 4])
    out = run(small(), b)
    assert out.shape == (4, 5) and torch.isfinite(out).all()
    nothing = packed([0, 0], [0, 2], [0, 0], [1, 2])
    assert run(small(), nothing).shape == (0, 5)


def test_videos_are_never_linked():
    """Changing every entity of video 1 leaves the logits of video 0's actors unchanged, even at
    the same timestamps (a block straddling two videos, Sec. 1 of the spec)."""
    net = small(num_layers=3)
    b = packed([2, 1, 2, 1], [3, 2, 2, 2], [0, 0, 1, 1], [10, 11, 10, 11])
    out = run(net, b)
    c = {k: v.clone() for k, v in b.items()}
    v1_actors, v1_objects = c['actor_clip'] >= 2, c['object_clip'] >= 2
    c['actor_feats'][v1_actors] += 5
    c['object_feats'][v1_objects] -= 5
    c['object_boxes'][v1_objects] = c['object_boxes'][v1_objects].flip(0)
    out2 = run(net, c)
    assert torch.allclose(out[~v1_actors], out2[~v1_actors], atol=1e-6)
    assert not torch.allclose(out[v1_actors], out2[v1_actors])


def test_each_layer_widens_the_temporal_receptive_field_by_two():
    """Sec. 3.1.3: with radius 1, clip t sees t +- 1 through one layer, t +- 2 through two."""
    b = packed([1, 1, 1], [1, 1, 1], [0, 0, 0], [10, 11, 12])
    c = {k: v.clone() for k, v in b.items()}
    c['object_feats'][2] += 3                     # the object of clip t = 12
    c['actor_feats'][2] += 3                      # and its actor
    for layers, changed in ((1, False), (2, True)):
        net = small(num_layers=layers)
        diff = (run(net, b)[0] - run(net, c)[0]).abs().max()
        assert (diff > 1e-6) == changed, layers
    net = small(num_layers=2, temporal_radius=0)   # w/o temporal connections
    assert torch.allclose(run(net, b)[0], run(net, c)[0], atol=1e-6)


def test_no_actor_actor_updates_actors_from_objects_only():
    net = small(num_layers=1, actor_actor=False)
    b = packed([2], [1], [0], [0])
    c = {k: v.clone() for k, v in b.items()}
    c['actor_feats'][1] += 4                      # the other actor
    # Actor 0's logits depend on its own feature (residual) and the object, not on actor 1.
    assert torch.allclose(run(net, b)[0], run(net, c)[0], atol=1e-6)
    assert not torch.allclose(run(small(num_layers=1), b)[0], run(small(num_layers=1), c)[0])


@pytest.mark.parametrize('kw', [dict(adjacency='none'), dict(adjacency='feature'),
                                dict(attention='dot_product'), dict(object_object=False),
                                dict(temporal_radius=0)])
def test_ablation_variants_run_and_differ_from_stage(kw):
    torch.manual_seed(0)
    ref = small(num_layers=2)
    torch.manual_seed(0)
    net = small(num_layers=2, **kw)
    if kw.get('attention') != 'dot_product':
        net.load_state_dict(ref.state_dict())
    b = packed([2, 1, 3], [3, 4, 2], [0, 0, 0], [1, 2, 3])
    out = run(net, b)
    assert out.shape == (6, 5) and torch.isfinite(out).all()
    assert not torch.allclose(out, run(ref, b))


def test_objects_optional_without_object_input():
    net = STAGEModule(6, None, num_classes=4, num_heads=2).eval()
    b = packed([2, 1], [0, 0], [0, 0], [1, 2])
    out = net(b['actor_feats'], b['actor_boxes'], b['actor_clip'], None, None, None,
              b['clip_video'], b['clip_time'])
    assert out.shape == (3, 4)
    b2 = packed([2, 1], [1, 0], [0, 0], [1, 2], do=6)
    with pytest.raises(ValueError, match='object_dim=None'):
        run(net, b2)


def test_bad_inputs_name_the_field():
    b = packed([2], [1], [0], [0])
    net = small()
    with pytest.raises(ValueError, match='actor_feats'):
        run(net, dict(b, actor_feats=torch.zeros(2, 7)))
    with pytest.raises(ValueError, match='object_boxes'):
        run(net, dict(b, object_boxes=torch.zeros(2, 4)))
    with pytest.raises(ValueError, match='actor_clip'):
        run(net, dict(b, actor_clip=torch.tensor([0, 3])))
    with pytest.raises(ValueError, match='clip_time'):
        run(net, dict(b, clip_time=torch.tensor([0, 1])))


class CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('make', [lambda: small(num_layers=2), lambda: STOModule(6, 5, 2),
                                  lambda: ActorLinear(6, 5)])
def test_no_python_loop_over_nodes(make):
    """The number of torch calls of a forward does not grow with the entities or the clips."""
    net = make().eval()
    counts = []
    for actors, objects in (([1, 2], [3, 1]), ([9, 0, 7, 5, 4, 8], [30, 25, 0, 12, 40, 9])):
        b = packed(actors, objects, [0] * len(actors), list(range(len(actors))))
        with CountCalls() as mode:
            run(net, b)
        counts.append(mode.calls)
    assert counts[0] == counts[1]


def test_gradients_reach_every_parameter():
    net = small(num_layers=2).train()
    b = packed([2, 1, 2], [3, 2, 4], [0, 0, 1], [1, 2, 1])
    run(net, b).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_sto_attends_within_the_clip_only():
    net = STOModule(6, 5, num_layers=2).eval()
    b = packed([2, 2], [0, 0], [0, 0], [1, 2])
    c = {k: v.clone() for k, v in b.items()}
    c['actor_feats'][2:] += 3                      # actors of clip 1
    assert torch.allclose(run(net, b)[:2], run(net, c)[:2], atol=1e-6)
    assert not torch.allclose(run(net, b)[2:], run(net, c)[2:])
