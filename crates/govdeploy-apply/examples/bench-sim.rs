//! Benchmark helper (bench/apply/run.py): a simulated cluster whose pods become ready after
//! the catalogue's readiness times, scaled. Reads `govdeploy plan -o json` output, writes a
//! kubeconfig, prints `ready <url>`, then answers `stats` on stdin with the simulator's
//! counters as JSON; exits at end of input.
//!
//! usage: bench-sim PLAN.json KUBECONFIG TIME_SCALE

use std::io::BufRead;
use std::time::Duration;

use govdeploy_testkit::{Behaviour, BehaviourRule, SimConfig, SimServer};
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plan, kubeconfig, scale] = args.as_slice() else {
        return Err("usage: bench-sim PLAN.json KUBECONFIG TIME_SCALE".into());
    };
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(plan)?)?;
    let mut config = SimConfig::default()
        .time_scale(scale.parse()?)
        .default_ready_after(Duration::from_secs(5));
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
