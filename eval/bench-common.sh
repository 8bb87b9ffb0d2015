# Shared by eval/bench.sh and eval/bench-ab.sh (sourced, not run).

# Waits until the service on 127.0.0.1:$PORT reports ready (up to 5 minutes: it may be ingesting).
wait_ready() {
  for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "service did not become ready" >&2
  return 1
}
