import math

import pytest
import torch

from vidplugins.rmsnet.losses import regression_loss, spotting_loss
from vidplugins.rmsnet.models import RMSNet, SpottingHead


def table_4_1_params(d=512, c=3, k=9):
    """Parameters of Table 4.1, layer by layer (weights + biases)."""
    fc1 = d * 256 + 256
    conv1 = k * 256 * 256 + 256
    conv2 = k * 256 * 128 + 128
    fc2 = 128 * 64 + 64
    fc_cls = 64 * (c + 1) + (c + 1)
    fc_reg = 64 + 1
    return fc1 + conv1 + conv2 + fc2 + fc_cls + fc_reg


def test_head_parameter_count_matches_table_4_1():
    head = SpottingHead(in_channels=512, num_classes=3)
    n = sum(p.numel() for p in head.parameters())
    assert n == table_4_1_params() == 1_025_029          # "about 1.03M" for 3 + 1 classes
    assert sum(p.numel() for p in SpottingHead(num_classes=17).parameters()) == \
        table_4_1_params(c=17)


def test_head_shapes_and_time_invariance_of_max():
    head = SpottingHead(in_channels=16, num_classes=4, hidden_channels=8, conv_channels=8,
                        fc_channels=4).eval()
    x = torch.randn(5, 41, 16)
    cls, off = head(x)
    assert cls.shape == (5, 5) and off.shape == (5, )


def test_spotting_loss_by_hand():
    # Two windows, C = 1 (+ background). Window 0: foreground, window 1: background.
    cls_logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    offset_logits = torch.tensor([0.0, 5.0])          # sigmoid -> 0.5, 0.9933
    labels = torch.tensor([0, 1])
    offsets = torch.tensor([0.25, 0.0])
    fg = torch.tensor([True, False])
    losses = spotting_loss(cls_logits, offset_logits, labels, offsets, fg, regression_weight=10)
    # CE: window 0 -log(1/2); window 1 -log(1/4) (softmax of [log 3, 0] gives 1/4 to class 1).
    ce = (math.log(2) + math.log(4)) / 2
    assert losses['loss_cls'].item() == pytest.approx(ce, rel=1e-6)
    # Regression only on the foreground window: (0.5 - 0.25)^2 = 0.0625, averaged over 2 windows.
    assert losses['loss_reg'].item() == pytest.approx(10 * 0.0625 / 2, rel=1e-6)
    assert regression_loss(torch.tensor([0.0]), torch.tensor([1.0])).item() == 0.25


def _sample(label, offset):
    from mmaction.structures import ActionDataSample
    ds = ActionDataSample()
    ds.set_gt_label(label)
    ds.gt_offset = offset
    return ds


def test_rmsnet_loss_and_predict_windows():
    torch.manual_seed(0)
    model = RMSNet(head=dict(in_channels=8, num_classes=3, hidden_channels=8, conv_channels=8,
                             fc_channels=8), window_size=5)
    data = model.data_preprocessor(dict(inputs=[torch.randn(5, 8) for _ in range(3)],
                                        data_samples=[_sample(0, 0.2), _sample(3, 0.0),
                                                      _sample(2, 0.8)]), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_reg'} and losses['loss_reg'] > 0
    # Prediction on a segment: windows gathered at the given starts.
    model.eval()
    from mmaction.structures import ActionDataSample
    ds = ActionDataSample()
    ds.window_starts = [0, 5, 7]
    ds.set_metainfo(dict(segment_start=100))
    seg = torch.randn(1, 12, 8)
    out = model(seg, [ds], mode='predict')[0].pred_windows
    assert out.starts.tolist() == [100, 105, 107]
    assert out.scores.shape == (3, 4) and torch.allclose(out.scores.sum(1), torch.ones(3))
    cls, off = model.head(seg[:, 7:12])
    assert torch.allclose(out.offsets[2], torch.sigmoid(off)[0])


def test_no_regression_predicts_window_centre_and_has_no_regression_loss():
    model = RMSNet(head=dict(in_channels=4, num_classes=2), window_size=9, use_regression=False)
    data = model.data_preprocessor(dict(inputs=[torch.randn(9, 4)],
                                        data_samples=[_sample(0, 0.3)]), True)
    assert model(**data, mode='loss')['loss_reg'].item() == 0
    model.eval()
    _, off = model.predict_windows(torch.randn(20, 4), torch.tensor([0, 11]))
    assert off.tolist() == [0.5, 0.5]


def test_end_to_end_backbone_encodes_every_frame():
    torch.manual_seed(0)
    model = RMSNet(head=dict(in_channels=512, num_classes=3), window_size=4,
                   backbone=dict(type='mmpretrain.ResNet', depth=18, frozen_stages=3,
                                 norm_eval=True),
                   data_preprocessor=dict(type='SpottingDataPreprocessor',
                                          mean=[123.675, 116.28, 103.53],
                                          std=[58.395, 57.12, 57.375]))
    frames = torch.randint(0, 255, (2, 4, 32, 48, 3), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=list(frames),
                                        data_samples=[_sample(0, 0.5), _sample(3, 0.0)]), True)
    assert data['inputs'].shape == (2, 4, 3, 32, 48)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    # Stages 1-3 and the stem are frozen (Sec. 4.2.5: only the last stage is fine-tuned).
    bb = model.backbone
    assert bb.layer4[0].conv1.weight.grad is not None
    assert bb.layer3[0].conv1.weight.grad is None and bb.conv1.weight.grad is None


