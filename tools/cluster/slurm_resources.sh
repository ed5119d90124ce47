# Sourced by tools/slurm_train.sh and tools/slurm_test.sh: the srun options for GPUS tasks.
# mmaction2's variables: GPUS (tasks in total, default 8), GPUS_PER_NODE, CPUS_PER_TASK (5).
# GPUS_PER_NODE unset: 8 where the partition has GPUs (a "gpu" gres), 0 where it has none.
# GPUS_PER_NODE=0: no gres is asked for and GPUS CPU tasks run (tools/train.py / test.py use gloo);
# TASKS_PER_NODE, if set, fixes how many of them share a node (default: Slurm decides).
# shellcheck shell=bash

partition_has_gpus() {  # PARTITION -> 0 when one of its nodes offers a gpu gres
    sinfo -h -p "$1" -o %G 2>/dev/null | grep -q 'gpu'
}

slurm_task_args() {  # PARTITION -> fills the array SLURM_TASK_ARGS
    local partition=$1
    GPUS=${GPUS:-8}
    CPUS_PER_TASK=${CPUS_PER_TASK:-5}
    if [ -z "${GPUS_PER_NODE:-}" ]; then
        if partition_has_gpus "$partition"; then GPUS_PER_NODE=8; else GPUS_PER_NODE=0; fi
    fi
    SLURM_TASK_ARGS=(-p "$partition" --ntasks="$GPUS" --cpus-per-task="$CPUS_PER_TASK"
                     --kill-on-bad-exit=1)
    if [ "$GPUS_PER_NODE" -gt 0 ]; then
        SLURM_TASK_ARGS+=(--gres=gpu:"$GPUS_PER_NODE" --ntasks-per-node="$GPUS_PER_NODE")
    else
        echo "slurm: no GPUs asked for (GPUS_PER_NODE=0): $GPUS CPU tasks with gloo" >&2
        if [ -n "${TASKS_PER_NODE:-}" ]; then
            SLURM_TASK_ARGS+=(--ntasks-per-node="$TASKS_PER_NODE")
        fi
    fi
    # mmengine's Slurm launcher reads the rendezvous port from MASTER_PORT (default 29500):
    # two jobs sharing a node need different ones.
    if [ -n "${PORT:-}" ]; then export MASTER_PORT=$PORT; fi
}
