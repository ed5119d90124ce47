# Test on DeviantArt Faces (Tables A.4, A.6): photos/<identity>/ query portraits/<identity>/.
_base_ = ['./personart_r50-vggface2_1xb32-adam1e-5-20e_celeba-style.py']
test_dataloader = dict(dataset=dict(
    _delete_=True, type='IdentityFolderFaces', data_root='data/deviantart_faces',
    real_dir='photos', art_dir='portraits', img_size=224))
