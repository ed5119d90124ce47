#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for tests and for trying the Slurm tools:
#   bash tools/cluster/local_slurm.sh install   # apt-get Debian's slurmctld slurmd slurm-client munge if missing
#   bash tools/cluster/local_slurm.sh start     # write slurm.conf, start munged, slurmctld, slurmd; wait for "idle"
#   bash tools/cluster/local_slurm.sh status    # exit 0 when the node answers (idle / mixed / allocated)
#   bash tools/cluster/local_slurm.sh stop      # cancel jobs, stop the three daemons this script started
# Needs root (or passwordless sudo): the daemons run as root with SlurmUser=root, munged as munge.
# One partition, "local" (the default), one node: this host, CPUs = nproc (LOCAL_SLURM_CPUS overrides),
# no gres (a job asking for --gres=gpu:N is refused, as on any CPU-only cluster). Configuration,
# state, spool and logs live in LOCAL_SLURM_DIR (default /tmp/vidplugins-slurm); the clients
# (sinfo, srun, sbatch) find the configuration through /etc/slurm/slurm.conf, which is a link to it
# (an existing slurm.conf of another cluster is never replaced: start refuses instead).
# Checked with Debian 12's Slurm 22.05.
set -euo pipefail

DIR=${LOCAL_SLURM_DIR:-/tmp/vidplugins-slurm}
CONF=/etc/slurm/slurm.conf
PARTITION=local
MARK='# written by vidplugins tools/cluster/local_slurm.sh'
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

log() { echo "local_slurm: $*" >&2; }

node_name() { hostname -s; }

# State of this host's node as sinfo reports it ("idle", "unk*", "down*", ...), empty if no answer.
node_state() {
    SLURM_CONF=$CONF timeout 10 sinfo -h -n "$(node_name)" -o %T 2>/dev/null | head -n1 || true
}

cmd_install() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sinfo >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    if [ ${#missing[@]} -eq 0 ]; then
        log "installed: $(dpkg-query -W -f '${Version}' slurm-client 2>/dev/null || true)"
        return 0
    fi
    log "installing ${missing[*]} (apt-get)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
    log "installed: $(dpkg-query -W -f '${Version}' slurm-client)"
}

write_conf() {
    local cpus mem
    cpus=${LOCAL_SLURM_CPUS:-$(nproc)}
    # slurmd drains a node that claims more memory than it has: take what slurmd itself measures.
    mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mem=${mem:-1000}
    $SUDO mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
    $SUDO tee "$DIR/slurm.conf" >/dev/null <<EOF
$MARK
ClusterName=vidplugins
SlurmctldHost=$(node_name)(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$(node_name) NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$(node_name) Default=YES MaxTime=INFINITE State=UP
EOF
    if [ -L "$CONF" ] || [ ! -e "$CONF" ] || grep -qF "$MARK" "$CONF"; then
        $SUDO mkdir -p "$(dirname "$CONF")"
        $SUDO ln -sfn "$DIR/slurm.conf" "$CONF"
    else
        log "$CONF belongs to another cluster; not replacing it"
        exit 1
    fi
}

pid_alive() {  # pid file -> 0 when its process runs
    [ -f "$1" ] && $SUDO kill -0 "$($SUDO cat "$1")" 2>/dev/null
}

start_munge() {
    if [ -S /run/munge/munge.socket.2 ] && pid_alive /run/munge/munged.pid; then
        return 0
    fi
    $SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
    $SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
    $SUDO chmod 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        $SUDO runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    fi
    $SUDO runuser -u munge -- munged
}

cmd_start() {
    for tool in slurmctld slurmd sinfo munged; do
        command -v "$tool" >/dev/null || { log "$tool missing: run '$0 install' first"; exit 1; }
    done
    case "$(node_state)" in
        idle|mixed|allocated|completing) log "already running ($(node_state))"; return 0 ;;
    esac
    write_conf
    start_munge
    pid_alive "$DIR/slurmctld.pid" || $SUDO slurmctld -f "$DIR/slurm.conf"
    pid_alive "$DIR/slurmd.pid" || $SUDO slurmd -f "$DIR/slurm.conf"
    # The node shows "unk*" until slurmd has registered (a few seconds).
    local state=""
    for _ in $(seq 1 90); do
        state=$(node_state)
        case "$state" in
            idle|mixed|allocated) log "node $(node_name) $state (partition $PARTITION)"; return 0 ;;
            down*|drain*) SLURM_CONF=$CONF $SUDO scontrol update NodeName="$(node_name)" State=RESUME \
                              2>/dev/null || true ;;
        esac
        sleep 1
    done
    log "node not idle after 90 s (state: '${state}'); logs in $DIR/log"
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    exit 1
}

cmd_stop() {
    if [ -n "$(node_state)" ]; then
        SLURM_CONF=$CONF $SUDO scancel --full --partition="$PARTITION" 2>/dev/null || true
    fi
    local f
    for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" /run/munge/munged.pid; do
        if pid_alive "$f"; then
            local pid
            pid=$($SUDO cat "$f")
            $SUDO kill "$pid"
            for _ in $(seq 1 20); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
    done
    log "stopped"
}

cmd_status() {
    local state
    state=$(node_state)
    case "$state" in
        idle|mixed|allocated|completing) SLURM_CONF=$CONF sinfo; return 0 ;;
        "") log "not running (no answer from slurmctld)"; return 1 ;;
        *) log "node $(node_name): $state"; return 1 ;;
    esac
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
