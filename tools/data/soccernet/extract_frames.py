"""Extract frames at 2 fps from SoccerNet videos for end-to-end RMS-Net (thesis Sec. 4.2.5, 4.3).

    python tools/data/soccernet/extract_frames.py DATA_ROOT [--video 224p.mkv] [--size 224 398]
        [--fps 2] [--workers 2]

For every game folder under DATA_ROOT holding ``1_<video>`` / ``2_<video>``, writes
``<half>_frames_<H>x<W>/000000.jpg ...``: whole frames (no crop) resized to H x W, one every
1 / fps seconds. Resumable and atomic: a half is written to a temporary folder and renamed when
complete, so an interrupted run never leaves a half-written folder that looks finished; finished
halves are skipped. Videos that cannot be decoded are reported at the end, not silently dropped.
"""
import argparse
import os
import os.path as osp
import shutil

import cv2
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress


def extract_half(args):
    """Decode one video; returns (video, frames written or an error message)."""
    video, out_dir, size, fps = args
    if osp.isdir(out_dir):
        return video, 'done'
    import av
    tmp = out_dir + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    n = 0
    try:
        with av.open(video) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                if frame.time is None or frame.time + 1e-6 < n / fps:
                    continue
                img = frame.to_ndarray(format='bgr24')
                img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                cv2.imwrite(osp.join(tmp, f'{n:06d}.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
                n += 1
    except Exception as e:  # report, do not stop the other halves
        shutil.rmtree(tmp, ignore_errors=True)
        return video, f'error: {e}'
    os.replace(tmp, out_dir)
    return video, n


def find_jobs(root, video, size, fps):
    jobs = []
    for dirpath, _, files in os.walk(root):
        for half in (1, 2):
            name = f'{half}_{video}'
            if name in files:
                out = osp.join(dirpath, f'{half}_frames_{size[0]}x{size[1]}')
                jobs.append((osp.join(dirpath, name), out, tuple(size), fps))
    return sorted(jobs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('data_root')
    parser.add_argument('--video', default='224p.mkv', help='video name after "<half>_"')
    parser.add_argument('--size', type=int, nargs=2, default=(224, 398), metavar=('H', 'W'))
    parser.add_argument('--fps', type=float, default=2.0)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args()
    jobs = find_jobs(args.data_root, args.video, args.size, args.fps)
    if not jobs:
        raise SystemExit(f'no <half>_{args.video} under {args.data_root}')
    if args.workers > 1:
        results = track_parallel_progress(extract_half, jobs, args.workers)
    else:
        results = track_progress(extract_half, jobs)
    errors = [(v, r) for v, r in results if isinstance(r, str) and r.startswith('error')]
    done = sum(1 for _, r in results if r == 'done')
    frames = sum(r for _, r in results if isinstance(r, (int, np.integer)))
    print(f'\n{len(jobs)} halves: {frames} frames written, {done} already done, '
          f'{len(errors)} failed')
    for video, err in errors:
        print(f'  {video}: {err}')
    if errors:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
