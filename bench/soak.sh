#!/usr/bin/env bash
# Bounded soak of `prescale run` on ONE embedded store: remote-write of ~10k series (100 workloads,
# every series sampled every 5 s, one request a second), mixed reads of the API from two threads
# (the workload listing with every series, decision listings, forecasts, models, anomalies,
# /metrics, /healthz) and the control loop deciding for 10 [[workload]]s every 2 s (act mode,
# dry-run actuator) with the learn loop on, for SOAK_SECS (default 600, at most 3600). Prints
# p50/p99/max latency and errors per endpoint, the daemon's RSS every 5 s (/proc/PID/status) with
# its least-squares slope and growth after warm-up, and open fds at the start and end.
# Goals (issue 12): zero errors, read p99 < 50 ms at 10k series, RSS growth < 10 % after warm-up.
#
# Usage: bench/soak.sh [SECONDS]       (or SOAK_SECS=600; SOAK_SERIES=10000; SOAK_READERS=2;
#        SOAK_EXTRA='[learn]\nenabled = false' adds TOML sections to the daemon's config)
# PRESCALE_BIN=path/to/prescale soaks that binary instead of building this tree's.
# Run it niced on a shared machine: `nice -n 10 bench/soak.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-${SOAK_SECS:-600}}"
case "$secs" in '' | *[!0-9]*) echo "bench/soak.sh: seconds must be a number, got $secs" >&2; exit 2 ;; esac
if [ "$secs" -gt 3600 ]; then
  echo "bench/soak.sh: $secs s capped at 3600" >&2
  secs=3600
fi
series="${SOAK_SERIES:-10000}"
readers="${SOAK_READERS:-2}"
[ -n "${PRESCALE_BIN:-}" ] || cargo build --release -q -p prescale-cli --bin prescale
cargo build --release -q -p prescale-daemon --example soak_load
target="${CARGO_TARGET_DIR:-target}/release"
bin="${PRESCALE_BIN:-$target/prescale}"
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  printf 'listen = "127.0.0.1:%s"\ndb = "%s/soak.db"\ntick = "1s"\nmode = "act"\n' "$port" "$tmp"
  printf '[agent]\nenabled = false\n'
  # SOAK_EXTRA: more TOML sections (e.g. '[learn]\nenabled = false'), before the workloads.
  printf '%b\n' "${SOAK_EXTRA:-}"
  for w in $(seq 0 9); do
    printf '[[workload]]\nworkload = "soak-w%s"\nmetric = "demand"\ncapacity_per_replica = 10.0\n' "$w"
    printf 'min = 1\nmax = 50\nstep = "2s"\nlead = "4s"\nseason = "2m"\nstale_after = "30s"\n'
    printf 'actuator = { type = "dry-run" }\n'
  done
} >"$tmp/prescale.toml"
"$bin" run --config "$tmp/prescale.toml" >"$tmp/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$target/examples/soak_load" --url "http://127.0.0.1:$port" --pid "$pid" --secs "$secs" \
  --series "$series" --readers "$readers"
echo
echo "daemon log: $(grep -c ' WARN ' "$tmp/daemon.log" || true) warnings, $(grep -c ' ERROR ' "$tmp/daemon.log" || true) errors"
grep -E ' (WARN|ERROR) ' "$tmp/daemon.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-300 | sort | uniq -c | sort -rn | head -5 || true
