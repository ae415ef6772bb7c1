#!/usr/bin/env bash
# A throwaway one-node SLURM cluster on localhost with one emulated GPU, for tests.
#
#   tests/slurm_cluster.sh start DIR   start munged (unless one answers), slurmctld and slurmd;
#                                      wait until the node is idle
#   tests/slurm_cluster.sh stop DIR    stop what `start DIR` started (by recorded PIDs) and
#                                      restore /etc/slurm as it was
#
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (it installs nothing).
# All state (spool, logs, PID list, backups) lives in DIR; only /etc/slurm/{slurm,gres}.conf
# (where the client tools look; backed up and restored), /etc/munge/munge.key (created if
# missing) and /run/munge (munged's socket) are touched outside it.
# Facts behind the settings: /work/shared/notes/slurm-single-node.md (SLURM 22.05, Debian 12).
#
# Environment: SLURM_START_TIMEOUT (seconds to wait for an idle node, default 60),
#              SLURM_STOP_TIMEOUT (seconds to wait for each daemon to exit, default 15),
#              SLURM_GPUS (emulated GPUs of the node, default 1),
#              SLURM_CPUS (CPUs the node offers, default its own; more than it has lets
#              that many jobs' CPUs share its cores, as jobs that mostly wait can).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF_FILES=(slurm.conf gres.conf)
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MARKER="# written by tests/slurm_cluster.sh"

MODE=""
die() {
    echo "slurm_cluster.sh: error: $*" >&2
    if [ "$MODE" = start ] && [ -e "${DIR:-}/pids" ]; then
        echo "slurm_cluster.sh: clean up with: $0 stop $DIR" >&2
    fi
    exit 1
}

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

# Whether PID is a live process (a zombie counts as gone: in some sandboxes nobody reaps
# daemons that exited, so `kill -0` would still succeed).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }  # the state letter follows the command name in parentheses
    [ "${stat%% *}" != Z ]
}

# Print DIR/FILE's last lines, to explain a failed start.
show_log() {
    if [ -s "$1" ]; then
        echo "---- last lines of $1" >&2
        tail -n 15 "$1" >&2
    fi
}

# Wait up to $2 seconds for a PID file $1 holding a live PID; print the PID.
wait_pid_file() {
    local file=$1 deadline=$((SECONDS + $2)) pid
    while [ $SECONDS -lt $deadline ]; do
        if [ -s "$file" ]; then
            pid=$(tr -dc 0-9 <"$file")
            if [ -n "$pid" ] && alive "$pid"; then
                echo "$pid"
                return 0
            fi
        fi
        sleep 0.2
    done
    return 1
}

