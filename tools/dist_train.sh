#!/usr/bin/env bash
# Distributed training on one node with torchrun: bash tools/dist_train.sh CONFIG GPUS [ARGS...]
# On a machine without GPUs the processes use the gloo backend on CPU (PyTorch picks it when the
# config's dist_cfg asks for nccl and CUDA is missing: set env_cfg.dist_cfg.backend=gloo to be
# explicit).
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
