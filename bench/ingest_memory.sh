#!/usr/bin/env bash
# Remote-write memory check: CONCURRENT maximum-size requests (default 4 × 1.5M samples in one series,
# ~13.5 MB snappy, ~26 MB decompressed) sent at once to `prescale run`; prints the daemon's RSS before
# (baseline), its peak (VmHWM) and its RSS after the requests settle, as MiB and as ratios to the baseline,
# with each request's HTTP status. Goal (issue 12): peak < 512 MiB, after ≈ baseline.
# What holds memory: each request's body and decompressed buffer (reserved from the in-flight budget),
# one decoded chunk of 16,384 samples at a time, admitted into samples grouped by series (key and labels
# shared with the tracked series, not copied per sample) and committed as one write-ahead log row; the
# store keeps its log decoded in memory (the head: 16 bytes a sample, at most ~131,072 samples, per
# store handle) until an append moves it into compressed chunks, so "after" includes up to ~2 MiB of
# head per handle. The samples are not kept one row each (the store's chunks replaced that layout).
# Usage: bench/ingest_memory.sh [--release] [--concurrent N] [--samples N] [--settle SECONDS] [-- EXTRA_TOML]
# PRESCALE_BIN=path/to/prescale measures that binary instead of building this tree's (e.g. an older
# build, for a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
concurrent=4
samples=1500000
settle=5
extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release; shift ;;
    --concurrent) concurrent=$2; shift 2 ;;
    --samples) samples=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --) shift; extra="$*"; break ;;
    *) echo "bench/ingest_memory.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
flag=""; [ "$profile" = release ] && flag="--release"
[ -n "${PRESCALE_BIN:-}" ] || cargo build $flag -q -p prescale-cli --bin prescale
cargo build $flag -q -p prescale-ingest --example rw_payload
target="${CARGO_TARGET_DIR:-target}/$profile"
bin="${PRESCALE_BIN:-$target/prescale}"
tmp=$(mktemp -d)
"$target/examples/rw_payload" "$tmp/body" --bodies "$concurrent" --samples "$samples" >"$tmp/payload.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listen = "127.0.0.1:%s"\ndb = "%s/prescale.db"\n[agent]\nenabled = false\n%s\n' \
  "$port" "$tmp" "$extra" >"$tmp/prescale.toml"
"$bin" run --config "$tmp/prescale.toml" >"$tmp/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$pid/status"; }
sleep 1
base=$(kib VmRSS)
start=$(date +%s.%N)
for i in $(seq 0 $((concurrent - 1))); do
  curl -s -o "$tmp/resp-$i" -w '%{http_code}\n' -X POST \
    -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' \
    -H 'X-Prometheus-Remote-Write-Version: 0.1.0' \
    --data-binary "@$tmp/body-$i.bin" "http://127.0.0.1:$port/api/v1/write" >"$tmp/code-$i" &
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
took=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
sleep "$settle"
peak=$(kib VmHWM)
after=$(kib VmRSS)
mib() { python3 -c "print(f'{$1/1024:.0f}')"; }
ratio() { python3 -c "print(f'{$1/$base:.2f}')"; }
sed 's/^/# /' "$tmp/payload.log"
printf '\n%-34s %10s %12s\n' "prescale ($profile), $concurrent concurrent" MiB "vs baseline"
printf '%-34s %10s %12s\n' "RSS before (baseline)" "$(mib "$base")" 1.00
printf '%-34s %10s %12s\n' "peak RSS (VmHWM)" "$(mib "$peak")" "$(ratio "$peak")"
printf '%-34s %10s %12s\n' "RSS ${settle}s after the requests" "$(mib "$after")" "$(ratio "$after")"
printf '\nrequests took %ss; statuses:' "$took"
for i in $(seq 0 $((concurrent - 1))); do printf ' %s' "$(cat "$tmp/code-$i")"; done
echo
for i in $(seq 0 $((concurrent - 1))); do
  [ -s "$tmp/resp-$i" ] && printf '  request %s: %s\n' "$i" "$(head -c 300 "$tmp/resp-$i")"
done
exit 0
