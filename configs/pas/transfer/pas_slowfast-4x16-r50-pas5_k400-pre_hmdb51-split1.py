# Table 6.6: pas_slowfast-4x16-r50-pas5_k400 (Kinetics-400 weights)
# fine-tuned on hmdb51 split 1 (lr / 10)
_base_ = ['../pas_slowfast-4x16-r50-pas5_k400.py', '../_base_/pas_transfer_hmdb51-split1.py']

model = dict(cls_head=dict(num_classes={{_base_.pas_num_classes}}))
train_dataloader = dict(dataset=dict(dataset={{_base_.pas_train_data}}))
val_dataloader = dict(dataset={{_base_.pas_val_data}})
test_dataloader = dict(dataset={{_base_.pas_val_data}})
optim_wrapper = dict(optimizer=dict(lr=0.16))
load_from = 'checkpoints/pas_slowfast-4x16-r50-pas5_k400.pth'
