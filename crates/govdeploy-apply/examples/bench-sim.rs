//! Benchmark helper (bench/apply/run.py): a simulated cluster whose pods become ready after
//! the catalogue's readiness times, scaled. Reads `govdeploy plan -o json` output, writes a
//! kubeconfig, prints `ready <url>`, then answers `stats` on stdin with the simulator's
//! counters as JSON; exits at end of input. With a fourth argument, that component's pods fail
//! with ImagePullBackOff (to show a failing run as a user sees it).
//!
//! usage: bench-sim PLAN.json KUBECONFIG TIME_SCALE [FAILING_COMPONENT]

use std::io::BufRead;
use std::time::Duration;

use govdeploy_testkit::{Behaviour, BehaviourRule, SimConfig, SimServer};
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (plan, kubeconfig, scale, failing) = match args.as_slice() {
        [plan, kubeconfig, scale] => (plan, kubeconfig, scale, None),
        [plan, kubeconfig, scale, failing] => (plan, kubeconfig, scale, Some(failing)),
        _ => {
            return Err(
                "usage: bench-sim PLAN.json KUBECONFIG TIME_SCALE [FAILING_COMPONENT]".into(),
            );
        }
    };
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(plan)?)?;
    let mut config = SimConfig::default()
        .time_scale(scale.parse()?)
        .default_ready_after(Duration::from_secs(5));
    if let Some(failing) = failing {
        config = config.behaviour(BehaviourRule::labels(
            &format!("app.kubernetes.io/name={failing}"),
            Behaviour::ImagePullBackOff,
        ));
    }
    for (name, component) in plan["components"]
        .as_object()
        .ok_or("plan has no components")?
    {
        let ready = component["readySeconds"].as_u64().unwrap_or(5);
        let total = component["durationSeconds"].as_u64().unwrap_or(ready);
        config = config.behaviour(BehaviourRule::labels(
            &format!("app.kubernetes.io/name={name}"),
            Behaviour::Ready {
                after: Duration::from_secs(ready),
            },
        ));
        config = config.behaviour(BehaviourRule::labels(
            &format!("app.kubernetes.io/name={name}-migration"),
            Behaviour::Ready {
                after: Duration::from_secs(total.saturating_sub(ready).max(1)),
            },
        ));
    }
    let sim = SimServer::start(config)?;
    sim.write_kubeconfig(std::path::Path::new(kubeconfig), "bench")?;
    println!("ready {}", sim.url());
    for line in std::io::stdin().lock().lines() {
        if line?.trim() == "stats" {
            println!("{}", sim.stats().to_json());
        }
    }
    Ok(())
}
