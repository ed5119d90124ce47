"""Training windows sampled per second (sampler + dataset + pipeline with masking).

    python benchmarks/bench_rmsnet_sampler.py [--windows 4000]

Generates a demo SoccerNet-v1 set in a temporary folder, builds the training dataset of the main
config (foreground windows at stride 1, background at stride T, masking p = 1/3), and times
drawing one epoch's indices with ``SpottingBalancedSampler`` and loading that many windows through
the pipeline, against the floor of reading the same windows straight from the memory-mapped .npy
files in the same run. Prints windows/s and the ratio to the floor.
"""
import argparse
import tempfile
import time

import numpy as np

import vidplugins  # noqa: F401
from vidplugins.demo_data.soccernet import generate_soccernet
from vidplugins.rmsnet.datasets import SoccerNetWindowDataset
from vidplugins.rmsnet.samplers import SpottingBalancedSampler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--windows', type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        generate_soccernet(root, version=1, splits={'Train': 8}, half_frames=1800)
        ds = SoccerNetWindowDataset(
            data_root=root, ann_file='listgame_Train.npy',
            pipeline=[dict(type='MaskEventContext', p=1 / 3, q=0.5),
                      dict(type='PackSpottingInputs')])
        n_f = int(args.windows * 0.75)
        sampler = SpottingBalancedSampler(ds, num_foreground=n_f, seed=0)
        t0 = time.perf_counter()
        indices = list(sampler)
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in indices:
            ds[i]
        t_load = time.perf_counter() - t0
        infos = [ds.get_data_info(i) for i in indices]
        mmaps = {}
        t0 = time.perf_counter()
        for info in infos:
            path = info['feature_path']
            if path not in mmaps:
                mmaps[path] = np.load(path, mmap_mode='r')
            np.array(mmaps[path][info['start']:info['start'] + 41], dtype=np.float32)
        t_floor = time.perf_counter() - t0
    n = len(indices)
    print(f'{len(ds)} windows in the pool ({len(ds.foreground_indices)} foreground); '
          f'epoch of {n} windows')
    print(f'sampler: {n / t_sample:12.0f} indices/s')
    print(f'sampler + dataset + pipeline: {n / (t_sample + t_load):8.0f} windows/s   '
          f'raw .npy reads: {n / t_floor:8.0f} windows/s   ratio to the floor '
          f'{(t_sample + t_load) / t_floor:5.1f}x slower')


if __name__ == '__main__':
    main()
