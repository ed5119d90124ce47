import numpy as np
import pytest
import torch


@pytest.fixture(scope='session')
def tiny_celeba(tmp_path_factory):
    """6 generated identities x 3 images, CelebA format (3 train / 3 test identities)."""
    from vidplugins.demo_data.personart_faces import generate_personart_celeba
    root = str(tmp_path_factory.mktemp('celeba'))
    info = generate_personart_celeba(root, identities=6, images_per_identity=3, size=48, seed=3)
    return root, info


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope='session')
def generated_app(tmp_path_factory):
    """Generated painted faces (pre-cropped: detector 'none'), a tiny ResNet phi."""
    import cv2
    from mmengine.registry import MODELS

    import vidplugins.personart  # noqa: F401
    from vidplugins.demo_data.personart_faces import _identity, render_face, stylize_painting
    pytest.importorskip('fastapi', reason='the app needs fastapi (requirements/personart.txt)')
    pytest.importorskip('uvicorn', reason='the app needs uvicorn (requirements/personart.txt)')
    from .app_utils import load_app_module, serve
    mod = load_app_module()
    root = tmp_path_factory.mktemp('gallery')
    rng = np.random.default_rng(0)
    people = [_identity(rng) for _ in range(12)]
    for i, p in enumerate(people):
        img, _, _ = render_face(p, rng, 128)
        cv2.imwrite(str(root / f'painting_{i:02d}.jpg'),
                    cv2.cvtColor(stylize_painting(img, i), cv2.COLOR_RGB2BGR))
    selfie, _, _ = render_face(people[3], rng, 128)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='PersonArt', feat_dim=128, attribute_hidden=(8, 8, 4),
        embedder=dict(type='BackboneEmbedder', frozen=True,
                      backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(1, ),
                                    strides=(1, 2), dilations=(1, 1), _scope_='mmpretrain'))))
    model.eval()
    # untrained branches give nearly constant outputs: centre each artistic branch's decision
    # on the gallery's median so that attributes split the paintings (the attribute ticks then
    # have something to filter)
    paths = mod.list_gallery(str(root))
    crops = [cv2.resize(cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB), (64, 64)) for p in paths]
    with torch.no_grad():
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
        logits = model.attributes(model.phi(x), 1)
        margin = (logits[..., 1] - logits[..., 0]).median(0).values
        model.attr_art.biases[-1][:, 1] -= margin + 1e-4
    service = mod.PersonArtService(model, mod.WholeImageFace(), mod.list_gallery(str(root)),
                                   size=64, min_size=100, k=6)
    server, url = serve(mod.create_app(service, max_upload_bytes=200_000))
    yield dict(url=url, service=service, selfie=selfie, module=mod)
    server.should_exit = True
