#!/usr/bin/env bash
# What training over `efficientnet worker` processes costs, measured on one machine: images/s
# of B0 on one local device, on three local devices (Burn's multi-device strategy in one
# process), and on this machine's device plus two workers on loopback; and the bytes each
# worker process reads and writes per training step (from /proc/PID/io, so every byte its
# WebSocket connections carried).
#
# Usage: scripts/remote_overhead.sh [path/to/efficientnet] [image-size]
# (default: the dev-profile binary in $CARGO_TARGET_DIR or target/, and 64). Linux only.
set -euo pipefail

BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/efficientnet}
SIZE=${2:-64}
BATCH=24
STEPS=10
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# Starts a worker on a free loopback port; sets URL and PID.
start_worker() {
    local log=$TMP/worker-$1.log
    "$BIN" worker --listen 127.0.0.1:0 2>"$log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        URL=$(grep -o 'ws://[0-9.:]*' "$log" | head -1 || true)
        [ -n "$URL" ] && return 0
        sleep 0.1
    done
    echo "worker $1 did not start: $(cat "$log")" >&2
    exit 1
}

# Bytes a process has read and written through system calls so far.
io_bytes() {
    awk '/^rchar|^wchar/ { s += $2 } END { print s }' "/proc/$1/io"
}

# Runs one epoch of $STEPS steps on $1 (a --devices list, or "" for the default device) and
# prints its images/s.
train() {
    local out=$TMP/run-$RANDOM devices=()
    [ -n "$1" ] && devices=(--devices "$1")
    "$BIN" train --model efficientnet_b0 --image-size "$SIZE" --batch-size "$BATCH" \
        --synthetic-train $((BATCH * STEPS)) --synthetic-valid "$BATCH" --epochs 1 \
        --workers 1 "${devices[@]}" --out "$out" >/dev/null 2>"$out.log" ||
        { cat "$out.log" >&2; exit 1; }
    grep -o '"images_per_second": [0-9.]*' "$out/summary.json" | awk '{ printf "%.1f", $2 }'
}

echo "B0, image $SIZE, global batch $BATCH, $STEPS steps + validation, $(nproc) cores, $BIN"
echo "1 local device:           $(train "") images/s"
echo "3 local devices:          $(train flex,flex,flex) images/s"
start_worker a; A_URL=$URL; A_PID=$PID
start_worker b; B_URL=$URL; B_PID=$PID
before_a=$(io_bytes "$A_PID"); before_b=$(io_bytes "$B_PID")
echo "local + 2 loopback workers: $(train "flex,$A_URL,$B_URL") images/s"
after_a=$(io_bytes "$A_PID"); after_b=$(io_bytes "$B_PID")
# Validation runs on the first device only, so the workers' bytes are all training steps.
awk -v a=$((after_a - before_a)) -v b=$((after_b - before_b)) -v s="$STEPS" 'BEGIN {
    printf "bytes per step and worker (read + written): %.1f MB, %.1f MB\n", a / s / 1e6, b / s / 1e6
}'
