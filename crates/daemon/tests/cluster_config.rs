//! `[cluster]` is validated once, every problem named by its path; valid settings and defaults
//! reach `DaemonConfig::cluster`.

use prescale_daemon::DaemonConfig;
use std::time::Duration;

#[test]
fn a_valid_section_and_its_defaults() {
    let c =
        DaemonConfig::from_toml("[cluster]\nnats = \"nats://127.0.0.1:4222\"\nid = \"node-1\"\n")
            .unwrap();
    let k = c.cluster.unwrap();
    assert_eq!(k.nats, "nats://127.0.0.1:4222");
    assert_eq!(k.id, "node-1");
    assert_eq!(k.lease_ttl, Duration::from_secs(10));
    assert_eq!(k.partitions, 64);
    let c = DaemonConfig::from_toml(
        "[cluster]\nnats = \"nats://bus:4222\"\nid = \"b\"\nlease_ttl = \"2s\"\npartitions = 16\n",
    )
    .unwrap();
    let k = c.cluster.unwrap();
    assert_eq!((k.lease_ttl, k.partitions), (Duration::from_secs(2), 16));
    assert!(DaemonConfig::from_toml("").unwrap().cluster.is_none());
}

#[test]
fn every_bad_value_is_named_by_its_path() {
    let e = DaemonConfig::from_toml(
        "[cluster]\nnats = \"http://bus:4222\"\nid = \"a.b\"\nlease_ttl = \"100ms\"\npartitions = 0\n",
    )
    .unwrap_err()
    .to_string();
    for path in [
        "cluster.nats",
        "cluster.id",
        "cluster.lease_ttl",
        "cluster.partitions",
    ] {
        assert!(e.contains(path), "{path} not named in: {e}");
    }
    let e = DaemonConfig::from_toml("[cluster]\nnats = \"nats://bus:4222\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("id"), "{e}");
    let e = DaemonConfig::from_toml(
        "[cluster]\nnats = \"nats://bus:4222\"\nid = \"a\"\npartitions = 5000\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("cluster.partitions") && e.contains("4096"),
        "{e}"
    );
}
