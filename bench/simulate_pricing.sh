#!/usr/bin/env bash
# Purchase-options benchmark on the 44 shared real series (issue 15 item 1): the predictive policy's
# replicas bought all on-demand, as a committed base + on-demand, and with spot for an interruptible
# workload, priced by docs/pricing.example.toml (default instance type: its first, m5.large).
# Goal: the mixed purchase costs <= 0.7x all-on-demand for the same policy at <= +0.2 points
# under-provisioned (spot interruptions counted) against the same policy without purchase options.
# Usage: bench/simulate_pricing.sh [extra prescale simulate flags, e.g. --instance-type c5.large]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "bench/simulate_pricing.sh: ../shared/data not found beside the checkout; nothing to measure" >&2
  exit 1
fi
cargo build --release -q -p prescale-cli
bin="${CARGO_TARGET_DIR:-target}/release/prescale"
out=target/bench
mkdir -p "$out"
pricing=docs/pricing.example.toml
run() { # name, flags...
  local name=$1
  shift
  "$bin" simulate --suite bench/shared44.toml --policies predictive --json "$out/pricing_$name.json" "$@" >/dev/null
}
run plain "$@"
run committed --pricing "$pricing" "$@"
run interruptible --pricing "$pricing" --interruptible "$@"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
docs = {n: json.load(open(f"{out}/pricing_{n}.json")) for n in ("plain", "committed", "interruptible")}
base = docs["plain"]["policies"]["predictive"]["under_pct"]
print(f"{docs['plain']['series_count']} series, predictive; under-provisioned without purchase options: {base:.3f}%")
print()
hdr = f"{'purchase':28} {'under %':>8} {'Δ points':>9} {'dollars':>10} {'all on-demand $':>16} {'x on-demand':>11} {'committed h':>12} {'spot h':>10} {'on-demand h':>12} {'interruptions':>13}"
print(hdr)
print("-" * len(hdr))
rows = {"committed": "committed base + on-demand", "interruptible": "+ spot (interruptible)"}
for n, label in rows.items():
    p = docs[n]["policies"]["predictive"]
    ratio = p["dollars"] / p["dollars_on_demand"]
    print(f"{label:28} {p['under_pct']:8.3f} {p['under_pct'] - base:+9.3f} {p['dollars']:10.2f} {p['dollars_on_demand']:16.2f} "
          f"{ratio:11.3f} {p['committed_hours']:12.0f} {p['spot_hours']:10.0f} {p['on_demand_hours']:12.0f} {p['interruptions']:13d}")
p = docs["interruptible"]["policies"]["predictive"]
ratio = p["dollars"] / p["dollars_on_demand"]
delta = p["under_pct"] - base
ok = ratio <= 0.7 and delta <= 0.2
print()
print(f"goal: mixed <= 0.70x all-on-demand at <= +0.20 points under-provisioned; measured {ratio:.3f}x at {delta:+.3f} points -> {'met' if ok else 'NOT met'}")
PY
