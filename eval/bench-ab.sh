#!/usr/bin/env bash
# A/B service benchmark: two builds of hoiluat measured alternately (A, B, A, B) on the same
# machine, the same index and the same questions, answer cache off, so that a change is judged
# against its parent even when the machine's speed drifts between sessions (a shared 2-core VM
# does: the same code measured 80.7 and 44.8 questions/s one question at a time on two days).
#
# Usage: eval/bench-ab.sh OLD_BIN NEW_BIN [SECONDS_PER_LEVEL] [ROUNDS]
#   OLD_PROMPTS=DIR  prompts directory for OLD_BIN when its prompt files differ (default prompts/)
#   NEW_PROMPTS=DIR  the same for NEW_BIN
# Build the old binary with e.g.
#   git stash && cargo build --release && cp target/release/hoiluat /tmp/hoiluat-old \
#     && cp -r prompts /tmp/prompts-old && git stash pop && cargo build --release
# Appends to eval/reports/<date>-bench-ab.md (and JSON beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD_BIN="$1"
NEW_BIN="$2"
SECONDS_PER_LEVEL="${3:-10}"
ROUNDS="${4:-2}"
PORT="${BENCH_PORT:-18081}"
REPORT="eval/reports/$(date -u +%Y-%m-%d)-bench-ab.md"
LOAD=./target/release/hoiluat

mkdir -p eval/reports
{
  echo
  echo "# A/B service benchmark"
  echo
  echo "- command: \`eval/bench-ab.sh $OLD_BIN $NEW_BIN $SECONDS_PER_LEVEL $ROUNDS\` ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); the load generator shares the cores"
  echo "- A = \`$OLD_BIN\`, B = \`$NEW_BIN\`; answer cache off; rounds alternate A, B"
} >> "$REPORT"

# shellcheck source=eval/bench-common.sh
source eval/bench-common.sh

measure() { # binary, prompts dir, label
  HOILUAT__SERVER__BIND="127.0.0.1:$PORT" HOILUAT__RETRIEVAL__ANSWER_CACHE_CAPACITY=0 \
    HOILUAT__PATHS__PROMPTS_DIR="$2" RUST_LOG=warn "$1" serve > /tmp/hoiluat-bench-ab.log 2>&1 &
  local pid=$!
  wait_ready
  "$LOAD" bench --url "http://127.0.0.1:$PORT" --seconds "$SECONDS_PER_LEVEL" \
    --concurrency 1,8 --label "$3" --out "$REPORT"
  kill "$pid"
  wait "$pid" || true
}

for round in $(seq 1 "$ROUNDS"); do
  measure "$OLD_BIN" "${OLD_PROMPTS:-prompts}" "A, round $round"
  measure "$NEW_BIN" "${NEW_PROMPTS:-prompts}" "B, round $round"
done
echo "wrote $REPORT"
