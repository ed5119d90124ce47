"""Obfuscation functions (thesis Sec. 5.1) against values computed by hand."""
import cv2
import numpy as np
import pytest

from vidplugins.privacy.obfuscation import (OBFUSCATIONS, box_filter, boxes_to_mask,
                                            feathered_obfuscate, gaussian_filter,
                                            mask_components, obfuscate, odd_kernel, pixelate,
                                            solid_fill)


def test_boxes_to_mask_rounds_outwards_and_enlarges():
    m = boxes_to_mask([[1.5, 2, 4, 5]], (8, 8))
    # x from floor(1.5)=1 to ceil(4)=4 (exclusive), y from 2 to 5: 3 x 3 pixels
    assert m.sum() == 9 and m[2:5, 1:4].all()
    # a 4 x 4 box grown by 25 % of each side on both ends -> 6 x 6
    assert boxes_to_mask([[2, 2, 6, 6]], (8, 8), enlarge=0.25).sum() == 36
    # clipped to the frame; extra score column ignored; empty input -> empty mask
    m = boxes_to_mask(np.array([[-5, -5, 2, 3, 0.9]]), (4, 4))
    assert m.sum() == 2 * 3 and m[:3, :2].all()
    assert boxes_to_mask(np.zeros((0, 4)), (4, 4)).sum() == 0
    with pytest.raises(ValueError, match='non-finite'):
        boxes_to_mask([[0, 0, np.nan, 2]], (4, 4))
    with pytest.raises(ValueError, match='boxes'):
        boxes_to_mask([[0, 0, 2]], (4, 4))


def test_box_filter_is_the_normalised_mean():
    img = np.zeros((9, 9, 3), np.uint8)
    img[4, 4] = 90
    mask = np.zeros((9, 9), bool)
    mask[4, 4:6] = True
    out = box_filter(img, mask, kernel_size=3)
    # every 3 x 3 window containing (4, 4) averages to 90 / 9 = 10
    assert (out[4, 4] == 10).all() and (out[4, 5] == 10).all()
    # pixels outside the mask are untouched, the input is not modified
    assert (out[~mask] == img[~mask]).all() and img[4, 4, 0] == 90


def test_box_filter_kernel_from_component_size():
    # a 20 x 12 component -> side 20 -> k = odd(0.25 * 20) = 5 -> a lone 250 becomes 250 / 25
    img = np.zeros((40, 40, 3), np.uint8)
    img[20, 20] = 250
    mask = boxes_to_mask([[10, 14, 30, 26]], (40, 40))
    assert odd_kernel(0.25 * 20) == 5 and odd_kernel(4) == 5 and odd_kernel(1) == 3
    assert (box_filter(img, mask)[20, 20] == 10).all()


@pytest.mark.parametrize('fn,kw,ref', [
    (box_filter, dict(kernel_size=7), lambda im: cv2.blur(im, (7, 7), borderType=cv2.BORDER_REPLICATE)),
    (gaussian_filter, dict(sigma=2.0),
     lambda im: cv2.GaussianBlur(im, (0, 0), 2.0, borderType=cv2.BORDER_REPLICATE)),
])
def test_per_component_filter_equals_full_frame_filter_inside_mask(fn, kw, ref):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    mask = boxes_to_mask([[5, 5, 20, 25], [0, 30, 12, 50], [40, 10, 60, 20]], (50, 60))
    out = fn(img, mask, **kw)
    np.testing.assert_array_equal(out[mask], ref(img)[mask])
    np.testing.assert_array_equal(out[~mask], img[~mask])


def test_pixelate_cells_take_their_mean():
    img = np.zeros((4, 4, 3), np.uint8)
    img[0, 0], img[0, 1], img[1, 0], img[1, 1] = 40, 80, 120, 160  # cell mean 100
    img[2:, 2:] = 7
    out = pixelate(img, np.ones((4, 4), bool), block_size=2)
    assert (out[:2, :2] == 100).all() and (out[2:, 2:] == 7).all() and (out[:2, 2:] == 0).all()


def test_solid_fill_and_dispatch():
    img = np.full((5, 5, 3), 9, np.uint8)
    mask = np.zeros((5, 5), bool)
    mask[1:3, 1:4] = True
    out = solid_fill(img, mask, color=(1, 2, 3))
    assert (out[mask] == (1, 2, 3)).all() and (out[~mask] == 9).all()
    assert sorted(OBFUSCATIONS) == ['box', 'gaussian', 'pixelate', 'solid']
    np.testing.assert_array_equal(obfuscate(img, mask, 'solid', color=(1, 2, 3)), out)
    with pytest.raises(KeyError, match='unknown'):
        obfuscate(img, mask, 'swirl')


def test_every_method_changes_only_the_mask_and_validates_input():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = boxes_to_mask([[8, 8, 24, 24]], (32, 32))
    for name in OBFUSCATIONS:
        out = obfuscate(img, mask, name)
        assert out.dtype == np.uint8 and out.shape == img.shape
        assert (out[~mask] == img[~mask]).all()
        assert np.abs(out[mask].astype(int) - img[mask]).mean() > 20, name
        np.testing.assert_array_equal(obfuscate(img, np.zeros((32, 32), bool), name), img)
    with pytest.raises(ValueError, match='mask'):
        box_filter(img, np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match='uint8'):
        box_filter(img.astype(np.float32), mask)
    assert mask_components(mask) == [(8, 8, 16, 16)]


def test_feathered_obfuscate_ramps_the_blend_outside_the_region():
    """A black solid fill feathered by 3 px: inside the region 0; a pixel d px left of it keeps
    ``1 - alpha = d / 4`` of its value (alpha = 1 - d / (3 + 1)), from 4 px out it is unchanged;
    feather 0 is the plain obfuscation."""
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    region = np.zeros((30, 30), bool)
    region[10:20, 10:20] = True
    out = feathered_obfuscate(img, region, 3, 'solid')
    assert out.dtype == np.uint8 and out.shape == img.shape and (out[region] == 0).all()
    for d in (1, 2, 3):
        np.testing.assert_array_equal(out[15, 10 - d], np.rint(d / 4 * img[15, 10 - d]))
    far = np.ones((30, 30), bool)
    far[7:23, 7:23] = False
    assert (out[far] == img[far]).all() and (out[15, 6] == img[15, 6]).all()
    np.testing.assert_array_equal(feathered_obfuscate(img, region, 0, 'solid'),
                                  obfuscate(img, region, 'solid'))
