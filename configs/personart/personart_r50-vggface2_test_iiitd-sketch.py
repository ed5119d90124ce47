# Test on IIIT-D Sketch (Tables A.4, A.6): photos/<identity>/ query sketches/<identity>/.
_base_ = ['./personart_r50-vggface2_1xb32-adam1e-5-20e_celeba-style.py']
test_dataloader = dict(dataset=dict(
    _delete_=True, type='IdentityFolderFaces', data_root='data/iiitd_sketch', real_dir='photos',
    art_dir='sketches', img_size=224))
