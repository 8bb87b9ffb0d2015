#!/usr/bin/env bash
# Service benchmark: POST /v1/ask over HTTP from a separate process (`hoiluat bench`) at concurrency
# 1, 8 and 32 with distinct real questions, answer cache off and then on; then ingest throughput and
# peak memory of a from-scratch ingest of the shipped corpus (vector cache bypassed, so the model
# really embeds). Appends to eval/reports/<date>-bench.md.
#
# Usage: eval/bench.sh [SECONDS_PER_LEVEL]   (run from the repository root after `make run` set-up)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_LEVEL="${1:-20}"
PORT="${BENCH_PORT:-18080}"
BIN=./target/release/hoiluat
REPORT="eval/reports/$(date -u +%Y-%m-%d)-bench.md"

cargo build --release --locked --quiet
mkdir -p eval/reports
{
  echo "# Service benchmark"
  echo
  echo "- command: \`eval/bench.sh $SECONDS_PER_LEVEL\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; the load generator runs on the same cores as the service"
  echo "- service: release build, shipped corpus, default config (\`server.max_concurrent_asks\` 8, \`model.sessions\` = cores)"
} > "$REPORT"

# shellcheck source=eval/bench-common.sh
source eval/bench-common.sh

run_level() { # label, answer cache capacity
  HOILUAT__SERVER__BIND="127.0.0.1:$PORT" HOILUAT__RETRIEVAL__ANSWER_CACHE_CAPACITY="$2" \
    RUST_LOG=warn "$BIN" serve > /tmp/hoiluat-bench-serve.log 2>&1 &
  local pid=$!
  wait_ready
  "$BIN" bench --url "http://127.0.0.1:$PORT" --seconds "$SECONDS_PER_LEVEL" --label "$1" --out "$REPORT"
  kill "$pid"
  wait "$pid" || true
}

run_level "answer cache off" 0
run_level "answer cache on" 10000

# Ingest throughput and peak memory: a fresh data directory and an empty vector cache.
SCRATCH=$(mktemp -d)
/usr/bin/time -v env HOILUAT__PATHS__DATA_DIR="$SCRATCH/data" RUST_LOG=warn "$BIN" ingest \
  > "$SCRATCH/ingest.out" 2> "$SCRATCH/ingest.err"
CHUNKS=$(grep -o 'chỉ mục: [0-9]*' "$SCRATCH/ingest.out" | grep -o '[0-9]*')
SECS=$(grep -o 'trong [0-9.]* giây' "$SCRATCH/ingest.out" | grep -o '[0-9.]*')
WALL=$(grep 'Elapsed (wall clock)' "$SCRATCH/ingest.err" | awk '{print $NF}')
PEAK_KB=$(grep 'Maximum resident set size' "$SCRATCH/ingest.err" | awk '{print $NF}')
{
  echo
  echo "### Ingest of the shipped corpus from scratch"
  echo
  echo "| chunks | embed + store | passages/s | whole command (incl. optimise) | peak RSS |"
  echo "|---|---|---|---|---|"
  echo "| $CHUNKS | ${SECS} s | $(awk -v c="$CHUNKS" -v s="$SECS" 'BEGIN{printf "%.1f", c/s}') | $WALL | $((PEAK_KB / 1024)) MiB |"
} >> "$REPORT"
rm -rf "$SCRATCH"
echo "wrote $REPORT"
