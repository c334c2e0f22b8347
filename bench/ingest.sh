#!/usr/bin/env bash
# Remote-write ingest benchmark: the same payloads (4 clients, 1000 series x 10 samples per request)
# sent over loopback to prescale's /api/v1/write (embedded store, acknowledged after commit, with
# synchronous=full and =normal) and to a real VictoriaMetrics started here on a temporary port; then
# the bytes on disk per sample of each (prescale: its file after flushing the log and checkpointing
# the journal; VictoriaMetrics: its data directory after a forced flush). The last line is the
# ratio of prescale (synchronous=full, acknowledged after a durable commit) to VictoriaMetrics.
# The store appends remote-write batches grouped by series (one write-ahead log row and one commit per
# writer batch, acknowledged once an fsync of the journal that covers it returned: group commit, the
# writer commits the next batch meanwhile) and flushes the log into compressed chunks every 262,144 samples.
# Usage: bench/ingest.sh [--baseline BIN] [--requests N]   (needs /usr/bin/victoria-metrics: apt-get
# install victoria-metrics). --baseline runs another build's ingest_bench example (e.g. one built from
# an older commit) in the same run, as one more row. PRESCALE_INGEST_BENCH_BIN=path runs that build of
# the example instead of building this checkout's (on a shared machine, to measure a fixed build).
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=""
if [ "${1:-}" = --baseline ]; then baseline=$2; shift 2; fi
vm_bin="${PRESCALE_VICTORIA_METRICS_BIN:-$(command -v victoria-metrics || true)}"
[ -n "$vm_bin" ] || { echo "bench/ingest.sh: victoria-metrics not installed" >&2; exit 1; }
bin="${PRESCALE_INGEST_BENCH_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release -q -p prescale-daemon --example ingest_bench
  bin="${CARGO_TARGET_DIR:-target}/release/examples/ingest_bench"
fi
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$vm_bin" -httpListenAddr "127.0.0.1:$port" -storageDataPath "$tmp/vm" -retentionPeriod 100y >"$tmp/vm.log" 2>&1 &
vm_pid=$!
trap 'kill $vm_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
run() { local exe=$1; shift; "$exe" "$@" 2>/dev/null | tee "$tmp/last.out" | grep -o '= [0-9]* samples/s' | grep -o '[0-9]*'; }
full=$(run "$bin" --sync full "$@")
full_bps=$(grep -o '= [0-9.]* bytes/sample' "$tmp/last.out" | grep -o '[0-9.]*' || echo '?')
normal=$(run "$bin" --sync normal "$@")
rows=("prescale, synchronous=full:$full" "prescale, synchronous=normal:$normal")
if [ -n "$baseline" ]; then
  base=$(run "$baseline" --sync full "$@")
  base_bps=$(grep -o '= [0-9.]* bytes/sample' "$tmp/last.out" | grep -o '[0-9.]*' || echo '?')
  rows+=("baseline build, synchronous=full:$base")
fi
vm=$(run "$bin" --url "http://127.0.0.1:$port/api/v1/write" "$@")
vm_samples=$(grep -o ': [0-9]* samples in' "$tmp/last.out" | grep -o '[0-9]*')
curl -sf "http://127.0.0.1:$port/internal/force_flush" >/dev/null || true
sleep 3
vm_bytes=$(du -sb "$tmp/vm" | cut -f1)
printf '\n%-46s %14s %10s\n' receiver samples/s "vs VM"
printf '%-46s %14s %10s\n' "VictoriaMetrics $("$vm_bin" -version 2>&1 | head -1 | cut -c1-20)" "$vm" 1.00
for row in "${rows[@]}"; do
  name=${row%%:*}; v=${row##*:}
  printf '%-46s %14s %10s\n' "$name" "$v" "$(python3 -c "print(f'{$v/$vm:.2f}')")"
done
printf '\n%-46s %14s\n' "bytes on disk per sample" ""
printf '%-46s %14s\n' "VictoriaMetrics (data directory)" "$(python3 -c "print(f'{$vm_bytes/$vm_samples:.2f}')")"
printf '%-46s %14s\n' "prescale (store file)" "$full_bps"
[ -z "$baseline" ] || printf '%-46s %14s\n' "baseline build (store file)" "$base_bps"
echo "ratio prescale/victoria-metrics: $(python3 -c "print(f'{$full/$vm:.2f}')")"
