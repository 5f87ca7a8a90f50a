//! `govdeploy-simkube`: runs the simulated Kubernetes API server until killed, for kubectl and
//! manual use. Prints the URL and writes a kubeconfig.

use govdeploy_testkit::{FaultConfig, SimConfig, SimServer};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: govdeploy-simkube [--port N] [--kubeconfig PATH] [--context NAME] [--time-scale F] [--ready-after SECONDS] [--fault-rate F] [--seed N]";

fn main() -> ExitCode {
    let mut config = SimConfig::default();
    let mut port: u16 = 0;
    let mut kubeconfig = PathBuf::from("simkube.kubeconfig");
    let mut context = "simkube".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        let Some(value) = args.next() else {
            eprintln!("error: {flag} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        let bad = |what: &str| {
            eprintln!("error: {flag} {value:?}: expected {what}\n{USAGE}");
            ExitCode::from(2)
        };
        match flag.as_str() {
            "--port" => match value.parse() {
                Ok(p) => port = p,
                Err(_) => return bad("a port number"),
            },
            "--kubeconfig" => kubeconfig = PathBuf::from(&value),
            "--context" => context = value.clone(),
            "--time-scale" => match value.parse::<f64>() {
                Ok(f) if f > 0.0 => config.time_scale = f,
                _ => return bad("a positive number"),
            },
            "--ready-after" => match value.parse::<f64>() {
                Ok(s) if s >= 0.0 => config.default_ready_after = Duration::from_secs_f64(s),
                _ => return bad("seconds"),
            },
            "--fault-rate" => match value.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => config.faults = FaultConfig::mixed(r),
                _ => return bad("a fraction between 0 and 1"),
            },
            "--seed" => match value.parse() {
                Ok(s) => config.seed = s,
                Err(_) => return bad("an integer"),
            },
            _ => {
                eprintln!("error: unknown option {flag}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let sim = match SimServer::start_on(config, port) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = sim.write_kubeconfig(&kubeconfig, &context) {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    println!("{}", sim.url());
    println!(
        "kubeconfig: {} (context {context}); stats: {}/_sim/stats",
        kubeconfig.display(),
        sim.url()
    );
    loop {
        std::thread::park();
    }
}
