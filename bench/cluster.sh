#!/usr/bin/env bash
# Cluster benchmark: W workloads (default 1000, 1 s step and tick, the default policy, forecast-only)
# shared by 1, 2 and 3 `prescale run` processes over a real nats-server -js on loopback; every
# point goes through the bus (crates/cli/examples/cluster_bench.rs). Per instance count, over the
# measured window: control passes, mean pass time, decisions per second, workloads decided per
# second of pass time (summed over the instances), CPU ms per decision (all instances' user+system
# time), and the bus traffic measured at the server (/jsz): point messages and bytes per second,
# bytes per point, bytes per stored decision, lease-bucket writes per second and bytes per lease
# entry. Ratios are against the 1-instance run of this same invocation. This machine's cores are
# shared by every instance (and whatever else runs): the load average is printed.
# Usage: bench/cluster.sh [--workloads N] [--instances 1,2,3] [--seconds S] [--warmup S]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || {
  echo "nats-server not found (apt-get install nats-server)" >&2
  exit 1
}
cargo build --release -q -p prescale-cli --bin prescale --example cluster_bench
dir="${CARGO_TARGET_DIR:-target}/release"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
"$dir/examples/cluster_bench" "$dir/prescale" "$@" | tee "$rows"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
python3 - "$rows" <<'PY'
import sys
rows = [l.split()[1:] for l in open(sys.argv[1]) if l.startswith("ROW")]
head = ("instances", "workloads", "passes/s", "mean pass s", "decisions/s", "wl per pass-s",
        "x1 wl per pass-s", "CPU ms/decision", "point msgs/s", "point KB/s", "B/point",
        "B/decision", "lease writes/s", "B/lease entry")
print()
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" for _ in head) + "|")
base = next((r for r in rows if r[0] == "1"), None)
for r in rows:
    k, w, pps, mean, dps, per, cpu, pm, pb, bpp, bd, lw, lb = r
    x = f"{float(per) / float(base[5]):.2f}" if base else "n/a"
    print(f"| {k} | {w} | {pps} | {mean} | {dps} | {per} | {x} | {cpu} | {pm} | "
          f"{float(pb) / 1024:.1f} | {bpp} | {bd} | {lw} | {lb} |")
PY
