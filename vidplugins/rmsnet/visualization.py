"""Timeline plots of spotted vs annotated events (cf. thesis Fig. 4.7)."""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np


def plot_timeline(gt: Dict[int, tuple], pred: Dict[int, tuple], classes: Sequence[str],
                  out_path: str, title: str = '', fps: float = 2.0,
                  min_confidence: float = 0.5, lengths: Optional[Dict[int, int]] = None) -> str:
    """One row per class and half: true events as vertical lines, predictions as dots whose
    height is their confidence (only those >= ``min_confidence`` are drawn).

    Args:
        gt: ``{half: (frames, labels)}`` annotated events.
        pred: ``{half: (frames, labels, confidences)}`` spotted events.
        classes: class names. out_path: the PNG to write. fps: frames per second.
        lengths: ``{half: frames}`` for the x range (default: the last event / prediction).
    Returns:
        out_path.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    halves = sorted(set(gt) | set(pred)) or [1, 2]
    C = len(classes)
    fig, axes = plt.subplots(C, len(halves), figsize=(7 * len(halves), 1.3 * C + 1),
                             squeeze=False, sharey=True)
    for j, half in enumerate(halves):
        g_frames, g_labels = gt.get(half, (np.zeros(0), np.zeros(0)))
        p_frames, p_labels, p_conf = pred.get(half, (np.zeros(0), np.zeros(0), np.zeros(0)))
        end = (lengths or {}).get(half) or max([1] + list(g_frames) + list(p_frames))
        for c in range(C):
            ax = axes[c, j]
            for f in np.asarray(g_frames)[np.asarray(g_labels) == c]:
                ax.axvline(f / fps / 60, color='tab:red', lw=2, alpha=0.8)
            sel = (np.asarray(p_labels) == c) & (np.asarray(p_conf) >= min_confidence)
            ax.scatter(np.asarray(p_frames)[sel] / fps / 60, np.asarray(p_conf)[sel], s=14,
                       color='tab:blue', zorder=3)
            ax.set_xlim(0, end / fps / 60)
            ax.set_ylim(0, 1.05)
            if j == 0:
                ax.set_ylabel(classes[c], rotation=0, ha='right', va='center')
            if c == 0:
                ax.set_title(f'half {half}')
            if c == C - 1:
                ax.set_xlabel('minute')
    fig.suptitle(title + '   (red: annotated events, blue: predictions, height = confidence)',
                 fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    tmp = out_path + '.tmp.png'
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, out_path)
    return out_path
