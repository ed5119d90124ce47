#!/usr/bin/env bash
# Training on a Slurm cluster: [GPUS=8] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [ARGS...]
# Environment: GPUS (tasks in total, default 8), GPUS_PER_NODE (8 where the partition has GPUs,
# else 0), CPUS_PER_TASK (5), SRUN_ARGS, PORT (rendezvous port), PYTHON.
# GPUS_PER_NODE=0 (or a partition without GPUs) asks for no gres and runs GPUS CPU tasks with gloo.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
source tools/cluster/slurm_resources.sh
slurm_task_args "$PARTITION"
# shellcheck disable=SC2086  # SRUN_ARGS holds several options
PYTHONPATH="$(pwd):${PYTHONPATH:-}" \
srun --job-name="$JOB_NAME" "${SLURM_TASK_ARGS[@]}" $SRUN_ARGS \
    "$PYTHON" -u tools/train.py "$CONFIG" --launcher slurm "${@:4}"
