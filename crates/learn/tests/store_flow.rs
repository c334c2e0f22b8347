//! The whole learning flow on the synthetic demo fleet in an in-memory store: fingerprints →
//! clusters (stable ids) → fleet view → profiles → cold-start forecast → recommendations.

use prescale_core::{Labels, MetricName, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_learn::*;
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};

fn w(s: &str) -> WorkloadId {
    WorkloadId::new(s).unwrap()
}

fn store_with_fleet() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let fleet = demo_fleet(&DemoConfig {
        workloads: 10,
        days: 9,
        ..DemoConfig::default()
    })
    .unwrap();
    for s in &fleet {
        store.upsert_series(s).unwrap();
    }
    store
}

#[test]
fn nothing_learned_yet_is_a_clear_error() {
    let store = store_with_fleet();
    let e = recommend(
        &store,
        &Like::Workload(w("web-daily-1")),
        &RecommendOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("run `prescale fingerprint` and `prescale cluster` first"),
        "{e}"
    );
    assert!(matches!(
        fleet_view(&store, KMEANS, false),
        Err(LearnError::NoFingerprints)
    ));
}

#[test]
fn learn_view_profile_and_recommend() {
    let mut store = store_with_fleet();
    let fp = fingerprint_store(&mut store, &FingerprintOptions::default()).unwrap();
    assert_eq!(fp.run.vectors.len(), 10);
    let opts = ClusterOptions {
        algorithm: Algorithm::Kmeans,
        k: Some(5),
        ..ClusterOptions::default()
    };
    let first = cluster_latest(&mut store, &opts).unwrap();
    let again = cluster_latest(&mut store, &opts).unwrap();
    let clusters = first.kmeans.as_ref().unwrap().clusters.clone();
    assert_eq!(clusters, again.kmeans.unwrap().clusters, "ids are stable");
    // The five archetypes pair up.
    let web = first.cluster_of(&w("web-daily-1")).unwrap();
    assert_eq!(first.cluster_of(&w("web-daily-2")), Some(web));

    // The view joins both and serializes.
    let view = fleet_view(&store, KMEANS, true).unwrap();
    assert_eq!(view.workloads.len(), 10);
    assert_eq!(view.clusters.len(), 5);
    let wv = view.workload(&w("web-daily-1")).unwrap();
    assert_eq!(wv.cluster, Some(web));
    assert!(!wv.features.is_empty());
    let cv = view.clusters.iter().find(|c| c.id == web).unwrap();
    let web_members = &clusters.iter().find(|c| c.id == web).unwrap().members;
    assert_eq!(&cv.members, web_members);
    assert_eq!(cv.size, web_members.len());
    let m = cv.centroid_map.unwrap();
    let pts: Vec<[f64; 2]> = cv
        .members
        .iter()
        .map(|m| view.workload(m).unwrap().map)
        .collect();
    let mean_x = pts.iter().map(|p| p[0]).sum::<f64>() / pts.len() as f64;
    assert!((m[0] - mean_x).abs() < 1e-9);
    serde_json::to_string(&view).unwrap();

    // Profile of the web cluster: a daily cycle on 5-minute steps, peaking in the afternoon.
    let members = cv.members.clone();
    let profile = cluster_profile(&store, Some(web), &members, &ProfileOptions::default()).unwrap();
    assert_eq!(profile.period, 288, "{:?}", profile.period_source);
    let req = MetricName::new("requests").unwrap();
    let mp = &profile.metrics[&req];
    let peak = mp
        .shape
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    let peak_hour = peak as f64 / 12.0;
    assert!((11.0..19.0).contains(&peak_hour), "peak at {peak_hour} h");

    // Cold start: a new web workload at 3× a member's scale, from 6 of its own points.
    let last = Timestamp::from_secs(1_767_571_200 + 9 * 86_400 + 14 * 3600);
    let step = profile.step;
    let own: Vec<f64> = (0..6)
        .map(|i| {
            let t = Timestamp(last.millis() - (5 - i) * step.millis());
            3.0 * mp.levels.median_of_means * mp.shape[profile.phase(t)]
        })
        .collect();
    let f = profile_forecast(&profile, &req, &own, last, step, 12).unwrap();
    assert_eq!(f.horizon(), 12);
    let want = 3.0 * mp.levels.median_of_means * mp.shape[profile.phase(last.plus(step))];
    assert!(
        (f.point[0] - want).abs() < 1e-6 * want,
        "{} vs {want}",
        f.point[0]
    );
    assert!(f
        .lower
        .iter()
        .zip(&f.point)
        .zip(&f.upper)
        .all(|((l, p), u)| l <= p && p <= u));

    // Recommendation like an existing workload: its own cluster, values within the members' range.
    let cat = InstanceCatalogue::builtin();
    let ropts = RecommendOptions {
        capacity_per_replica: Some(50.0),
        catalogue: Some(cat),
        ..RecommendOptions::default()
    };
    let rec = recommend(&store, &Like::Workload(w("web-daily-1")), &ropts).unwrap();
    assert_eq!(rec.cluster, Some(web));
    assert_eq!(rec.basis, Basis::Member);
    let cpu = rec.cpu.as_ref().unwrap();
    assert_eq!(cpu.levels.members.len(), web_members.len());
    let base = cpu.request / 1.2;
    assert!(base >= cpu.levels.min_p95 - 1e-3 && base <= cpu.levels.max_p95 + 1e-3);
    let mem = rec.memory.as_ref().unwrap();
    assert_eq!(mem.levels.members[0].metric.as_str(), "memory");
    assert!(mem.request > 100.0 * 1024.0 * 1024.0, "memory is in bytes");
    let replicas = rec.replicas.as_ref().unwrap();
    let demand = rec.demand.as_ref().unwrap();
    assert_eq!(
        replicas.replicas,
        (demand.p95_of_p95s * 1.2 / 50.0).ceil() as u32
    );
    let inst = rec.instance.as_ref().unwrap();
    assert_eq!(inst.count, replicas.replicas);
    assert!(inst.instance.vcpu >= cpu.per_replica.unwrap());

    // Like the archetype label: the same cluster by majority.
    let by_label = recommend(
        &store,
        &Like::Labels(parse_matchers("archetype=web-daily").unwrap()),
        &ropts,
    )
    .unwrap();
    assert_eq!(by_label.cluster, Some(web));
    assert!(
        matches!(by_label.basis, Basis::LabelMajority { votes: 2, .. }),
        "{:?}",
        by_label.basis
    );
    assert!(matches!(
        recommend(
            &store,
            &Like::Labels(parse_matchers("archetype=none").unwrap()),
            &ropts
        ),
        Err(LearnError::NoMatch { .. })
    ));

    // A newcomer stored after the clustering lands in its nearest cluster.
    let young = demo_fleet(&DemoConfig {
        workloads: 1,
        days: 2,
        seed: 4242,
        ..DemoConfig::default()
    })
    .unwrap();
    for s in young {
        let key = SeriesKey::new(w("newcomer"), s.key.metric.clone());
        let mut labels: Labels = s.labels.clone();
        labels.insert("team".into(), "new".into());
        store
            .upsert_series(&Series::new(key, labels, s.samples().to_vec()).unwrap())
            .unwrap();
    }
    let rec = recommend(&store, &Like::Workload(w("newcomer")), &ropts).unwrap();
    assert!(
        matches!(rec.basis, Basis::NearestCentroid { .. }),
        "{:?}",
        rec.basis
    );
    assert!(rec.cluster.is_some());
    // Labels that match only unclustered workloads fall back to the whole fleet.
    let rec = recommend(
        &store,
        &Like::Labels(parse_matchers("team=new").unwrap()),
        &ropts,
    )
    .unwrap();
    assert_eq!(rec.cluster, None);
    assert_eq!(rec.members.len(), 10);
    assert!(matches!(
        recommend(&store, &Like::Workload(w("ghost")), &ropts),
        Err(LearnError::UnknownWorkload { .. })
    ));
}

