#!/usr/bin/env python3
"""Baseline for bench/backtest.sh: statsforecast's AutoETS under the same backtest protocol, same run.

Reads the same 44 series as bench/shared44.toml (its own small reader: this is a measuring stick, not part of
prescale), takes the last history + windows*horizon points, refits at every origin on at most `history`
points, and scores MASE (scale: mean |diff| of the first origin's training part), MSIS and coverage of the
90% band. Prints one JSON object. Needs `pip install statsforecast`; exits 3 when it is missing.
"""
import json
import sys
import time
from pathlib import Path

try:
    import numpy as np
    import pandas as pd
    from statsforecast.models import AutoETS
except ImportError:
    print("statsforecast not installed", file=sys.stderr)
    sys.exit(3)

HISTORY, WINDOWS, HORIZON, LEVEL, SEASON = 4032, 12, 12, 90, 288


def series(root: Path):
    for f in sorted((root / "nab_realAWSCloudwatch").glob("*.csv")):
        yield f.name, pd.read_csv(f)["value"].to_numpy(float)
    for f in sorted((root / "bitbrains_gwa_t12_rnd/2013-7").glob("*.csv"), key=lambda p: p.name):
        df = pd.read_csv(f, sep=";\t", engine="python")
        df = df.sort_values(df.columns[0]).drop_duplicates(df.columns[0])
        yield f.name, df["CPU usage [MHZ]"].to_numpy(float)
    ali = root / "alibaba2018_machine_usage_aggregated/machine_usage_days_1_to_8_grouped_300_seconds.csv"
    yield ali.name, pd.read_csv(ali)["cpu_util_percent"].to_numpy(float)
    nasa = pd.read_csv(root / "nasa_http_1995/nasa_requests_per_minute.csv")
    ts = pd.to_datetime(nasa["timestamp"], utc=True)
    s = nasa.set_index(ts)["requests"].resample("5min").sum(min_count=1).dropna()
    yield "nasa_requests_per_minute.csv", s.to_numpy(float)


def backtest(y):
    need = HISTORY + WINDOWS * HORIZON
    y = y[-need:]
    start = len(y) - WINDOWS * HORIZON
    alpha = 1 - LEVEL / 100
    first_train = y[max(0, start - HISTORY):start]
    scale = np.mean(np.abs(np.diff(first_train)))
    errs, msis, cov, secs = [], [], [], 0.0
    for w in range(WINDOWS):
        o = start + w * HORIZON
        train = y[max(0, o - HISTORY):o]
        actual = y[o:o + HORIZON]
        t0 = time.perf_counter()
        model = AutoETS(season_length=SEASON)
        fc = model.forecast(y=train, h=HORIZON, level=[LEVEL])
        secs += time.perf_counter() - t0
        mean, lo, hi = fc["mean"], fc[f"lo-{LEVEL}"], fc[f"hi-{LEVEL}"]
        errs.extend(np.abs(actual - mean))
        msis.extend((hi - lo) + 2 / alpha * (lo - actual) * (actual < lo) + 2 / alpha * (actual - hi) * (actual > hi))
        cov.extend((actual >= lo) & (actual <= hi))
    return np.mean(errs) / scale, np.mean(msis) / scale, np.mean(cov), secs


def main():
    root = Path(sys.argv[1])
    AutoETS(season_length=SEASON).forecast(y=np.arange(100.0) % 7, h=2, level=[LEVEL])  # warm the JIT
    rows = []
    for name, y in series(root):
        m, s, c, secs = backtest(y)
        rows.append((name, m, s, c, secs))
    fits = len(rows) * WINDOWS
    out = {
        "series": len(rows),
        "mase": float(np.mean([r[1] for r in rows])),
        "msis": float(np.median([r[2] for r in rows])),
        "coverage": float(np.mean([r[3] for r in rows])),
        "seconds": float(sum(r[4] for r in rows)),
        "ms_per_fit": 1000 * float(sum(r[4] for r in rows)) / fits,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
