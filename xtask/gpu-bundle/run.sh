#!/usr/bin/env bash
# The GPU check of efficientnet-burn, as `cargo xtask gpu-bundle` packs it: runs on a machine
# with a Vulkan driver and nothing else (no Rust, no network, no Python).
#
#   ./run.sh [--short] [--out FILE] [--device vulkan|wgpu|flex] [--budget SECONDS]
#
# 1. the backend suite (bin/backend-suite: the `model` test binary) on wgpu over Vulkan:
#    PyTorch parity of every fixture case, gradients and five SGD steps against flex's;
# 2. `efficientnet bench` of B0: inference at batch 64 and 256 in f32 and f16, training steps
#    at batch 64 in f32, bf16 mixed and f16 mixed with loss scaling; images/s and the peak
#    device memory Burn's allocator reserved.
#
# --device picks where the benches run (the suite always runs on wgpu): `flex`, the CPU, checks
# the bundle where the GPU driver cannot run them (Mesa 22.3's lavapipe crashes compiling one
# of the matmul kernels Burn's autotune tries).
#
# Everything goes to one JSON report (default ./gpu-check.json), rewritten after every step so
# that a run cut short keeps what it measured. `--short` runs the same steps at batch 2 and
# 64 px, to prove the bundle on a software driver (Mesa's lavapipe) before GPU time is spent.
# The full run stops starting steps after --budget seconds (default 450: it fits in 8 minutes).
# Exit status: 0 when the suite passed and every bench reported, 1 otherwise, 2 on bad usage.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
short=0
out="$PWD/gpu-check.json"
device=vulkan
budget=""

usage() {
    echo "usage: run.sh [--short] [--out FILE] [--device vulkan|wgpu|flex] [--budget SECONDS]"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=1 ;;
        --out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
        --device) [ $# -ge 2 ] || { usage >&2; exit 2; }; device=$2; shift ;;
        --budget) [ $# -ge 2 ] || { usage >&2; exit 2; }; budget=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$device" in
    vulkan | wgpu | flex) ;;
    *) echo "run.sh: --device is vulkan, wgpu or flex, not '$device'" >&2; exit 2 ;;
esac
if [ -z "$budget" ]; then
    budget=450
    [ "$short" = 1 ] && budget=900
fi
case "$budget" in
    '' | *[!0-9]*) echo "run.sh: --budget takes whole seconds, not '$budget'" >&2; exit 2 ;;
