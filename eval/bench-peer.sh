#!/usr/bin/env bash
# Hỏi Luật side by side with its peer (eval/peers/peer.py: FastAPI, the same e5-small ONNX graph
# through onnxruntime, BM25 through bm25s, FAISS, RRF), on this machine, in one run:
#   1. each builds its index of the shipped corpus from scratch (time, peak RSS);
#   2. quality on the same questions and gold: `hoiluat eval --mode hybrid`, then the peer's
#      rankings scored with the same metrics (eval/peers/quality.py);
#   3. the services: cold start of each (process start to /readyz 200, index on disk), then
#      `hoiluat bench` (the same load generator, the same distinct questions) at concurrency
#      1, 8 and 32 against POST /v1/ask, levels alternating between the two services, with the
#      CPU time each service used per question, and each one's peak RSS.
# Hỏi Luật runs with the answer cache off: the peer has none. Writes
# eval/reports/<date>-peer.md (and the raw numbers beside it as .json).
#
# Usage: eval/bench-peer.sh [SECONDS_PER_LEVEL]   (run from the repository root after `make run`
# set-up; needs ../shared/data for the zalo-phapdien questions, and runs without them)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_LEVEL="${1:-20}"
HL_PORT="${BENCH_PORT:-18080}"
PEER_PORT="${PEER_PORT:-18090}"
BIN=./target/release/hoiluat
PY=eval/peers/.venv/bin/python
REPORT="eval/reports/$(date -u +%Y-%m-%d)-peer"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

cargo build --release --locked --quiet
eval/peers/setup.sh
SETS=(--set eval/questions/citizen-dev.jsonl --set eval/out_of_scope.jsonl)
ZALO=../shared/data/zalo-phapdien/dev.jsonl
if [[ -f $ZALO ]]; then SETS+=(--set "$ZALO"); fi
BENCH_SETS=(--set eval/questions/citizen-dev.jsonl)
if [[ -f $ZALO ]]; then BENCH_SETS+=(--set "$ZALO"); fi
export HOILUAT__PATHS__DATA_DIR="$SCRATCH/hoiluat"
export RUST_LOG=warn

# The value of a /usr/bin/time -v field.
field() { grep "$2" "$1" | awk '{print $NF}'; }

# 1. Indexes from scratch. Hỏi Luật's vector cache lives in its fresh data directory: the model runs.
/usr/bin/time -v "$BIN" ingest > "$SCRATCH/hl-ingest.out" 2> "$SCRATCH/hl-ingest.time"
/usr/bin/time -v "$PY" eval/peers/peer.py build --corpus corpus --models models \
  --index "$SCRATCH/peer-index" > "$SCRATCH/peer-build.out" 2> "$SCRATCH/peer-build.time"

# 2. Quality: Hỏi Luật in-process, with the gold it resolves; the peer over HTTP further down.
"$BIN" eval --mode hybrid "${SETS[@]}" --out "$SCRATCH/hl-eval" > /dev/null

# Starts a service in the background and measures its cold start (process start to /readyz 200).
# Arguments: name, port, then the command. Sets PID_<name>.
start_service() {
  local name=$1 port=$2
  shift 2
  local started=$(date +%s%N)
  "$@" > "$SCRATCH/$name.log" 2>&1 &
  printf -v "PID_$name" '%s' "$!"
  for _ in $(seq 1 6000); do
    if curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1; then break; fi
    sleep 0.05
  done
  echo "$(( ($(date +%s%N) - started) / 1000000 ))" > "$SCRATCH/$name.cold_ms"
}

# CPU time the process has used, in milliseconds (user + system, all its threads).
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

# One load level against one service; its CPU time over the level is recorded beside the result.
load_level() { # name, port, pid, concurrency
  local before=$(cpu_ms "$3")
  "$BIN" bench --url "http://127.0.0.1:$2" "${BENCH_SETS[@]}" --concurrency "$4" \
    --seconds "$SECONDS_PER_LEVEL" --label "$1-$4" --out "$SCRATCH/bench.md" 2> /dev/null
  echo "$(( $(cpu_ms "$3") - before ))" > "$SCRATCH/$1-$4.cpu_ms"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# One after the other, so that each cold start has the machine to itself.
HOILUAT__RETRIEVAL__ANSWER_CACHE_CAPACITY=0 HOILUAT__SERVER__BIND="127.0.0.1:$HL_PORT" \
  start_service hoiluat "$HL_PORT" "$BIN" serve
start_service peer "$PEER_PORT" "$PY" eval/peers/peer.py serve --models models \
  --index "$SCRATCH/peer-index" --port "$PEER_PORT"
"$PY" eval/peers/quality.py --eval "$SCRATCH/hl-eval.json" --url "http://127.0.0.1:$PEER_PORT" \
  --out "$SCRATCH/quality.json"
# Levels alternate between the two services, so that both meet the same load from the rest of
# the machine (other builds may run on it).
for concurrency in 1 8 32; do
  load_level hoiluat "$HL_PORT" "$PID_hoiluat" "$concurrency"
  load_level peer "$PEER_PORT" "$PID_peer" "$concurrency"
done
for name in hoiluat peer; do
  pid_var="PID_$name"
  grep VmHWM "/proc/${!pid_var}/status" | awk '{print $2}' > "$SCRATCH/$name.peak_kb"
  kill "${!pid_var}"
  wait "${!pid_var}" || true
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

cat > "$SCRATCH/run.json" <<EOF
{
  "command": "eval/bench-peer.sh $SECONDS_PER_LEVEL",
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB",
  "load_before": "$LOAD_BEFORE",
  "load_after": "$LOAD_AFTER",
  "hoiluat": {
    "build_s": "$(field "$SCRATCH/hl-ingest.time" 'Elapsed (wall clock)')",
    "build_peak_kb": $(field "$SCRATCH/hl-ingest.time" 'Maximum resident set size'),
    "build_output": $(tail -n 3 "$SCRATCH/hl-ingest.out" | head -n 1 | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'),
    "cold_ms": $(cat "$SCRATCH/hoiluat.cold_ms"),
    "peak_kb": $(cat "$SCRATCH/hoiluat.peak_kb")
  },
  "peer": {
    "build_s": "$(field "$SCRATCH/peer-build.time" 'Elapsed (wall clock)')",
    "build_peak_kb": $(field "$SCRATCH/peer-build.time" 'Maximum resident set size'),
    "build_output": $(tail -n 1 "$SCRATCH/peer-build.out" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'),
    "cold_ms": $(cat "$SCRATCH/peer.cold_ms"),
    "peak_kb": $(cat "$SCRATCH/peer.peak_kb")
  }
}
EOF
mkdir -p eval/reports
"$PY" eval/peers/report.py --run "$SCRATCH/run.json" --quality "$SCRATCH/quality.json" \
  --results "$SCRATCH" --out "$REPORT"
echo "wrote $REPORT.md"
