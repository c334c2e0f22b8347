#!/usr/bin/env bash
# Simulator benchmark on the 44 shared real series: predictive vs the HPA trade-off curve and the oracle.
# Usage: bench/simulate.sh [extra prescale simulate flags]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "bench/simulate.sh: ../shared/data not found beside the checkout; nothing to measure" >&2
  exit 1
fi
cargo build --release -q -p prescale-cli
out=target/bench
mkdir -p "$out"
target/release/prescale simulate --suite bench/shared44.toml \
  --policies hpa@0.5,hpa@0.6,hpa,hpa@0.8,hpa@0.9,predictive,threshold,oracle,static \
  --json "$out/simulate.json" --report "$out/simulate.html" "$@" | grep -E "^(TOTAL|series|---)"
python3 - "$out/simulate.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["policies"]
pred = p["predictive"]
print()
print(f"goal: predictive under_pct <= 0.63 at cost <= 1.15x oracle; measured {pred['under_pct']:.3f}% at {pred['cost_vs_oracle']:.3f}x")
for name in ["hpa@0.50", "hpa@0.60", "hpa", "hpa@0.80", "hpa@0.90"]:
    if name in p:
        h = p[name]
        beats = pred["cost_vs_oracle"] <= h["cost_vs_oracle"] and pred["under_pct"] < h["under_pct"]
        print(f"{name:9} {h['under_pct']:6.3f}% at {h['cost_vs_oracle']:.3f}x  -> predictive {'beats' if beats else 'does not beat'} it at equal or lower cost")
PY
echo "report: $out/simulate.html"
