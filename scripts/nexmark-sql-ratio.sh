#!/usr/bin/env bash
# Events per CPU-second of each Nexmark query as DataStream code and as SQL, the
# median of three runs each, and their ratio (docs/benchmarks.md, issue 15).
# Usage: scripts/nexmark-sql-ratio.sh [EVENTS] [QUERIES...]   (build first:
# cargo build --release -p weir-cli; WEIR=path overrides the binary).
set -euo pipefail
cd "$(dirname "$0")/.."
weir="${WEIR:-${CARGO_TARGET_DIR:-target}/release/weir}"
events="${1:-1000000}"
shift || true
queries=("$@")
if [ ${#queries[@]} -eq 0 ]; then
  queries=(q0 q1 q2 q3 q4 q5 q7 q8 q9 q10 q11 q12 q14 q15 q16 q17 q18 q19 q20 q21 q22)
fi
[ -x "$weir" ] || { echo "no weir binary at $weir (cargo build --release -p weir-cli)" >&2; exit 1; }
median() { sort -n | sed -n 2p; }
rate() { # query, extra flags...
  local q="$1"; shift
  for _ in 1 2 3; do
    "$weir" nexmark run "$@" -q "$q" --events "$events" 2>/dev/null | tail -1 |
      sed -n 's/.*"events_per_cpu_second":\([0-9.]*\).*/\1/p'
  done | median
}
echo "| query | DataStream events/CPU-s | SQL events/CPU-s | DataStream / SQL |"
echo "| --- | --- | --- | --- |"
for q in "${queries[@]}"; do
  ds=$(rate "$q")
  sql=$(rate "$q" --sql)
  awk -v q="$q" -v ds="$ds" -v sql="$sql" 'BEGIN { printf "| %s | %.2f M | %.2f M | %.1f× |\n", q, ds / 1e6, sql / 1e6, ds / sql }'
done
