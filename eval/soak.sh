#!/usr/bin/env bash
# Soak benchmark (not CI): 30 minutes of mixed load on one `hoiluat serve` on 127.0.0.1 (webhooks
# of Zalo OA, Zalo Bot and Telegram against local fake platforms that fail 10 % of sends, the web
# widget, POST /v1/ask, staff sign-ins and reviews), SIGKILLed at random points and restarted.
# Reports the load held, restarts, lost messages (must be 0), duplicate deliveries and RSS over
# time in eval/reports/<date>-soak.{md,json}. See eval/README.md, "Soak".
#
# Usage: eval/soak.sh [MINUTES] [extra soak.py options, e.g. --rate 1 --kills 8]
#   BIN=…      the binary to soak (default: the debug build, `cargo build --locked`)
#   CORPUS=…   space-separated corpus/ files to serve (default: three small laws and a plan)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-30}"
shift || true
BIN="${BIN:-./target/debug/hoiluat}"
CORPUS="${CORPUS:-luat-52-2014-qh13.md luat-60-2014-qh13.md luat-35-2013-qh13.md ke-hoach-137-kh-ubnd-2025-quang-ngai.md}"
NAME="eval/reports/$(date -u +%Y-%m-%d)-soak"

if [ "$BIN" = ./target/debug/hoiluat ]; then
  cargo build --locked --quiet
fi
WORK="$(mktemp -d /tmp/hoiluat-soak.XXXXXX)"
mkdir -p "$WORK/corpus"
for file in $CORPUS; do cp "corpus/$file" "$WORK/corpus/"; done
echo "soak: working in $WORK (service log: $WORK/hoiluat.log)" >&2

python3 eval/soak/soak.py --binary "$BIN" --workdir "$WORK" --corpus "$WORK/corpus" \
  --models "$PWD/models" --prompts "$PWD/prompts" --minutes "$MINUTES" \
  --out "$NAME.json" "$@"
python3 eval/soak/report.py "$NAME.json" \
  --command "eval/soak.sh $MINUTES $*" --binary "$BIN" --corpus "$CORPUS" > "$NAME.md"
echo "soak: report in $NAME.md" >&2
