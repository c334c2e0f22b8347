#!/usr/bin/env bash
# Backtest benchmark on the 44 shared real series, in one run: local models only (--fleet off: what
# auto was before fleet learning), then every model with the fleet gbm, GRU and LSTM trained across
# the 44 series (each on its points before its scored windows), then the cold start from 1 h, 6 h,
# 1 d (leave-series-out fleet models). Prints both tables and the issue's goals against them.
# Usage: bench/backtest.sh [extra prescale backtest flags]
# Env:   BIN=path/to/prescale (a binary built elsewhere, e.g. the build before a change, run as is)
#        OUT=dir (where the JSON goes, default target/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data ]; then
  echo "bench/backtest.sh: ../shared/data not found beside the checkout; nothing to measure" >&2
  exit 1
fi
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  cargo build --release -q -p prescale-cli
  bin=target/release/prescale
fi
out=${OUT:-target/bench}
mkdir -p "$out"
echo "== local models only (--fleet off)"
"$bin" backtest --suite bench/shared44.toml --fleet off \
  --models naive,seasonal_naive,ets,mstl,theta,arima,auto --json "$out/backtest_local.json" "$@"
echo
echo "== with the fleet models"
"$bin" backtest --suite bench/shared44.toml \
  --models naive,gbm,gru,lstm,auto --json "$out/backtest.json" "$@"
echo
echo "== cold start (gbm and auto; recurrent models left out to keep five leave-series-out trainings short)"
"$bin" backtest --suite bench/shared44.toml \
  --models naive,gbm,auto --cold-start 1h,6h,1d --json "$out/backtest_cold.json" "$@"
python3 - "$out/backtest_local.json" "$out/backtest.json" "$out/backtest_cold.json" <<'PY'
import json, sys
local = json.load(open(sys.argv[1]))["models"]
doc = json.load(open(sys.argv[2]))
cold = json.load(open(sys.argv[3])).get("cold_start") or {}
m = doc["models"]
before = local["auto"]["mase"]
print()
print(f"goals (issue 11), same run: local-only auto MASE {before:.3f}")
if "auto" in m:
    a = m["auto"]
    print(f"  auto  MASE {a['mase']:.3f} (goal <= 0.88; {a['mase']/before:.3f}x local-only auto),"
          f" median MSIS {a['msis']:.2f} (goal <= 4.5), coverage {a['coverage']:.3f} (goal 0.88-0.92)")
for k in ("gbm", "gru", "lstm"):
    if k in m:
        print(f"  {k:5} MASE {m[k]['mase']:.3f} (goal for gbm: <= local-only auto {before:.3f}),"
              f" coverage {m[k]['coverage']:.3f}, {m[k]['ms_per_fit']:.2f} ms per fit"
              f" (146 paths: 145 calibration origins and the forecast, {m[k]['ms_per_fit']/146:.3f} ms each)")
f = doc.get("fleet") or {}
if f:
    print(f"  gbm training {f['ms_per_series']:.1f} ms per series (goal <= 50)")
    for r in f.get("recurrent", []):
        print(f"  {r['model']} training {r['train_seconds']*1000/max(r['series'],1):.0f} ms per series")
for age, models in cold.items():
    for k, v in models.items():
        if v.get("series") and "ratio" in v:
            print(f"  cold start {age:3} {k:5} MASE {v['mase']:.3f} = {v['ratio']:.2f}x its full-history MASE"
                  f" (goal <= 1.3x at 1h), coverage {v['coverage']:.3f}")
PY
