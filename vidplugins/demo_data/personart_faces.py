"""Generated identities for the PersonArt demo and tests, written as a small CelebA.

Each identity is a drawn face with its own geometry and colours (face shape, eye spacing and size,
nose length, mouth width, skin, hair colour and style); each image jitters position, scale,
lighting and per-image attributes (smiling, hat). ``stylize_painting`` is the fixed "painting"
stylisation (edge-preserving smoothing, a warm colour mix, brush texture) that stands in for the
Gatys proxies. Files: ``img_align_celeba/*.jpg``, ``img_style_celeba/*.jpg`` and the five CelebA
annotation files in their real formats.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np

from vidplugins.personart.gallery import CELEBA_ATTRIBUTES

HAIR = {'Black_Hair': (25, 20, 20), 'Blond_Hair': (225, 195, 110), 'Brown_Hair': (110, 65, 35),
        'Gray_Hair': (165, 165, 170)}


def _identity(rng) -> dict:
    hair = list(HAIR)[rng.integers(4)]
    return dict(ax=rng.uniform(15, 22), ay=rng.uniform(19, 25),
                skin=rng.uniform([150, 100, 70], [250, 210, 180]),
                eye_dx=rng.uniform(6, 11), eye_y=rng.uniform(-6, 0), eye_r=rng.uniform(1.5, 3.5),
                eye_col=rng.uniform(0, 120, 3), nose=rng.uniform(3, 10),
                mouth_w=rng.uniform(5, 12), mouth_y=rng.uniform(9, 14), hair=hair,
                bangs=bool(rng.random() < 0.4), glasses=bool(rng.random() < 0.3),
                beard=bool(rng.random() < 0.3), brow=rng.uniform(1, 3))


def _attributes(p: dict, smiling: bool, hat: bool) -> np.ndarray:
    a = dict.fromkeys(CELEBA_ATTRIBUTES, 0)
    a[p['hair']] = 1
    a['Bangs'] = int(p['bangs'])
    a['Eyeglasses'] = int(p['glasses'])
    a['Goatee'] = int(p['beard'])
    a['No_Beard'] = int(not p['beard'])
    a['Big_Nose'] = int(p['nose'] > 7)
    a['Narrow_Eyes'] = int(p['eye_r'] < 2.2)
    a['Pale_Skin'] = int(p['skin'].mean() > 190)
    a['Smiling'] = int(smiling)
    a['Wearing_Hat'] = int(hat)
    a['Bushy_Eyebrows'] = int(p['brow'] > 2.2)
    return np.array([a[n] for n in CELEBA_ATTRIBUTES], np.int8)


def render_face(p: dict, rng, size: int = 64, smiling: bool = False, hat: bool = False):
    """One photo of identity ``p``: (size, size, 3) uint8 RGB, face box (x, y, w, h), landmarks."""
    import cv2
    s = size / 64.0
    img = np.empty((size, size, 3), np.float32)
    img[:] = rng.uniform(110, 150, 3)                   # studio background
    cx = size / 2 + rng.uniform(-2, 2) * s
    cy = size / 2 + rng.uniform(-1, 2) * s
    k = s * rng.uniform(0.95, 1.05)
    hair = HAIR[p['hair']]
    cv2.ellipse(img, (int(cx), int(cy - 3 * k)), (int((p['ax'] + 3) * k), int((p['ay'] + 2) * k)),
                0, 180, 360, hair, -1)
    cv2.ellipse(img, (int(cx), int(cy)), (int(p['ax'] * k), int(p['ay'] * k)), 0, 0, 360,
                tuple(float(v) for v in p['skin']), -1)
    if p['bangs']:
        cv2.ellipse(img, (int(cx), int(cy - p['ay'] * k * 0.75)), (int(p['ax'] * k), int(6 * k)),
                    0, 0, 180, hair, -1)
    ey = cy + p['eye_y'] * k
    eyes = []
    for side in (-1, 1):
        ex = cx + side * p['eye_dx'] * k
        eyes.append((ex, ey))
        cv2.circle(img, (int(ex), int(ey)), max(1, int(p['eye_r'] * k)),
                   tuple(float(v) for v in p['eye_col']), -1)
        cv2.line(img, (int(ex - 3 * k), int(ey - 4 * k)), (int(ex + 3 * k), int(ey - 4 * k)),
                 hair, max(1, int(p['brow'] * k)))
        if p['glasses']:
            cv2.circle(img, (int(ex), int(ey)), int(5 * k), (20, 20, 20), max(1, int(k)))
    nose_tip = (cx, ey + p['nose'] * k)
    cv2.line(img, (int(cx), int(ey + 2 * k)), (int(nose_tip[0]), int(nose_tip[1])),
             tuple(float(v) * 0.7 for v in p['skin']), max(1, int(1.5 * k)))
    my = cy + p['mouth_y'] * k
    mw = p['mouth_w'] * k
    if smiling:
        cv2.ellipse(img, (int(cx), int(my - 2 * k)), (int(mw), int(4 * k)), 0, 20, 160,
                    (150, 30, 40), max(1, int(2 * k)))
    else:
        cv2.line(img, (int(cx - mw), int(my)), (int(cx + mw), int(my)), (150, 30, 40),
                 max(1, int(2 * k)))
    if p['beard']:
        cv2.ellipse(img, (int(cx), int(cy + p['ay'] * k * 0.8)), (int(6 * k), int(5 * k)), 0, 0,
                    360, hair, -1)
    if hat:
        cv2.rectangle(img, (int(cx - p['ax'] * k - 4 * k), int(cy - p['ay'] * k - 2 * k)),
                      (int(cx + p['ax'] * k + 4 * k), int(cy - p['ay'] * k + 4 * k)),
                      (60, 40, 120), -1)
    img *= rng.uniform(0.92, 1.08)                      # lighting
    img += rng.normal(0, 4, img.shape)                  # sensor noise
    img = np.clip(img, 0, 255).astype(np.uint8)
    box = (int(cx - p['ax'] * k), int(cy - p['ay'] * k), int(2 * p['ax'] * k),
           int(2 * p['ay'] * k))
    marks = [*eyes[0], *eyes[1], *nose_tip, cx - mw, my, cx + mw, my]
    return img, box, [int(round(v)) for v in marks]


def stylize_painting(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """The fixed "painting" stylisation: edge-preserving smoothing, a warm colour mix (oil-paint
    palette), brush-stroke texture. (H, W, 3) uint8 RGB -> same."""
    import cv2
    img = cv2.stylization(rgb, sigma_s=20, sigma_r=0.35).astype(np.float32)
    mix = np.array([[0.55, 0.40, 0.15], [0.30, 0.55, 0.15], [0.20, 0.30, 0.35]], np.float32)
    img = img @ mix.T + np.array([30, 10, -10], np.float32)
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    strokes = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.0)
    strokes = cv2.blur(strokes, (1, 7))                   # vertical brush strokes
    img += 18 * strokes[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def generate_personart_celeba(root: str, identities: int = 60, images_per_identity: int = 6,
                              size: int = 64, seed: int = 0,
                              split_fractions=(0.5, 0.0, 0.5)) -> Dict[str, object]:
    """Write a CelebA-format set of generated identities with stylised copies under ``root``.

    Identities (not images) are split train / val / test by ``split_fractions``.
    Returns counts and the attribute names.
    """
    import cv2
    rng = np.random.default_rng(seed)
    real_dir, art_dir = osp.join(root, 'img_align_celeba'), osp.join(root, 'img_style_celeba')
    os.makedirs(real_dir, exist_ok=True)
    os.makedirs(art_dir, exist_ok=True)
    n_train = int(round(identities * split_fractions[0]))
    n_val = int(round(identities * split_fractions[1]))
    rows_attr, rows_id, rows_part, rows_box, rows_mark = [], [], [], [], []
    count = 0
    for ident in range(identities):
        p = _identity(rng)
        part = 0 if ident < n_train else (1 if ident < n_train + n_val else 2)
        for _ in range(images_per_identity):
            count += 1
            name = f'{count:06d}.jpg'
            smiling, hat = bool(rng.random() < 0.5), bool(rng.random() < 0.15)
            img, box, marks = render_face(p, rng, size, smiling, hat)
            art = stylize_painting(img, seed=count)
            cv2.imwrite(osp.join(real_dir, name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(art_dir, name), cv2.cvtColor(art, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            attrs = _attributes(p, smiling, hat)
            rows_attr.append(name + ' ' + ' '.join('1' if a else '-1' for a in attrs))
            rows_id.append(f'{name} {ident + 1}')
            rows_part.append(f'{name} {part}')
            rows_box.append(f'{name} ' + ' '.join(str(v) for v in box))
            rows_mark.append(f'{name} ' + ' '.join(str(v) for v in marks))

    def write(fname, rows, header=None):
        with open(osp.join(root, fname), 'w') as f:
            if header is not None:
                f.write(f'{len(rows)}\n{header}\n')
            f.write('\n'.join(rows) + '\n')

    write('list_attr_celeba.txt', rows_attr, ' '.join(CELEBA_ATTRIBUTES))
    write('identity_CelebA.txt', rows_id)
    write('list_eval_partition.txt', rows_part)
    write('list_bbox_celeba.txt', rows_box, 'image_id x_1 y_1 width height')
    write('list_landmarks_align_celeba.txt', rows_mark,
          'lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y '
          'rightmouth_x rightmouth_y')
    return dict(images=count, identities=identities, train_identities=n_train,
                attribute_names=list(CELEBA_ATTRIBUTES))