munge_answers() {
    command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

start() {
    local dir=$1
    [ "$(id -u)" = 0 ] || die "must run as root (slurmd runs jobs as their submitting user)"
    local tool
    for tool in slurmctld slurmd munged munge sbatch sinfo scontrol; do
        command -v "$tool" >/dev/null ||
            die "$tool not found; install: apt-get install slurmctld slurmd slurm-client munge"
    done
    [ ! -e "$dir/pids" ] || die "$dir/pids exists: a cluster from $dir is running (stop it first)"
    if scontrol ping 2>/dev/null | grep -q 'is UP'; then
        die "a slurmctld already answers (another cluster is running); stop it first"
    fi

    # A fresh state every time: an old node state (e.g. DRAIN) would survive a restart.
    rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/backup"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/backup" "$CONF_DIR"
    : >"$dir/pids"

    # Back up the host's configuration; `stop` puts it back.
    local name
    for name in "${CONF_FILES[@]}"; do
        if [ -e "$CONF_DIR/$name" ] && head -n 1 "$CONF_DIR/$name" | grep -qF "$MARKER"; then
            # Left by a cluster that was never stopped: not the host's own file.
            echo "slurm_cluster.sh: warning: $CONF_DIR/$name is from an earlier cluster that was" \
                "not stopped ($(head -n 1 "$CONF_DIR/$name" | sed 's/.* in //')); replacing it" >&2
            : >"$dir/backup/$name.absent"
        elif [ -e "$CONF_DIR/$name" ]; then
            cp -p "$CONF_DIR/$name" "$dir/backup/$name"
        else
            : >"$dir/backup/$name.absent"
        fi
    done

    # The node's hardware as slurmd sees it; 10% of the memory is left to the system.
    local hw cpus sockets cores threads memory
    hw=$(slurmd -C | head -n 1)
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
    sockets=$(sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")
    cores=$(sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")
    threads=$(sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")
    memory=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
    [ -n "$cpus" ] && [ -n "$memory" ] || die "cannot parse 'slurmd -C': $hw"
    memory=$((memory * 9 / 10))
    local gpus=${SLURM_GPUS:-1} layout
    layout="Boards=1 SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1}"
    if [ -n "${SLURM_CPUS:-}" ] && [ "$SLURM_CPUS" != "$cpus" ]; then
        cpus=$SLURM_CPUS
        layout="Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1"
    fi
    # Emulated GPUs: a GPU gres needs a character device; copies of /dev/null (1,3) will do.
    local devices=()
    for ((i = 0; i < gpus; i++)); do
        mknod -m 666 "$dir/gpu$i" c 1 3
        devices+=("$dir/gpu$i")
    done

    cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER for the cluster in $dir
ClusterName=throwaway
SlurmctldHost=localhost
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
# No slurmdbd: sacct cannot answer, so Snakemake must poll with squeue.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
# Finished jobs stay visible to squeue/scontrol for 10 minutes (>= 3x the status-check wait).
MinJobAge=600
SchedulerType=sched/backfill
# Start jobs the moment they are submitted or resources free up (defaults: 3 s and 30 s delays).
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_min_interval=0
GresTypes=gpu
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# The node as written here, not as slurmd finds it (SLURM_CPUS may offer more CPUs than it has).
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus $layout RealMemory=$memory Gres=gpu:$gpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    # A job asking for --gpus=1 gets CUDA_VISIBLE_DEVICES set to its GPU's index.
    {
        echo "$MARKER for the cluster in $dir"
        for device in "${devices[@]}"; do
            echo "NodeName=localhost Name=gpu File=$device"
        done
    } >"$CONF_DIR/gres.conf"

    # munge: reuse a daemon that answers, else start one (as user munge) with the host key.
    if [ ! -s "$MUNGE_KEY" ]; then
        mkdir -p "$(dirname "$MUNGE_KEY")"
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        chown munge:munge "$(dirname "$MUNGE_KEY")" "$MUNGE_KEY"
        chmod 700 "$(dirname "$MUNGE_KEY")"
        chmod 400 "$MUNGE_KEY"
    fi
    if munge_answers; then
        echo "slurm_cluster.sh: reusing the munged that answers on $MUNGE_RUN"
    else
        mkdir -p "$MUNGE_RUN"
        chown munge:munge "$MUNGE_RUN"
        chmod 755 "$MUNGE_RUN"
        rm -f "$MUNGE_RUN/munged.pid"
        # --force: a socket left by a daemon that died is not in use (we checked above).
        runuser -u munge -- munged --force --pid-file="$MUNGE_RUN/munged.pid" \
            </dev/null >"$dir/log/munged.out" 2>&1 ||
            { show_log "$dir/log/munged.out"; die "munged did not start"; }
        local munged_pid
        munged_pid=$(wait_pid_file "$MUNGE_RUN/munged.pid" 10) ||
            { show_log "$dir/log/munged.out"; die "munged wrote no PID file"; }
        echo "munged $munged_pid" >>"$dir/pids"
        local tries=0
        until munge_answers; do
            tries=$((tries + 1))
            [ $tries -lt 50 ] || die "munged (PID $munged_pid) does not answer"
            sleep 0.1
        done
    fi

    # The daemons fork into the background and write their PID files; their output goes to
    # files so that a caller capturing ours is not kept waiting.
    slurmctld </dev/null >"$dir/log/slurmctld.out" 2>&1 ||
        { show_log "$dir/log/slurmctld.out"; show_log "$dir/log/slurmctld.log"; die "slurmctld did not start"; }
    local pid
    pid=$(wait_pid_file "$dir/slurmctld.pid" 15) ||
        { show_log "$dir/log/slurmctld.log"; die "slurmctld wrote no PID file"; }
    echo "slurmctld $pid" >>"$dir/pids"
    slurmd -N localhost </dev/null >"$dir/log/slurmd.out" 2>&1 ||
        { show_log "$dir/log/slurmd.out"; show_log "$dir/log/slurmd.log"; die "slurmd did not start"; }
    pid=$(wait_pid_file "$dir/slurmd.pid" 15) ||
        { show_log "$dir/log/slurmd.log"; die "slurmd wrote no PID file"; }
    echo "slurmd $pid" >>"$dir/pids"

    local timeout=${SLURM_START_TIMEOUT:-60} state=""
    local deadline=$((SECONDS + timeout))
    while [ $SECONDS -lt $deadline ]; do
        state=$(sinfo -h -o %t 2>/dev/null | head -n 1) || true
        if [ "$state" = idle ]; then
            echo "slurm_cluster.sh: node idle after ${SECONDS}s (cluster in $dir)"
            return 0
        fi
        sleep 0.5
    done
    show_log "$dir/log/slurmctld.log"
    show_log "$dir/log/slurmd.log"
    sinfo -R >&2 || true
    die "node not idle after ${timeout}s (last state: '${state:-none}'); run '$0 stop $dir'"
}

stop() {
    local dir=$1 status=0
    [ "$(id -u)" = 0 ] || die "must run as root"
    if [ -s "$dir/pids" ]; then
        # Jobs still running would otherwise outlive slurmd in their slurmstepd.
        if command -v squeue >/dev/null && grep -q '^slurmctld ' "$dir/pids"; then
            local jobs
            jobs=$(timeout 10 squeue -h -o %A 2>/dev/null) || jobs=""
            if [ -n "$jobs" ]; then
                # shellcheck disable=SC2086
                timeout 10 scancel $jobs 2>/dev/null || true
                sleep 1
            fi
        fi
        # Stop in reverse start order: slurmd, slurmctld, munged.
        local name pid comm deadline
        while read -r name pid; do
            [ -n "$pid" ] || continue
            alive "$pid" || continue
            comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
            if [ "$comm" != "$name" ]; then
                echo "slurm_cluster.sh: PID $pid is now '$comm', not $name; left alone" >&2
                continue
            fi
            kill -TERM "$pid" 2>/dev/null || true
            deadline=$((SECONDS + ${SLURM_STOP_TIMEOUT:-15}))
            while alive "$pid" && [ $SECONDS -lt $deadline ]; do
                sleep 0.2
            done
            if alive "$pid"; then
                echo "slurm_cluster.sh: $name (PID $pid) ignored SIGTERM; sending SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.5
            fi
            if alive "$pid"; then
                echo "slurm_cluster.sh: $name (PID $pid) is still running" >&2
                status=1
            fi
        done < <(tac "$dir/pids")
    fi
    # Put the host's configuration back (only if it was ours that replaced it).
    local conf
    for conf in "${CONF_FILES[@]}"; do
        if [ -e "$dir/backup/$conf" ]; then
            cp -p "$dir/backup/$conf" "$CONF_DIR/$conf"
        elif [ -e "$dir/backup/$conf.absent" ] && [ -e "$CONF_DIR/$conf" ] &&
            head -n 1 "$CONF_DIR/$conf" | grep -qF "$MARKER for the cluster in $dir"; then
            rm -f "$CONF_DIR/$conf"
        fi
    done
    rm -rf "$dir/backup"
    [ ! -e "$dir/pids" ] || mv "$dir/pids" "$dir/pids.stopped"
    [ $status = 0 ] && echo "slurm_cluster.sh: stopped the cluster in $dir"
    return $status
}

[ $# = 2 ] || usage
case $2 in
/*) DIR=$2 ;;
*) DIR=$(pwd)/$2 ;;
esac
MODE=$1
case $1 in
start)
    mkdir -p "$DIR"
    start "$DIR"
    ;;
stop) stop "$DIR" ;;
*) usage ;;
esac
