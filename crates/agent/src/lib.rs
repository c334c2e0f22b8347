//! The built-in agent: per-process and per-cgroup resource sampling from /proc and /sys.
