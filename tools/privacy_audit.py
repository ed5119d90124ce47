"""Audit videos for residual faces / bodies and compute the dataset statistics of thesis Fig. 5.3.

    python tools/privacy_audit.py ROOT --out audit.json [--plot fig53.png] [--list train.txt]
        [--show-dir flagged/]

Runs detectors independent of the anonymiser (OpenCV Haar cascade candidates verified by a face
landmark model on the upscaled crop for faces, OpenCV HOG for people) on every ``--stride``-th frame of each
video under ROOT. Per video: faces / bodies found (on anonymised output: residuals). Per class (the
parent folder, or the label of ``--list``, an mmaction2 ``<path> <label>`` file): % of videos with
faces / bodies and mean instances per frame. ``--max-residual-faces N`` makes the exit status 1 when
more than N faces are found in total (a CI gate for anonymised output). ``--show-dir DIR`` writes
every frame with a flagged face, its boxes drawn, to ``DIR/<video>/<frame>.jpg``, so a person can
tell a residual face from a false alarm.
"""
import argparse
import json
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('root', help='folder of videos (or one video)')
    p.add_argument('--out', required=True, help='JSON report path')
    p.add_argument('--plot', default=None, help='bar plot PNG path (Fig. 5.3)')
    p.add_argument('--list', default=None, help='mmaction2 video list giving the classes')
    p.add_argument('--class-names', default=None, help='file with one class name per line')
    p.add_argument('--stride', type=int, default=1, help='audit every N-th frame')
    p.add_argument('--face-detector', type=json.loads, default=None, help='JSON config')
    p.add_argument('--body-detector', type=json.loads, default=None, help='JSON config')
    p.add_argument('--no-face', action='store_true')
    p.add_argument('--no-body', action='store_true')
    p.add_argument('--max-residual-faces', type=int, default=None)
    p.add_argument('--show-dir', default=None,
                   help='write the frames with flagged faces, boxes drawn, under this folder')
    p.add_argument('--max-residual-bodies', type=int, default=None)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import os.path as osp

    import vidplugins  # noqa: F401
    from vidplugins.privacy.audit import (audit_dataset, classes_from_list, draw_flagged_frames,
                                          plot_statistics)
    from vidplugins.utils.io import dump_json_atomic
    root, videos = args.root, None
    if osp.isfile(root):
        root, videos = osp.dirname(osp.abspath(root)), [osp.basename(root)]
    classes = None
    if args.list:
        names = None
        if args.class_names:
            with open(args.class_names) as f:
                names = [ln.strip() for ln in f if ln.strip()]
        classes = classes_from_list(args.list, names)
        if videos is None:
            videos = sorted(classes)
    report = audit_dataset(root, classes, args.stride,
                           False if args.no_face else args.face_detector,
                           False if args.no_body else args.body_detector, videos=videos,
                           keep_boxes=True)
    dump_json_atomic(report, args.out, indent=1)
    if args.plot:
        plot_statistics(report['classes'], args.plot, title=osp.basename(osp.abspath(root)))
    if args.show_dir:
        n_img = 0
        for rel, rec in report['videos'].items():
            if rec.get('face_boxes'):
                n_img += len(draw_flagged_frames(osp.join(root, rel), rec['face_boxes'],
                                                 osp.join(args.show_dir, rel)))
        print(f'{n_img} flagged frames written under {args.show_dir}')
    s = report['summary']
    print(json.dumps(s))
    for rel, rec in report['videos'].items():
        print(f'{rel}: faces={rec.get("faces", "-")} bodies={rec.get("bodies", "-")} '
              f'frames={rec["frames"]}')
    for sk in report['skipped']:
        print(f'skipped: {sk["video"]}: {sk["error"]}', file=sys.stderr)
    bad = (args.max_residual_faces is not None and s.get('faces', 0) > args.max_residual_faces) \
        or (args.max_residual_bodies is not None and s.get('bodies', 0) > args.max_residual_bodies)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
