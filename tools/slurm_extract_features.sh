#!/usr/bin/env bash
# Extract STAGE features with a Slurm job array (days of work on real AVA, split into shards):
#   [SHARDS=8] bash tools/slurm_extract_features.sh PARTITION actor|object OUT.h5 [ARGS...]
# Array task K of SHARDS runs `tools/data/ava/extract_<kind>_features.py ARGS --shard K/SHARDS
# --out OUT.shard-K-of-N.h5` (whole videos, deterministic; each file resumable), so a killed or
# failed task is resubmitted alone (TASKS=K) and continues where it stopped. When every task has
# finished, merge the shards into OUT.h5 with the command this script prints.
# ARGS are the extraction tool's (CONFIG CHECKPOINT --frame-dir ... --split ...); GPUS_PER_TASK=1
# asks each task for a GPU (add --device cuda to ARGS). Environment: SHARDS (8), TASKS,
# MAX_PARALLEL, CPUS_PER_TASK (2), GPUS_PER_TASK (0), JOB_NAME, LOG_DIR, SBATCH_ARGS, WAIT=1,
# PYTHON: see tools/cluster/slurm_array.sh.
set -euo pipefail
if [ $# -lt 3 ] || { [ "$2" != actor ] && [ "$2" != object ]; }; then
    sed -n '2,11p' "$0" >&2
    exit 2
fi
PARTITION=$1
KIND=$2
OUT=$3
STEM=${OUT%.h5}
SHARDS=${SHARDS:-8}
export SHARDS
bash "$(dirname "$0")/cluster/slurm_array.sh" "$PARTITION" "${JOB_NAME:-extract-$KIND}" \
    "tools/data/ava/extract_${KIND}_features.py" "${@:4}" --out "$STEM.shard-{K}-of-{N}.h5"
SHARD_FILES=()
for ((k = 0; k < SHARDS; k++)); do SHARD_FILES+=("$STEM.shard-$k-of-$SHARDS.h5"); done
echo "when the array has finished: python tools/data/ava/merge_feature_shards.py $OUT ${SHARD_FILES[*]}" >&2
