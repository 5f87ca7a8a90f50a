//! Fault injection: seeded, counted, and of the real shapes (Retry-After on 429, closed
//! connections without an answer).

mod common;

use common::request;
use govdeploy_testkit::{FaultConfig, FaultKind, SimConfig, SimServer};
use std::time::{Duration, Instant};

fn outcomes(seed: u64) -> (Vec<String>, govdeploy_testkit::Stats) {
    let sim = SimServer::start(
        SimConfig::default()
            .seed(seed)
            .faults(FaultConfig::mixed(0.3)),
    )
    .expect("start");
    let mut seen = Vec::new();
    for _ in 0..200 {
        match request(
            sim.url(),
            "GET",
            "/api/v1/namespaces/default/configmaps",
            &[],
            "",
        ) {
            Ok(r) => {
                if r.status == 429 {
                    assert_eq!(r.header("retry-after"), Some("1"));
                    assert_eq!(r.json()["reason"], "TooManyRequests");
                }
                if r.status == 503 {
                    assert!(r.header("retry-after").is_some());
                }
                if r.status >= 400 {
                    assert_eq!(r.json()["kind"], "Status");
                }
                seen.push(r.status.to_string());
            }
            Err(_) => seen.push("drop".into()),
        }
    }
    (seen, sim.stats())
}

#[test]
fn faults_are_seeded_counted_and_real_shaped() {
    let (a, stats) = outcomes(7);
    let (b, _) = outcomes(7);
    assert_eq!(a, b, "the same seed injects the same faults");
    let count = |k: &str| a.iter().filter(|s| *s == k).count() as u64;
    let injected = count("500") + count("503") + count("429") + count("drop");
    assert!(
        (30..=90).contains(&injected),
        "about 30% of 200 requests: {injected}"
    );
    for kind in ["500", "503", "429", "drop"] {
        assert!(count(kind) > 0, "{kind} injected");
        assert_eq!(
            stats.faults.get(kind).copied().unwrap_or(0),
            count(kind),
            "{kind} counted"
        );
    }
    assert_eq!(count("200") + injected, 200);
    assert_eq!(stats.total_faults(), injected);
}

#[test]
fn conflicts_only_on_writes_and_latency_delays() {
    let sim = SimServer::start(SimConfig::default().faults(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::Conflict],
        spare_discovery: true,
    }))
    .expect("start");
    let read = request(
        sim.url(),
        "GET",
        "/api/v1/namespaces/default/configmaps",
        &[],
        "",
    )
    .expect("request");
    assert_eq!(
        read.status, 200,
        "a read is never answered with an injected 409"
    );
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#;
    let write = request(
        sim.url(),
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x?fieldManager=t",
        &[("Content-Type", "application/apply-patch+yaml")],
        body,
    )
    .expect("request");
    assert_eq!(write.status, 409);
    assert_eq!(write.json()["reason"], "Conflict");
    assert_eq!(
        request(sim.url(), "GET", "/version", &[], "")
            .expect("request")
            .status,
        200,
        "discovery spared"
    );

    sim.set_faults(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::Latency(Duration::from_millis(200))],
        spare_discovery: false,
    });
    let t = Instant::now();
    let r = request(sim.url(), "GET", "/api/v1/namespaces", &[], "").expect("request");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(sim.stats().faults.get("latency"), Some(&1));
}
