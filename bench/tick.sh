#!/usr/bin/env bash
# Fleet tick benchmark: tick time of N synthetic workloads' controllers (1-minute step, 60-step
# season, noise and bursts) on 1 thread and on all threads, and memory per workload
# (crates/control/examples/tick_bench.rs). Every workload is seeded on the same tick, as the daemon's
# first tick does; each controller's own refit phase spreads the refits over the ticks. Two sizings:
#   replicas  - the replica decision only
#   resources - per-replica CPU and memory sized with every decision as well ([workload.resources])
# Ratios are against the 1-thread run of the same N and sizing in this run. Wall times depend on
# what else runs on the machine: the load average is printed, and CPU s/tick is the process's own
# user+system time (robust to sharing the cores).
# Usage: bench/tick.sh [N ...]            (default: 1000 10000 100000)
# Env:   THREADS=1,2 (default: 1 and all cores)   MODES="replicas resources"
#        LARGE=100000 (N from which the bench is bounded)   LARGE_TICKS=3 (ticks per phase there)
#        LARGE_RESOURCES=0 (1: also run the resources sizing there)
#        EXTRA="--history 4032 ..." (more tick_bench flags)
#        FLEET=K (each sizing also runs with the fleet gbm: trained once on K workloads' histories,
#                 shared by every controller's auto from the seeding tick; the "vs no fleet" column
#                 is its tick time over the same sizing's without it, same N and threads, this run)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p prescale-control --example tick_bench
bin="${CARGO_TARGET_DIR:-target}/release/examples/tick_bench"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 10000 100000)
modes=${MODES:-replicas resources}
large=${LARGE:-100000}
threads=${THREADS:-1,$(nproc)}
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for n in "${sizes[@]}"; do
  for mode in $modes; do
    flags=(--threads "$threads")
    [ "$mode" = resources ] && flags+=(--resources)
    if [ "$n" -ge "$large" ]; then
      if [ "$mode" = resources ] && [ "${LARGE_RESOURCES:-0}" != 1 ]; then
        echo "== $n resources: skipped (LARGE_RESOURCES=1 runs it)"
        continue
      fi
      flags+=(--ticks "${LARGE_TICKS:-3}" --split-sample 0)
    fi
    fleets=(0)
    [ -n "${FLEET:-}" ] && fleets+=("$FLEET")
    for fleet in "${fleets[@]}"; do
      extra=()
      [ "$fleet" != 0 ] && extra=(--fleet "$fleet")
      echo "== $n workloads, $mode sized$([ "$fleet" != 0 ] && echo ", fleet gbm trained on $fleet")"
      # shellcheck disable=SC2086
      "$bin" "$n" "${flags[@]}" "${extra[@]}" ${EXTRA:-} | tee /dev/stderr | grep --line-buffered '^ROW' >>"$rows" || true
    done
  done
done 2>&1 | grep --line-buffered -v '^ROW'
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
python3 - "$rows" <<'PY'
import sys
rows = [l.split()[1:] for l in open(sys.argv[1]) if l.startswith("ROW")]
base = {}
for r in rows:
    if r[2] == "1":
        base[(r[0], r[1])] = r
head = ("workloads", "sizing", "threads", "mean tick s", "worst tick s", "µs/workload", "CPU s/tick",
        "fits/tick", "RSS KiB/wl", "RSS KiB/wl end", "history", "mean x1T", "worst x1T", "vs no fleet",
        "warm-up s")
plain = {(r[0], r[1], r[2]): r for r in rows if not r[1].endswith("+gbm")}
print()
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
for r in rows:
    n, mode, t, mean, worst, per, rss, hist, _refit, _shift, warm, cpu, fits, rss_end = r
    b = base.get((n, mode))
    ratio = lambda i: f"{float(b[i]) / float(r[i]):.2f}" if b and float(r[i]) > 0 else "n/a"
    p = plain.get((n, mode.removesuffix("+gbm"), t)) if mode.endswith("+gbm") else None
    vs = f"{float(mean) / float(p[3]):.2f}" if p and float(p[3]) > 0 else "n/a"
    print(f"| {n} | {mode} | {t} | {float(mean):.3f} | {float(worst):.3f} | {float(per):.1f} | {cpu} | "
          f"{fits} | {float(rss) / 1024:.1f} | {float(rss_end) / 1024:.1f} | {hist} | {ratio(3)} | {ratio(4)} | "
          f"{vs} | {float(warm):.1f} |")
print()
print("x1T: 1-thread time / this time (speed-up). vs no fleet: mean tick / the same run without the fleet gbm.")
print("Warm-up: one seeding tick (the history fitted once) on all threads. RSS: after the seeding tick / after the timed ticks.")
PY
