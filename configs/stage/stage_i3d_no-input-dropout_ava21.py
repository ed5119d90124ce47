# The thesis read literally (Sec. 3.2.2 names one dropout, 0.5 after the attention heads): no
# dropout on the input of each graph-attention layer. The default (stage_i3d_ava21.py) follows the
# authors' gat.py, which also drops 0.5 of every layer's input (configs/stage/README.md).
_base_ = ['./stage_i3d_ava21.py']
model = dict(input_dropout=0.0)
