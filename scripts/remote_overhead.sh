#!/usr/bin/env bash
# What training over `efficientnet worker` processes costs, measured on one machine: images/s
# of B0 on one local device, on three local devices (Burn's multi-device strategy in one
# process), and on this machine's device plus two workers on loopback; and the bytes each
# worker's WebSocket connections carry per training step (the bytes the loopback interface
# moved during the run, from /proc/net/dev: run it on an otherwise quiet machine).
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
    "$BIN" worker --listen 127.0.0.1:0 >"$log.out" 2>"$log" &
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

# Bytes the loopback interface has received so far (each byte sent over it is received once).
lo_bytes() {
    awk -F'[: ]+' '$2 == "lo" { print $3 }' /proc/net/dev
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
start_worker a; A_URL=$URL
start_worker b; B_URL=$URL
before=$(lo_bytes)
echo "local + 2 loopback workers: $(train "flex,$A_URL,$B_URL") images/s"
after=$(lo_bytes)
# Validation runs on the first device only, so the workers' traffic is the training steps' (and
# their connection's setup, once).
awk -v bytes=$((after - before)) -v s="$STEPS" 'BEGIN {
    printf "over the wire per step and worker (both directions): %.1f MB\n", bytes / s / 2 / 1e6
}'
