"""STAGE training and inference speed on CPU against the per-actor linear baseline.

    python benchmarks/bench_stage.py [--repeats 20] [--threads N] [--backbone i3d]

Batches of 6 consecutive keyframes of one video (batch size of Sec. 3.2.2), each with 4 actors and
25 objects (the AVA training averages, Table 3.10), features of the chosen backbone (I3D: 1024-d
actors, 2048-d objects, 4 heads x 2 layers; r101-i3d-nl / slowfast-nl: 2 heads x 2 layers). In one
process: one training step (forward, BCE loss, backward, Adam step) and inference (``predict``,
keyframes per second), for STAGE and for ``ActorLinearClassifier`` on the same packed batch. Prints
the times and the STAGE / linear ratios.
"""
import argparse
import time

import torch
from mmengine.structures import InstanceData

import vidplugins  # noqa: F401
from mmaction.structures import ActionDataSample
from vidplugins.stage.models import STAGE, ActorLinearClassifier

BACKBONES = {'i3d': (1024, 4), 'r101-i3d-nl': (2048, 2), 'slowfast-nl': (2304, 2)}
KEYFRAMES, ACTORS, OBJECTS, CLASSES = 6, 4, 25, 81


def make_batch(model, seed=0):
    inputs = model.dummy_inputs(ACTORS, OBJECTS, num_clips=KEYFRAMES)
    g = torch.Generator().manual_seed(seed)
    samples = []
    for k in range(KEYFRAMES):
        ds = ActionDataSample()
        ds.set_metainfo(dict(video_id='bench', timestamp=902 + k, img_shape=(360, 640)))
        labels = (torch.rand(ACTORS, CLASSES, generator=g) < 0.05).float()
        labels[:, 0] = 0
        ds.gt_instances = InstanceData(labels=labels,
                                       bboxes=inputs['actor_boxes'][inputs['actor_clip'] == k])
        samples.append(ds)
    return inputs, samples


def best_time(fn, repeats):
    for _ in range(3):  # warm-up
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(model, repeats):
    inputs, samples = make_batch(model)
    opt = torch.optim.Adam(model.parameters(), lr=6.25e-5)

    def train_step():
        model.train()
        opt.zero_grad()
        model(inputs, samples, mode='loss')['loss_cls'].backward()
        opt.step()

    @torch.no_grad()
    def infer():
        model.eval()
        model(inputs, samples, mode='predict')

    return best_time(train_step, repeats), best_time(infer, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--backbone', choices=sorted(BACKBONES), default='i3d')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dim, heads = BACKBONES[args.backbone]
    stage = STAGE(actor_dim=dim, object_dim=2048, num_classes=CLASSES, num_heads=heads,
                  num_layers=2)
    linear = ActorLinearClassifier(actor_dim=dim, num_classes=CLASSES)
    print(f'{args.backbone}: {KEYFRAMES} keyframes x ({ACTORS} actors + {OBJECTS} objects) per '
          f'batch, {torch.get_num_threads()} threads, best of {args.repeats}')
    results = {}
    for name, model in (('STAGE', stage), ('ActorLinearClassifier', linear)):
        train, infer = measure(model, args.repeats)
        results[name] = (train, infer)
        print(f'{name:22s} train step {train * 1e3:8.2f} ms   inference '
              f'{KEYFRAMES / infer:9.1f} keyframes/s ({infer * 1e3:.2f} ms / batch)')
    (st, si), (lt, li) = results['STAGE'], results['ActorLinearClassifier']
    print(f'ratio STAGE / linear: train step x{st / lt:.1f}, inference time x{si / li:.1f} '
          f'(STAGE {KEYFRAMES / si:.0f} vs linear {KEYFRAMES / li:.0f} keyframes/s)')


if __name__ == '__main__':
    main()
