"""Evaluation of the RMS-Net spotting results (thesis Sec. 4.2.1): SoccerNet Average-mAP.

Pure NumPy; no torch or mmengine import, so it also runs in light evaluation environments.
"""
from .average_map import (LOOSE_DELTAS, METRIC_DELTAS, NUM_THRESHOLDS, TIGHT_DELTAS, SpotArrays,
                          average_map, evaluate_folders, frames_per_half, load_ground_truth,
                          load_predictions)

__all__ = [
    'LOOSE_DELTAS', 'TIGHT_DELTAS', 'METRIC_DELTAS', 'NUM_THRESHOLDS', 'SpotArrays',
    'frames_per_half', 'load_ground_truth', 'load_predictions', 'average_map', 'evaluate_folders'
]
