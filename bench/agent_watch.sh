#!/usr/bin/env bash
# Overhead of the agent's millisecond watch ([agent.watch]) against the grouped agent at its 10 ms
# floor, in one run on this machine: 5 watched processes at 1 ms and 10 ms, with status, by command
# line, and a thread that only wakes every 1 ms. Prints a table and the issue's goal (<= 2% of a core).
# Usage: bench/agent_watch.sh [--seconds 10] [--processes 5]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p prescale-agent --example watch_overhead -- "$@"
