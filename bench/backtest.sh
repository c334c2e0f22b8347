#!/usr/bin/env bash
# Backtest benchmark on the 44 shared real series; prints prescale's table next to the reference figures.
# Usage: bench/backtest.sh [extra prescale backtest flags, e.g. --models naive,auto]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "bench/backtest.sh: ../shared/data not found beside the checkout; nothing to measure" >&2
  exit 1
fi
cargo build --release -q -p prescale-cli
out=target/bench
mkdir -p "$out"
target/release/prescale backtest --suite bench/shared44.toml --json "$out/backtest.json" "$@"
echo
echo "reference (issue #2, same protocol, measured on this machine kind; statsforecast not re-run here):"
echo "model                                 mean MASE  median MSIS  coverage  ms/fit"
echo "naive                                     1.219         21.4     0.977     0.8"
echo "seasonal naive                            1.412         22.8     0.960     0.7"
echo "statsforecast AutoETS (numba, warm)       1.209         10.2     0.965     219"
python3 - "$out/backtest.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
m = doc["models"]
if "auto" in m:
    a = m["auto"]
    best = min(v for v in (1.219, 1.412, 1.209))
    print()
    print(f"auto vs goals: MASE {a['mase']:.3f} (goal <= 1.03; {a['mase']/best:.3f}x the best reference),"
          f" coverage {a['coverage']:.3f} (goal 0.88-0.92), median MSIS {a['msis']:.2f} (goal < 10.2),"
          f" {a['ms_per_fit']:.2f} ms/fit = {219/a['ms_per_fit']:.1f}x faster than statsforecast AutoETS (goal >= 20x)")
    if "naive" in m:
        n = m["naive"]
        print(f"in this run: auto/naive MASE ratio {a['mase']/n['mase']:.3f}, time per fit ratio {a['ms_per_fit']/max(n['ms_per_fit'],1e-9):.1f}x naive")
PY
