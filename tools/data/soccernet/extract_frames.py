"""Extract frames at 2 fps from SoccerNet videos for end-to-end RMS-Net (thesis Sec. 4.2.5, 4.3).

    python tools/data/soccernet/extract_frames.py DATA_ROOT [--video 224p.mkv] [--size 224 398]
        [--fps 2] [--workers 2]

For every game folder under DATA_ROOT holding ``1_<video>`` / ``2_<video>``, writes
``<half>_frames_<H>x<W>/000000.jpg ...``: whole frames (no crop) resized to H x W, one every
1 / fps seconds. Resumable and atomic: a half is written to a temporary folder and renamed when
complete, so an interrupted run never leaves a half-written folder that looks finished; finished
halves are skipped. Nothing fails silently: videos that cannot be decoded, halves that yield no
frame and failed image writes fail the half (it is not recorded as done; exit status 1), and
decoded frames without a timestamp are counted and reported.
"""
import argparse
import os
import os.path as osp
import shutil

import cv2
from mmengine.utils import track_parallel_progress, track_progress


class ExtractionError(RuntimeError):
    """A half that cannot be extracted completely (decode or write failure, no frames)."""


def extract_half(args):
    """Decode one video; returns ``(video, result)``, result a dict with ``status`` ('written',
    'done' or 'error'), ``frames`` written, ``no_timestamp`` (decoded frames without a timestamp:
    they cannot be placed on the 1 / fps grid, so they are skipped and counted) and ``error``.

    A half is only recorded as done (its folder renamed into place) when at least one frame was
    written and every ``cv2.imwrite`` succeeded.
    """
    video, out_dir, size, fps = args
    if osp.isdir(out_dir):
        return video, dict(status='done', frames=0, no_timestamp=0, error=None)
    import av
    tmp = out_dir + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    n = no_timestamp = 0
    try:
        with av.open(video) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                if frame.time is None:
                    no_timestamp += 1
                    continue
                if frame.time + 1e-6 < n / fps:
                    continue
                img = frame.to_ndarray(format='bgr24')
                img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                path = osp.join(tmp, f'{n:06d}.jpg')
                if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                    raise ExtractionError(f'cv2.imwrite failed for {path}')
                n += 1
        if n == 0:
            raise ExtractionError(
                'no frame decoded' + (f' with a timestamp ({no_timestamp} without)'
                                      if no_timestamp else ''))
    except Exception as e:  # report, do not stop the other halves
        shutil.rmtree(tmp, ignore_errors=True)
        return video, dict(status='error', frames=0, no_timestamp=no_timestamp,
                           error=f'{type(e).__name__}: {e}')
    os.replace(tmp, out_dir)
    return video, dict(status='written', frames=n, no_timestamp=no_timestamp, error=None)


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
    return report(results, len(jobs))


def report(results, num_jobs):
    """Print the summary; returns the exit status (1 if any half failed)."""
    errors = [(v, r['error']) for v, r in results if r['status'] == 'error']
    done = sum(1 for _, r in results if r['status'] == 'done')
    frames = sum(r['frames'] for _, r in results)
    untimed = [(v, r['no_timestamp']) for v, r in results if r['no_timestamp']]
    print(f'\n{num_jobs} halves: {frames} frames written, {done} already done, '
          f'{len(errors)} failed, {sum(n for _, n in untimed)} frames without a timestamp '
          'skipped')
    for video, n in untimed:
        print(f'  {video}: {n} frames without a timestamp (skipped)')
    for video, err in errors:
        print(f'  {video}: error: {err}')
    return 1 if errors else 0


if __name__ == '__main__':
    raise SystemExit(main())