esac
# The binaries travel xz-compressed (bin/NAME.xz): each run unpacks them into a temporary
# folder, so the bundle stays as small as it was copied. An unpacked bin/NAME is used as it is.
work=$(mktemp -d "${TMPDIR:-/tmp}/efficientnet-gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
binary() {
    local name=$1 packed="$here/bin/$1.xz"
    if [ -x "$here/bin/$name" ]; then
        printf '%s' "$here/bin/$name"
        return
    fi
    if [ ! -f "$packed" ]; then
        echo "run.sh: $here/bin/$name(.xz) is missing; rebuild the bundle with cargo xtask gpu-bundle" >&2
        return 1
    fi
    if ! command -v xz >/dev/null; then
        echo "run.sh: unpacking $packed needs xz (Debian/Ubuntu: apt-get install xz-utils)" >&2
        return 1
    fi
    if ! xz -dc "$packed" >"$work/$name" || ! chmod 755 "$work/$name"; then
        echo "run.sh: could not unpack $packed into $work (is the disk full?)" >&2
        return 1
    fi
    printf '%s' "$work/$name"
}
cli=$(binary efficientnet) || exit 2
suite_binary=$(binary backend-suite) || exit 2

# The test binary reads its PyTorch fixtures from here; Mesa wants a runtime dir.
export EFFICIENTNET_TEST_FIXTURES="$here/fixtures"
export EFFICIENTNET_REQUIRE_VULKAN=1
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Each step's output, kept beside the report.
logs="$out.logs"
mkdir -p "$logs" || exit 2

# The B0 benches: label | mode | batch (full run) | precision.
benches=(
    "B0 inference f32, batch 64|infer|64|f32"
    "B0 inference f32, batch 256|infer|256|f32"
    "B0 inference f16, batch 64|infer|64|f16"
    "B0 inference f16, batch 256|infer|256|f16"
    "B0 training step f32, batch 64|train|64|f32"
    "B0 training step bf16 mixed, batch 64|train|64|bf16"
    "B0 training step f16 mixed + loss scaling, batch 64|train|64|f16"
)

# stdin as one JSON string: backslashes, quotes, tabs and newlines escaped, other control
# characters (terminal colours) dropped.
json_string() {
    printf '"'
    LC_ALL=C sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' |
        LC_ALL=C tr -d '\000-\010\013\014\016-\037' |
        awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
    printf '"'
}

# The first line a command printed, as a JSON string, or null when it is missing or fails.
probe() {
    local text
    if text=$("$@" 2>/dev/null) && [ -n "$text" ]; then
        printf '%s' "$text" | head -n 40 | json_string
    else
        printf 'null'
    fi
}

# The Vulkan devices and drivers, from vulkaninfo where it is installed.
vulkan_devices() {
    vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|deviceType|driverName|driverInfo|apiVersion'
}

now_ms() { date +%s%3N; }
started_ms=$(now_ms)
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
# Seconds a step may take: its own limit, or what is left of the budget if that is less.
allowance() {
    local left=$((budget - ($(now_ms) - started_ms) / 1000))
    [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}

host=$(printf '{"uname": %s, "nvidia_smi": %s, "vulkaninfo": %s, "cpus": %s}' \
    "$(probe uname -srm)" \
    "$(probe nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" \
    "$(probe vulkan_devices)" \
    "$(probe nproc)")
manifest=null
[ -f "$here/manifest.json" ] && manifest=$(cat "$here/manifest.json")
suite=null
bench_rows=()
passed=true

write_report() {
    local rows
    rows=$(IFS=,; echo "${bench_rows[*]:-}")
    {
        printf '{\n"bundle": %s,\n"mode": "%s",\n"device": "%s",\n' "$manifest" \
            "$([ "$short" = 1 ] && echo short || echo full)" "$device"
        printf '"started": "%s",\n"host": %s,\n' "$started" "$host"
        printf '"backend_suite": %s,\n"benches": [%s],\n' "$suite" "$rows"
        printf '"seconds": %s,\n"passed": %s\n}\n' "$(seconds_since "$started_ms")" "$passed"
    } >"$out.tmp" && mv "$out.tmp" "$out"
}

# Runs "$@" with a time limit of $1 seconds; output to $2. Sets rc and took.
timed() {
    local limit=$1 log=$2
    shift 2
    local t0
    t0=$(now_ms)
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    took=$(seconds_since "$t0")
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
write_report
echo "run.sh: report $out ($([ "$short" = 1 ] && echo short || echo full) run, budget ${budget} s)"

# 1. The backend suite on wgpu (flex is its reference for gradients and losses).
limit=$(allowance 240)
if [ "$limit" -lt 5 ]; then
    passed=false
    suite='{"passed": false, "skipped": "out of the time budget"}'
else
    echo "run.sh: backend suite on wgpu ..."
    timed "$limit" "$logs/backend-suite.log" \
        "$suite_binary" backends::wgpu --nocapture --test-threads=1
    [ "$rc" = 0 ] || passed=false
    suite=$(printf '{"passed": %s, "exit_code": %s, "timed_out": %s, "seconds": %s, "log": %s}' \
        "$([ "$rc" = 0 ] && echo true || echo false)" "$rc" \
        "$({ [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && echo true || echo false)" "$took" \
        "$(tail -n 40 "$logs/backend-suite.log" | json_string)")
    echo "run.sh: backend suite exit $rc in $took s"
fi
write_report

# 2. The benches, each in its own process (one device, the allocator's peak per run).
index=0
for row in "${benches[@]}"; do
    IFS='|' read -r label mode batch precision <<<"$row"
    index=$((index + 1))
    args=(--device "$device" bench --json --model efficientnet_b0 --mode "$mode"
        --precision "$precision")
    if [ "$short" = 1 ]; then
        args+=(--batch-size 2 --resolution 64 --warmup 1 --iters 2)
        label="$label (short: batch 2, 64 px)"
    else
        args+=(--batch-size "$batch" --resolution 224 --warmup 3 --iters 10)
    fi
    limit=$(allowance 90)
    if [ "$limit" -lt 5 ]; then
        passed=false
        bench_rows+=("$(printf '{"label": %s, "skipped": "out of the time budget"}' \
            "$(printf '%s' "$label" | json_string)")")
        write_report
        continue
    fi
    echo "run.sh: $label ..."
    log="$logs/bench-$index.log"
    timed "$limit" "$log" "$cli" "${args[@]}"
    # The report is the pretty JSON object the CLI prints last ("{" alone on a line to the end).
    result=$(sed -n '/^{$/,$p' "$log")
    if [ "$rc" = 0 ] && [ -n "$result" ]; then
        entry=$(printf '{"label": %s, "seconds": %s, "result": %s}' \
            "$(printf '%s' "$label" | json_string)" "$took" "$result")
        echo "run.sh: $label: $(grep '"images_per_second"' <<<"$result" | tr -d ' ,')"
    else
        passed=false
        entry=$(printf '{"label": %s, "seconds": %s, "exit_code": %s, "error": %s}' \
            "$(printf '%s' "$label" | json_string)" "$took" "$rc" \
            "$(tail -n 15 "$log" | json_string)")
        echo "run.sh: $label failed (exit $rc); see $log"
    fi
    bench_rows+=("$entry")
    write_report
done

echo "run.sh: done in $(seconds_since "$started_ms") s, passed: $passed; report $out"
[ "$passed" = true ]
