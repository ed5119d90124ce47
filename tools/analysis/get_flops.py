"""Parameters and FLOPs of the model a config runs at test time, on its test input.

    python tools/analysis/get_flops.py CONFIG [--shape C T H W | --shape T D] [--cfg-options ...]

Prints the input, ``Params: <integer>`` and ``FLOPs: <number>G``, counted by mmengine's analysis
tools (``mmengine.analysis.get_model_complexity_info``; one multiply-add = one FLOP, as in the
OpenMMLab model zoos). ``--shape`` is one clip *without* the batch dimension. The input is, in
this order:

* ``--shape``, else the config's ``flops_input_shape`` (e.g. the end-to-end RMS-Net window
  ``(T, 3, H, W)``);
* STAGE / STO / linear models on features: ``model.dummy_inputs(**cfg.flops_inputs)``, one clip of
  ``num_actors`` actors and ``num_objects`` objects (Table 3.10: 4 and 25). With
  ``flops_linear_only=True`` a last line counts only the ``nn.Linear`` modules (the convention
  of the thesis's counts, configs/stage/README.md);
* RMS-Net on features: one window ``(T, D)`` of the model;
* video recognizers (privacy configs): one view ``(3, T, H, W)`` of the test pipeline
  (``SampleFrames.clip_len``; ``CenterCrop`` / ``ThreeCrop`` size, else the ``Resize`` scale);
  SlowFast: the fast pathway's frames;
* AVA detectors (``stage-e2e_*``: FastRCNN with STAGE's RoI head): one clip of the test
  pipeline (``SampleAVAFrames.clip_len``, ``Resize`` short side; a ``(-1, S)`` scale is measured
  on an S x S frame) with ``num_actors`` actor proposals and ``num_objects`` object boxes
  (``flops_inputs``, default 4 and 25): backbone, RoI pooling, STAGE and the bbox head.

A distillation config (privacy KD / KD + RKD) runs only its student at test time: its line says
``(student)`` and counts the student's parameters and FLOPs, never the teacher's.
"""
import argparse
import copy

import torch
from torch import nn

import vidplugins  # noqa: F401
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS

DETECTORS = ('FastRCNN', )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count parameters and FLOPs of the model a config runs at test time')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='one input without the batch dimension: C T H W for video '
                        'models, T D for RMS-Net on features (default: from the config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value pairs)')
    return parser.parse_args(argv)


def _type(t) -> str:
    name = t['type'] if isinstance(t['type'], str) else t['type'].__name__
    return name.split('.')[-1]


def test_pipeline(cfg) -> list:
    """The test (else val) dataloader's pipeline, through wrapper datasets."""
    for key in ('test_dataloader', 'val_dataloader'):
        ds = (cfg.get(key) or {}).get('dataset')
        while isinstance(ds, dict) and 'pipeline' not in ds and 'dataset' in ds:
            ds = ds['dataset']
        if isinstance(ds, dict) and ds.get('pipeline'):
            return list(ds['pipeline'])
    return list(cfg.get('test_pipeline') or [])


def _size(value):
    """crop / scale value -> (h, w); -1 sides mean 'keep the aspect ratio': square."""
    if isinstance(value, int):
        return value, value
    w, h = value
    side = max(w, h)
    return (side if h == -1 else h), (side if w == -1 else w)


def clip_shape(cfg, where: str):
    """(C, T, H, W) of one test view from the config's test pipeline, and how it was found."""
    steps = test_pipeline(cfg)
    names = [_type(t) for t in steps]
    sample = next((t for t in steps if _type(t) in ('SampleFrames', 'SampleAVAFrames')), None)
    if sample is None:
        raise SystemExit(f'{where}: no input shape: the test pipeline ({names}) has no '
                         f'SampleFrames / SampleAVAFrames; pass --shape or set '
                         f'flops_input_shape')
    frames = int(sample['clip_len'])
    hw, how = None, None
    for t in steps:
        if _type(t) in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            hw, how = _size(t['crop_size']), _type(t)
    if hw is None:
        resize = next((t for t in steps if _type(t) == 'Resize'), None)
        if resize is None:
            raise SystemExit(f'{where}: no input shape: no crop or Resize in the test pipeline '
                             f'({names}); pass --shape')
        hw, how = _size(resize['scale']), f'Resize scale {tuple(resize["scale"])}'
    return (3, frames) + tuple(hw), f'{_type(sample)} clip_len {frames}, {how}'


