# PersonArt fine-tuning the VGGFace2 ResNet-50 phi (Table A.4, rows with fine-tuning): lr 1e-6.
_base_ = ['./personart_r50-vggface2_1xb32-adam1e-5-20e_celeba-style.py']
model = dict(embedder=dict(frozen=False))
optim_wrapper = dict(optimizer=dict(lr=1e-6))
