#!/usr/bin/env bash
# Anonymise a dataset with a Slurm job array:
#   [SHARDS=8] bash tools/slurm_anonymize.sh PARTITION INPUT OUTPUT [ARGS...]
# Array task K of SHARDS runs `tools/anonymize.py INPUT OUTPUT ARGS --shard K/SHARDS`: a
# deterministic 1/SHARDS of the inputs, written atomically and resumable, so the tasks together
# write every input exactly once, and a task killed or failed can be resubmitted alone
# (TASKS=K) or with the whole array: it redoes only its unfinished inputs. Each task writes
# OUTPUT/anonymize_report.shard-K-of-N.json. Afterwards `python tools/anonymize.py INPUT OUTPUT
# ARGS` (no --shard) checks that everything is there and writes the whole report.
# Environment: SHARDS (8), TASKS, MAX_PARALLEL, CPUS_PER_TASK (2; pass --workers to use them),
# JOB_NAME (anonymize), LOG_DIR, SBATCH_ARGS, WAIT=1, PYTHON: see tools/cluster/slurm_array.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
PARTITION=$1
INPUT=$2
OUTPUT=$3
exec bash "$(dirname "$0")/cluster/slurm_array.sh" "$PARTITION" "${JOB_NAME:-anonymize}" \
    tools/anonymize.py "$INPUT" "$OUTPUT" "${@:4}"