@pytest.mark.parametrize('window,kernel', [(41, 9), (10, 3), (7, 9), (1, 5)])
def test_fft_convolution_equals_conv1d_with_same_padding(window, kernel):
    from vidplugins.rmsnet.fft_conv import conv1d_same_fft, fft_length, frequency_weights
    torch.manual_seed(window)
    x = torch.randn(5, 6, window)                    # (B, C_in, T)
    w, b = torch.randn(4, 6, kernel), torch.randn(4)
    ref = torch.nn.functional.conv1d(x, w, b, padding=kernel // 2)
    n = fft_length(window, kernel)
    assert n == window + kernel // 2
    out = conv1d_same_fft(x.permute(2, 0, 1), frequency_weights(w, n), b, n, kernel)
    assert out.shape == (window, 5, 4)
    torch.testing.assert_close(out.permute(1, 2, 0), ref, rtol=1e-5, atol=1e-5)
    # A longer circular length changes nothing (the wrap-around lands on discarded outputs).
    out = conv1d_same_fft(x.permute(2, 0, 1), frequency_weights(w, n + 5), b, n + 5, kernel)
    torch.testing.assert_close(out.permute(1, 2, 0), ref, rtol=1e-5, atol=1e-5)


def test_fft_inference_path_gives_the_direct_path_scores():
    torch.manual_seed(0)
    model = RMSNet(head=dict(in_channels=32, num_classes=3), window_size=41).eval()
    feats = torch.randn(41 * 20 + 7, 32)
    with torch.no_grad():
        for starts in (torch.arange(0, 41 * 20, 41), torch.arange(0, 41 * 20 - 40, 4)):
            fast = model.predict_windows(feats, starts)
            model.fft_conv = False
            slow = model.predict_windows(feats, starts)
            model.fft_conv = True
            for a, b in zip(fast, slow):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        # A weight update invalidates the cached frequency weights.
        model.head.conv1.weight.mul_(2)
        fast = model.predict_windows(feats, torch.arange(0, 41 * 20, 41))
        model.fft_conv = False
        slow = model.predict_windows(feats, torch.arange(0, 41 * 20, 41))
    torch.testing.assert_close(fast[0], slow[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match='inference'):
        model.train().head.forward_embedded_fft(torch.randn(2, 41, 256))


class _CountingBackbone(torch.nn.Module):
    """A tiny 2D backbone that records how many frames each call sees."""

    def __init__(self, channels: int = 6):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, channels, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(channels)
        self.calls = []

    def forward(self, x):
        self.calls.append(len(x))
        return (torch.relu(self.bn(self.conv(x))),)


def _counting_model(chunk):
    from mmaction.registry import MODELS
    MODELS.register_module(name='_CountingBackbone', module=_CountingBackbone, force=True)
    torch.manual_seed(0)
    model = RMSNet(head=dict(in_channels=6, num_classes=3), window_size=5,
                   backbone=dict(type='_CountingBackbone'), encode_chunk_frames=chunk,
                   data_preprocessor=dict(type='SpottingDataPreprocessor',
                                          mean=[120.0, 110.0, 100.0], std=[60.0, 55.0, 50.0]))
    return model.eval()


def test_end_to_end_inference_encodes_in_chunks_with_the_one_shot_outputs():
    """Issue 10, item 3: a half goes through the backbone ``encode_chunk_frames`` frames at a
    time (memory bounded by the chunk), with the scores of encoding it in one call."""
    from mmaction.structures import ActionDataSample
    frames = torch.randint(0, 256, (53, 8, 10, 3), dtype=torch.uint8)     # one 53-frame half
    outputs = {}
    for chunk in (None, 7):
        model = _counting_model(chunk)
        model.load_state_dict(_counting_model(None).state_dict())          # same weights
        ds = ActionDataSample()
        ds.window_starts = list(range(0, 49))                              # stride 1
        ds.set_metainfo(dict(segment_start=0))
        data = model.data_preprocessor(dict(inputs=[frames], data_samples=[ds]), False)
        assert data['inputs'].dtype == torch.uint8                         # normalised per chunk
        with torch.no_grad():
            (out,) = model(**data, mode='predict')
        outputs[chunk] = out.pred_windows
        calls = model.backbone.calls
        if chunk is None:
            assert calls == [53]
        else:
            assert max(calls) <= chunk and sum(calls) == 53 and len(calls) == math.ceil(53 / 7)
    torch.testing.assert_close(outputs[7].scores, outputs[None].scores, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outputs[7].offsets, outputs[None].offsets, rtol=1e-5, atol=1e-6)
    # Chunk-wise normalisation of uint8 frames = the training path's normalisation of the batch.
    model = _counting_model(7)
    normalised = model.data_preprocessor(dict(inputs=[frames]), True)['inputs']
    assert normalised.dtype == torch.float32
    raw = frames.permute(0, 3, 1, 2)[None]
    with torch.no_grad():
        torch.testing.assert_close(model.encode(raw, 7), model.encode(normalised), rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(ValueError, match='encode_chunk_frames'):
        RMSNet(head=dict(in_channels=6), encode_chunk_frames=0)