#[test]
fn the_reducer_is_chosen_stored_and_scored() {
    use prescale_fingerprint::{FleetModel, Reducer};
    let mut store = store_with_fleet();
    let pca = fingerprint_store(&mut store, &FingerprintOptions::default()).unwrap();
    assert_eq!(pca.fleet.reducer, Reducer::DEFAULT);
    let opts = FingerprintOptions {
        reducer: Reducer::Autoencoder,
        created: Timestamp(1),
        ..FingerprintOptions::default()
    };
    let ae = fingerprint_store(&mut store, &opts).unwrap();
    assert_eq!(ae.fleet.reducer, Reducer::Autoencoder);
    let code = ae.fleet.model.autoencoder.as_ref().unwrap().code;
    assert!(ae.run.vectors.iter().all(|f| f.vector.len() == code));
    // Every workload's anomaly score is stored with the run and served by the view.
    assert_eq!(ae.run.reconstruction_error.len(), 10);
    let (_, stored) = store.latest_fingerprint_run().unwrap().unwrap();
    assert_eq!(stored.reconstruction_error, ae.fleet.reconstruction_error);
    let view = fleet_view(&store, KMEANS, false).unwrap();
    assert_eq!(view.reducer, Reducer::Autoencoder);
    let wv = view.workload(&w("web-daily-1")).unwrap();
    assert!(wv
        .reconstruction_error
        .is_some_and(|e| e.is_finite() && e >= 0.0));
    // A newcomer is projected with the stored autoencoder.
    let (v, _, _) = project_workload(&store, &stored, &w("web-daily-1")).unwrap();
    assert_eq!(v.len(), code);

    // A model written by a newer prescale is refused, saying so.
    let mut newer: serde_json::Value = serde_json::from_str(&stored.model_json).unwrap();
    newer["version"] = serde_json::json!(99);
    let mut run = stored.clone();
    run.model_json = newer.to_string();
    let err = fleet_model(&run).unwrap_err().to_string();
    assert!(err.contains("version 99") && err.contains("newer"), "{err}");
    let model: FleetModel = serde_json::from_str(&stored.model_json).unwrap();
    assert_eq!(
        model.version,
        prescale_fingerprint::fleet::FLEET_MODEL_VERSION
    );
}
