# Test a CelebA-trained PersonArt on WebCaricature (Tables A.4, A.6, A.8): photos (P*) query the
# caricatures (C*) of OriginalImages/<identity>/.
_base_ = ['./personart_r50-vggface2_1xb32-adam1e-5-20e_celeba-style.py']
test_dataloader = dict(dataset=dict(
    _delete_=True, type='IdentityFolderFaces', data_root='data/webcaricature/OriginalImages',
    prefix_domains=dict(P='real', C='art'), img_size=224))
