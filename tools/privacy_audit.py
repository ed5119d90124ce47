"""Audit videos for residual faces / bodies and compute the dataset statistics of thesis Fig. 5.3.

    python tools/privacy_audit.py ROOT --out audit.json [--plot fig53.png] [--list train.txt]
        [--show-dir flagged/]

Runs detectors independent of the anonymiser (MTCNN united with OpenCV Haar cascade candidates
verified by a face landmark model on the upscaled crop for faces, OpenCV HOG for people) on every
``--stride``-th frame of each video under ROOT. ``--gt FILE`` (annotated faces) reports the
auditor's own recall on them (its calibration) and the annotated faces still visible in the
anonymised copies. Per video: faces / bodies found (on anonymised output: residuals). Per class (the
parent folder, or the label of ``--list``, an mmaction2 ``<path> <label>`` file): % of videos with
faces / bodies and mean instances per frame. ``--max-residual-faces N`` makes the exit status 1 when
more than N faces are found in total (a CI gate for anonymised output); the failure lists the
videos and frames. ``--show-dir DIR`` writes every frame with a flagged face, its boxes drawn, to
``DIR/<video>/<frame>.jpg``, so a person can tell a residual face from a false alarm.
``--person-gt FILE --originals DIR`` reports body-level person recall on annotated frames
(:mod:`vidplugins.privacy.person_recall`: head >= 90 % and box >= 50 % obfuscated, the obfuscated
pixels being those that differ from the original).

Nothing is left out silently: image files are audited as one-frame videos; a video that cannot be
read, or decodes to fewer frames than its container declares (truncated), is listed with its
error; files of other types (and rawframes folders, not audited) are listed and counted in the
report. Exit status: 2 when ROOT does not exist or holds no video; 1 when a gate is exceeded or
any listed video was not audited completely (so ``--max-residual-faces 0`` passes only when every
video was audited and showed no face); else 0.
"""
import argparse
import json
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument('--gt', default=None,
                   help='annotated faces (dlib imglab XML or COCO-WholeBody JSON with face_box, '
                        'images beside it): reports the auditor\'s own recall on the originals '
                        '(its calibration) and the annotated faces it still finds in the '
                        'anonymised copies under ROOT (same relative paths)')
    p.add_argument('--person-gt', default=None,
                   help='annotated people (COCO JSON: images with file_name = video and '
                        'frame_index, annotations with bbox and head_box, e.g. '
                        'tests/data/privacy/shared_video_persons.json): reports body-level '
                        'person recall of the videos under ROOT against --originals')
    p.add_argument('--originals', default=None,
                   help='folder of the original videos (same relative paths), for --person-gt')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import os.path as osp

    import vidplugins  # noqa: F401
    from vidplugins.privacy.audit import (audit_dataset, classes_from_list, draw_flagged_frames,
                                          plot_statistics)
    from vidplugins.privacy.anonymizer import VideoReadError, probe_video
    from vidplugins.privacy.inputs import walk_inputs
    from vidplugins.utils.io import dump_json_atomic
    if args.person_gt and not args.originals:
        print('privacy_audit: error: --person-gt needs --originals', file=sys.stderr)
        return 2
    root, videos, unknown, not_audited = args.root, None, [], []
    if not osp.exists(root):
        print(f'privacy_audit: error: ROOT {root} does not exist', file=sys.stderr)
        return 2
    if osp.isfile(root):
        root, videos = osp.dirname(osp.abspath(root)), [osp.basename(root)]
    elif not args.list:
        items, unknown = walk_inputs(root)
        videos = [it.rel for it in items if it.kind in ('video', 'image')]
        not_audited = [it.rel for it in items if it.kind not in ('video', 'image')]
    classes = None
    if args.list:
        names = None
        if args.class_names:
            with open(args.class_names) as f:
                names = [ln.strip() for ln in f if ln.strip()]
        classes = classes_from_list(args.list, names)
        if videos is None:
            videos = sorted(classes)
    if not videos:
        print(f'privacy_audit: error: no video found under {root} ({len(unknown)} files of other '
              f'types, {len(not_audited)} rawframes folders)', file=sys.stderr)
        return 2
    report = audit_dataset(root, classes, args.stride,
                           False if args.no_face else args.face_detector,
                           False if args.no_body else args.body_detector, videos=videos,
                           keep_boxes=True)
    incomplete = []
    for rel, rec in report['videos'].items():  # truncated files decode fewer frames than declared
        try:
            declared = probe_video(osp.join(root, rel))['frames']
        except VideoReadError:
            declared = 0
        if declared and rec['frames_total'] != declared:
            rec['incomplete'] = True
            incomplete.append(dict(video=rel, error=f'{osp.join(root, rel)}: decoded '
                                   f'{rec["frames_total"]} frames but the container declares '
                                   f'{declared} (truncated or corrupt)'))
    report['incomplete'], report['unknown'] = incomplete, unknown
    report['not_audited'] = [dict(video=r, error='rawframes folders are not audited')
                             for r in not_audited]
    s = report['summary']
    s.update(incomplete=len(incomplete), unknown=len(unknown), not_audited=len(not_audited))
    if args.gt:  # issue 15: the auditor's calibration and recall against given boxes
        from vidplugins.privacy.audit import calibrate, gt_residuals
        face = None if args.face_detector is None else args.face_detector
        cal = calibrate(args.gt, face)
        report['calibration'] = cal
        report['gt'] = gt_residuals(root, args.gt, face)
        print(f'auditor calibration: recall {cal["found"]}/{cal["faces"]} = {cal["recall"]:.3f} '
              f'on {args.gt}' + ('' if cal['recall'] >= 0.95 else
                                 ' (below 0.95: its zero counts are weak evidence)'))
        g = report['gt']
        print(f'against the given boxes: {g["images"]} anonymised images, {g["faces"]} faces, '
              f'{g["found_in_originals"]} seen by the auditor in the originals, {g["residual"]} '
              f'still seen after anonymisation: recall {g["recall"]:.3f}')
    if args.person_gt:  # issue 15, item 7: person recall against given person boxes
        from vidplugins.privacy.person_recall import format_person_recall, output_person_recall
        report['persons'] = output_person_recall(root, args.originals, args.person_gt)
        print(format_person_recall(report['persons']).replace(
            f'; {report["persons"]["whole_frames"]} frames obfuscated whole', ''))
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
    print(json.dumps(s))
    for rel, rec in report['videos'].items():
        print(f'{rel}: faces={rec.get("faces", "-")} bodies={rec.get("bodies", "-")} '
              f'frames={rec["frames"]}')
    for key in ('skipped', 'incomplete', 'not_audited'):
        for sk in report[key]:
            print(f'{key}: {sk["video"]}: {sk["error"]}', file=sys.stderr)
    if unknown:
        more = f' (and {len(unknown) - 5} more)' if len(unknown) > 5 else ''
        print(f'{len(unknown)} files of unknown type not audited: {", ".join(unknown[:5])}{more}',
              file=sys.stderr)
    status = 0
    missed = len(report['skipped']) + len(incomplete) + len(not_audited)
    if missed:
        print(f'{missed} of {s["videos"] + len(not_audited)} listed videos were not audited '
              'completely (see above)', file=sys.stderr)
        status = 1
    for name, limit in (('faces', args.max_residual_faces), ('bodies', args.max_residual_bodies)):
        if limit is not None and s.get(name, 0) > limit:
            print(f'gate failed: {s.get(name, 0)} {name} > --max-residual-{name} {limit}',
                  file=sys.stderr)
            if name == 'faces':
                for rel, rec in report['videos'].items():
                    if rec.get('face_boxes'):
                        frames = sorted(int(k) for k in rec['face_boxes'])
                        print(f'  {rel}: {rec["faces"]} faces in frames {frames}', file=sys.stderr)
            status = 1
    print(f'report: {args.out}')
    return status


if __name__ == '__main__':
    sys.exit(main())
