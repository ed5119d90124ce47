"""STAGE's equations (thesis Sec. 3.1) against numbers computed by hand."""
import math

import pytest
import torch

from vidplugins.stage.graph import (aggregate, box_geometry, box_proximity, clip_links,
                                    dot_product_logits, edge_mask, feature_proximity,
                                    graph_attention_logits, masked_softmax, spatial_attention)


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def test_box_geometry_is_height_width_centre():
    # x1 y1 x2 y2 = 0.1 0.2 0.5 0.8: h = 0.6, w = 0.4, centre (0.3, 0.5).
    assert torch.allclose(box_geometry(t([[0.1, 0.2, 0.5, 0.8]])), t([[0.6, 0.4, 0.3, 0.5]]))


def test_box_proximity_eq_3_1_on_three_boxes():
    # Centres (0, 0), (0.3, 0.4), (0.6, 0.8): distances 0.5, 1.0, 0.5 (3-4-5 triangles).
    a = box_proximity(t([[0., 0.], [0.3, 0.4], [0.6, 0.8]]))
    e5, e1 = math.exp(-0.5), math.exp(-1.0)
    assert torch.allclose(a, t([[1., e5, e1], [e5, 1., e5], [e1, e5, 1.]]), atol=1e-6)


def test_box_proximity_has_finite_gradient_on_the_diagonal():
    c = t([[0.2, 0.2], [0.5, 0.6]]).requires_grad_()
    box_proximity(c).sum().backward()
    assert torch.isfinite(c.grad).all()


def test_feature_proximity_eq_3_11_clamps_small_distances():
    # |h0 - h1| = 5 -> 1/5; |h0 - h2| = 0.5 < 1 -> clamped to 1 -> 1; diagonal 1.
    a = feature_proximity(t([[0., 0.], [3., 4.], [0., 0.5]]))
    assert a[0, 1] == pytest.approx(0.2) and a[1, 0] == pytest.approx(0.2)
    assert a[0, 2] == pytest.approx(1.0) and torch.allclose(a.diagonal(), torch.ones(3))
    assert a[1, 2] == pytest.approx(1 / math.sqrt(9 + 3.5 ** 2))


def test_clip_links_same_video_within_radius_only():
    video = torch.tensor([0, 0, 0, 1])
    time = torch.tensor([10, 11, 13, 11])
    links = clip_links(video, time, 1)
    expected = torch.tensor([[1, 1, 0, 0],
                             [1, 1, 0, 0],      # 11 -> 13 is 2 s away
                             [0, 0, 1, 0],
                             [0, 0, 0, 1]],     # same time 11, other video: never linked
                            dtype=torch.bool)
    assert torch.equal(links, expected)
    assert torch.equal(clip_links(video, time, 0), torch.eye(4, dtype=torch.bool))
    wider = clip_links(video, time, 2)
    assert wider[1, 2] and not wider[0, 2] and not wider[1, 3]
    with pytest.raises(ValueError, match='temporal_radius'):
        clip_links(video, time, -1)


def test_edge_mask_blocks_with_empty_clips_and_type_switches():
    # Clips: 0 (t=5) two actors, no object; 1 (t=6) no actor, one object; 2 (t=7) one actor, one
    # object; 3: other video, t=6, one object. Nodes: actors a0 a1 (clip 0), a2 (clip 2), then
    # objects o3 (clip 1), o4 (clip 2), o5 (clip 3).
    node_clip = torch.tensor([0, 0, 2, 1, 2, 3])
    is_actor = torch.tensor([1, 1, 1, 0, 0, 0], dtype=torch.bool)
    video, time = torch.tensor([0, 0, 0, 1]), torch.tensor([5, 6, 7, 6])
    m = edge_mask(node_clip, video, time, is_actor, 1)
    expected = torch.tensor([[1, 1, 0, 1, 0, 0],
                             [1, 1, 0, 1, 0, 0],
                             [0, 0, 1, 1, 1, 0],
                             [1, 1, 1, 1, 1, 0],
                             [0, 0, 1, 1, 1, 0],
                             [0, 0, 0, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(m, expected)
    no_aa = edge_mask(node_clip, video, time, is_actor, 1, actor_actor=False)
    assert not no_aa[:3, :3].any()                          # self-loops of actors too
    assert torch.equal(no_aa[3:], expected[3:]) and torch.equal(no_aa[:3, 3:], expected[:3, 3:])
    no_oo = edge_mask(node_clip, video, time, is_actor, 1, object_object=False)
    assert not no_oo[3:, 3:].any() and torch.equal(no_oo[:3], expected[:3])
    no_time = edge_mask(node_clip, video, time, is_actor, 0)
    assert torch.equal(no_time, node_clip[:, None] == node_clip[None, :])


def test_graph_attention_logits_eq_3_3_by_hand():
    # h = I (2 nodes, d_h = 2), a_1 = (1, 2), a_2 = (3, -4): a_1.h_i = (1, 2), a_2.h_j = (3, -4).
    h = torch.eye(2)[None]
    a = t([[[1., 2.], [3., -4.]]])
    e = graph_attention_logits(h, a, 0.2)
    # E_ij = LeakyReLU(a_1.h_i + a_2.h_j): 1+3 = 4, 1-4 = -3 -> -0.6, 2+3 = 5, 2-4 = -2 -> -0.4.
    assert torch.allclose(e, t([[[4., -0.6], [5., -0.4]]]))


def test_dot_product_logits_eq_3_10():
    q, k = t([[[1., 0.]]]), t([[[2., 2.], [0., 1.]]])
    assert torch.allclose(dot_product_logits(q, k), t([[[2 / math.sqrt(2), 0.]]]))


def test_masked_softmax_excludes_non_edges_and_empty_rows_give_zero():
    logits = t([[1., 2., 3.], [1., 1., 1.], [0., 0., 0.]])
    mask = torch.tensor([[1, 0, 1], [1, 1, 1], [0, 0, 0]], dtype=torch.bool)
    w = masked_softmax(logits, mask)
    e1, e3 = math.exp(1), math.exp(3)
    assert torch.allclose(w, t([[e1 / (e1 + e3), 0., e3 / (e1 + e3)],
                                [1 / 3, 1 / 3, 1 / 3],
                                [0., 0., 0.]]), atol=1e-6)


def test_masked_softmax_gradient_is_finite_with_empty_rows():
    logits = torch.randn(3, 3, requires_grad=True)
    mask = torch.tensor([[1, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=torch.bool)
    (masked_softmax(logits, mask) * torch.randn(3, 3)).sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad[1] == 0).all() and logits.grad[0, 2] == 0


def test_spatial_attention_eq_3_5_multiplies_logits_by_the_adjacency():
    e = t([[[2., 4.]]])                          # one head, one row, two columns
    a = t([[1., 0.5]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    # D = (2, 2): equal logits -> (0.5, 0.5); without A: softmax(2, 4).
    assert torch.allclose(spatial_attention(e, a, mask), t([[[0.5, 0.5]]]))
    assert spatial_attention(e, None, mask)[0, 0, 1] == pytest.approx(
        math.exp(4) / (math.exp(2) + math.exp(4)))


def test_aggregate_eq_3_7_is_elu_of_the_weighted_sum():
    w = t([[[0.5, 0.5], [1., 0.]]])
    h = t([[[2., -2.], [-4., 0.]]])
    # Row 0: (-1, -1) -> ELU = e^-1 - 1; row 1: (2, -2) -> (2, e^-2 - 1).
    em1, em2 = math.exp(-1) - 1, math.exp(-2) - 1
    assert torch.allclose(aggregate(w, h), t([[[em1, em1], [2., em2]]]))
