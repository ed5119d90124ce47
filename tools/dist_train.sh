#!/usr/bin/env bash
# Distributed training on one node with torchrun: bash tools/dist_train.sh CONFIG GPUS [ARGS...]
# On a machine without GPUs the processes run on CPU with the gloo backend: tools/train.py switches
# a config's nccl to gloo when CUDA is missing (and works around mmengine's GPU-only set-up).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
PYTHONPATH="$(pwd):${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    tools/train.py "$CONFIG" --launcher pytorch "${@:3}"
