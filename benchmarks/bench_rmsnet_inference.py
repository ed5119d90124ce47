"""RMS-Net inference over a full match on CPU (goal: < 0.1 s for the v1 protocol).

    python benchmarks/bench_rmsnet_inference.py [--repeats 5] [--threads N]

A match = two 45-minute halves at 2 fps (5,400 frames each) of 512-d features. Times, in one
process: the batched sliding-window path used by ``RMSNet.predict`` (all windows of a half gathered
and scored in one forward with FFT convolutions, then ``windows_to_spots``), against the same path with
direct convolutions and the naive baseline of one forward per window, for the v1 protocol (stride T = 41, no NMS) and the challenge protocol (stride 4, NMS over
31 frames). Prints the times and the ratios.
"""
import argparse
import time

import numpy as np
import torch

import vidplugins  # noqa: F401
from vidplugins.rmsnet.models import RMSNet
from vidplugins.rmsnet.postprocess import nms_1d, windows_to_spots

FRAMES, DIM, T = 5400, 512, 41


def match_batched(model, halves, stride, nms):
    for feats in halves:
        starts = torch.arange(0, FRAMES - T + 1, stride)
        probs, offsets = model.predict_windows(feats, starts)
        spots = windows_to_spots(starts.numpy(), probs.numpy(), offsets.numpy(), T, FRAMES)
        if nms:
            nms_1d(*spots, window=31)


def match_direct(model, halves, stride, nms):
    model.fft_conv = False
    try:
        match_batched(model, halves, stride, nms)
    finally:
        model.fft_conv = True


def match_naive(model, halves, stride):
    for feats in halves:
        for s in range(0, FRAMES - T + 1, stride):
            model.head(feats[s:s + T][None])


def best_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = RMSNet(head=dict(in_channels=DIM, num_classes=3), window_size=T).eval()
    halves = [torch.randn(FRAMES, DIM) for _ in range(2)]
    print(f'full match: 2 x {FRAMES} frames x {DIM}-d, T = {T}, torch threads = '
          f'{torch.get_num_threads()}')
    with torch.inference_mode():
        v1 = best_time(lambda: match_batched(model, halves, T, False), args.repeats)
        v1_direct = best_time(lambda: match_direct(model, halves, T, False), args.repeats)
        v1_naive = best_time(lambda: match_naive(model, halves, T), args.repeats)
        ch = best_time(lambda: match_batched(model, halves, 4, True), args.repeats)
        ch_naive = best_time(lambda: match_naive(model, halves, 4), max(1, args.repeats // 2))
    print(f'v1 protocol (stride {T}):      batched {v1 * 1e3:8.1f} ms   per-window loop '
          f'{v1_naive * 1e3:8.1f} ms   ratio {v1_naive / v1:5.1f}x   goal < 100 ms: '
          f'{"OK" if v1 < 0.1 else "MISSED"}')
    print(f'  of which FFT convolutions: batched with direct convolutions {v1_direct * 1e3:8.1f} ms'
          f'   ratio {v1_direct / v1:5.2f}x')
    print(f'challenge (stride 4 + NMS):   batched {ch * 1e3:8.1f} ms   per-window loop '
          f'{ch_naive * 1e3:8.1f} ms   ratio {ch_naive / ch:5.1f}x')


if __name__ == '__main__':
    main()
