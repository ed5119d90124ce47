# Table 6.6: pas_r2plus1d-18_k400_base (Kinetics-400 weights)
# fine-tuned on ucf101 split 1 (lr / 10)
_base_ = ['../pas_r2plus1d-18_k400_base.py', '../_base_/pas_transfer_ucf101-split1.py']

model = dict(cls_head=dict(num_classes={{_base_.pas_num_classes}}))
train_dataloader = dict(dataset=dict(dataset={{_base_.pas_train_data}}))
val_dataloader = dict(dataset={{_base_.pas_val_data}})
test_dataloader = dict(dataset={{_base_.pas_val_data}})
optim_wrapper = dict(optimizer=dict(lr=0.096))
load_from = 'checkpoints/pas_r2plus1d-18_k400_base.pth'
