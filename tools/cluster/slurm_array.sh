#!/usr/bin/env bash
# A sharded dataset job as a Slurm job array: array task K of N runs
#   PYTHON SCRIPT [ARGS...] --shard K/N
# so each task processes its deterministic 1/N of the inputs. In ARGS, {K} and {N} stand for the
# task's shard index and the shard count (e.g. --out feats.shard-{K}-of-{N}.h5: one file per task).
#   bash tools/cluster/slurm_array.sh PARTITION JOB_NAME SCRIPT [ARGS...]
# Environment:
#   SHARDS         N, the number of array tasks (default 8)
#   TASKS          which tasks to submit, sbatch --array syntax (default all: 0-(N-1)); e.g. TASKS=1
#                  resubmits task 1 only. The tools resume: a task redoes only its unfinished items,
#                  so resubmitting the whole array is safe too.
#   MAX_PARALLEL   at most this many tasks at once (default: as many as the cluster allows)
#   CPUS_PER_TASK  (default 2), GPUS_PER_TASK (default 0: no gres asked for)
#   LOG_DIR        one log per task, JOB_NAME_<job>_<task>.out (default work_dirs/slurm_logs)
#   SBATCH_ARGS    more sbatch options, e.g. "--time=2-0 --mem=16G"
#   WAIT=1         wait until every task has ended; the exit status is then the array's
#   PYTHON         the interpreter (default python)
# The tasks run in the current directory, so relative paths in ARGS and LOG_DIR mean what they mean
# here; SCRIPT is a path inside the repository (e.g. tools/anonymize.py). Prints the job id.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,20p' "$0" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
SHARDS=${SHARDS:-8}
TASKS=${TASKS:-0-$((SHARDS - 1))}
CPUS_PER_TASK=${CPUS_PER_TASK:-2}
GPUS_PER_TASK=${GPUS_PER_TASK:-0}
LOG_DIR=${LOG_DIR:-work_dirs/slurm_logs}
SBATCH_ARGS=${SBATCH_ARGS:-""}
PYTHON=${PYTHON:-python}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
if [ -f "$REPO/$SCRIPT" ]; then SCRIPT="$REPO/$SCRIPT"; fi
ARRAY=$TASKS
if [ -n "${MAX_PARALLEL:-}" ]; then ARRAY="$ARRAY%$MAX_PARALLEL"; fi
OPTS=(-p "$PARTITION" --job-name="$JOB_NAME" --array="$ARRAY" --ntasks=1
      --cpus-per-task="$CPUS_PER_TASK" --chdir="$(pwd)" --parsable
      --output="$LOG_DIR/%x_%A_%a.out")
if [ "$GPUS_PER_TASK" -gt 0 ]; then OPTS+=(--gres=gpu:"$GPUS_PER_TASK"); fi
if [ "${WAIT:-0}" = 1 ]; then OPTS+=(--wait); fi
# The job script, with the arguments quoted as given; exec lets scancel's SIGTERM reach Python.
BODY=$(
    echo '#!/usr/bin/env bash'
    printf 'export PYTHONPATH=%q${PYTHONPATH:+:$PYTHONPATH}\n' "$REPO"
    printf 'K=$SLURM_ARRAY_TASK_ID\nN=%d\n' "$SHARDS"
    printf 'ARGS=('; printf ' %q' "${@:4}"; printf ' )\n'
    echo 'ARGS=("${ARGS[@]//\{K\}/$K}"); ARGS=("${ARGS[@]//\{N\}/$N}")'
    printf 'exec %q -u %q "${ARGS[@]}" --shard "$K/$N"\n' "$PYTHON" "$SCRIPT"
)
if [ "${DRY_RUN:-0}" = 1 ]; then  # show what would be submitted
    printf 'sbatch'; printf ' %q' "${OPTS[@]}"; echo; echo "$BODY"
    exit 0
fi
mkdir -p "$LOG_DIR"
# shellcheck disable=SC2086  # SBATCH_ARGS holds several options
echo "$BODY" | sbatch "${OPTS[@]}" $SBATCH_ARGS
