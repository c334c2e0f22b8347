//! The prescale daemon: HTTP API, remote-write receiver, scrape, agent and back-fill loops.
