# RMS-Net on pre-extracted per-frame features (thesis Sec. 4.1.1, Table 4.1).
custom_imports = dict(imports=['vidplugins.rmsnet'], allow_failed_imports=False)
model = dict(
    type='RMSNet',
    window_size=41,            # T: 20 s at 2 fps (Sec. 4.2.2)
    regression_weight=10.0,    # lambda of Eq. 4.3
    head=dict(in_channels=512, num_classes=3, hidden_channels=256, conv_channels=128,
              fc_channels=64, kernel_size=9, dropout=0.1),
    data_preprocessor=dict(type='SpottingDataPreprocessor'))
