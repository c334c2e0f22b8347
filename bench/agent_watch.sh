#!/usr/bin/env bash
# Overhead of the agent's millisecond watch ([agent.watch]) against the grouped agent at its 10 ms
# floor, in one run on this machine: 5 watched processes at 1 ms and 10 ms, with status, by command
# line, and the floor: the watcher's own 1 ms loop reading nothing. Rows are measured in turns
# (--rounds) so load changes during the run reach every row. Prints a table and the issue's goal
# (<= 2% of a core) with how much of it is the floor.
# Usage: bench/agent_watch.sh [--seconds 10] [--processes 5] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -p prescale-agent --example watch_overhead -- "$@"