class DetectorAtTest(nn.Module):
    """An AVA FastRCNN at test time on one clip with fixed proposals: backbone, RoI pooling of
    the actors (and of the objects, for STAGE's RoI head), RoI head and bbox head."""

    def __init__(self, model, num_actors: int, num_objects: int, img_hw):
        super().__init__()
        self.model = model
        h, w = img_hw
        g = torch.Generator().manual_seed(0)
        xy = torch.rand(num_actors, 2, generator=g) * 0.5
        self.proposals = torch.cat([xy, xy + 0.4], 1) * torch.tensor([w, h, w, h])
        oxy = torch.rand(num_objects, 2, generator=g) * 0.8
        self.meta = dict(img_shape=(h, w), video_id='v', timestamp=902,
                         object_bboxes=torch.cat([oxy, oxy + 0.15], 1).numpy())

    def forward(self, x):
        from mmdet.structures.bbox import bbox2roi
        feats = self.model.extract_feat(x)
        rois = bbox2roi([self.proposals.to(x.device)])
        return self.model.roi_head._bbox_forward(feats, rois, [self.meta])['cls_score']


def measured_model(cfg, model, shape, where):
    """(module, inputs, description): what runs at test time and its input."""
    kind = cfg.model.get('type')
    if hasattr(model, 'student'):  # distillers test the student alone
        return measured_model(cfg, model.student, shape, where)
    if kind in DETECTORS:
        counts = dict(dict(num_actors=4, num_objects=25), **(cfg.get('flops_inputs') or {}))
        if getattr(model.roi_head, 'object_source', 'none') == 'none':
            counts['num_objects'] = 0
        chw, how = (tuple(shape), '--shape') if shape else clip_shape(cfg, where)
        wrapper = DetectorAtTest(model, counts['num_actors'], counts['num_objects'], chw[2:])
        return wrapper, (torch.zeros((1, ) + chw), ), (
            f'Input: clip {chw} ({how}), {counts["num_actors"]} actor proposals, '
            f'{counts["num_objects"]} object boxes')
    how = '--shape' if shape else None
    if shape is None and cfg.get('flops_input_shape'):
        shape, how = tuple(cfg.flops_input_shape), 'config'
    if shape is None and cfg.get('flops_inputs') is not None:
        if not hasattr(model, 'dummy_inputs'):
            raise SystemExit(f'{where}: flops_inputs is set but {type(model).__name__} has no '
                             'dummy_inputs() method')
        inputs = model.dummy_inputs(**cfg.flops_inputs)
        return model, (inputs, None, 'tensor'), 'Input: ' + ', '.join(
            f'{k}={v}' for k, v in cfg.flops_inputs.items())
    if shape is None and kind == 'RMSNet' and cfg.model.get('backbone') is None:
        shape = (cfg.model.get('window_size', 41), cfg.model.head.get('in_channels', 512))
        how = 'config'
    if shape is None:
        shape, how = clip_shape(cfg, where)
    shape = tuple(shape)
    if hasattr(model, 'cls_head') and len(shape) == 4:
        # mmaction2 recognizers take (N, views, C, T, H, W): one view of one clip
        inputs = torch.zeros((1, 1) + shape)
    else:
        inputs = torch.zeros((1, ) + shape)
    return model, (inputs, None, 'tensor'), f'Input shape: {shape} ({how})'


def linear_flops(model, inputs) -> int:
    """FLOPs of the ``nn.Linear`` modules alone (each counted once, not through its parents)."""
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_module = analyzer.by_module()
    return sum(by_module.get(name, 0) for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear))


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(copy.deepcopy(cfg.model))  # built, not initialised: no weights read
    model.eval()
    module, inputs, description = measured_model(cfg, model, args.shape, args.config)
    module.eval()
    with torch.no_grad():
        analysis = get_model_complexity_info(module, inputs=inputs, show_table=False,
                                             show_arch=False)
    target = model.student if hasattr(model, 'student') else model
    params = sum(p.numel() for p in target.parameters())
    who = ' (student)' if hasattr(model, 'student') else ''
    print(description)
    print(f'Params{who}: {params}')
    print(f'FLOPs{who}: {analysis["flops"] / 1e9:.6g}G')
    if cfg.get('flops_linear_only', False):
        flops = linear_flops(module, inputs)
        print(f'FLOPs (nn.Linear layers): {flops / 1e9:.6g}G')
    return dict(params=params, flops=analysis['flops'])


if __name__ == '__main__':
    main()
