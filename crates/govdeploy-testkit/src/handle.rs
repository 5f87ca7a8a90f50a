//! Starting and driving a simulated server from tests: `SimServer::start` and `SimHandle`.

use crate::config::{BehaviourRule, FaultConfig, SimConfig};
use crate::controllers;
use crate::server::{self, Shared};
use crate::state::State;
use crate::stats::{ObjectRef, Stats};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why the simulator could not start or write its kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
}

/// Entry point: `SimServer::start(SimConfig::default())`.
pub struct SimServer;

impl SimServer {
    /// Starts a server on 127.0.0.1 (random port) in its own thread and runtime.
    pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        Self::start_on(config, 0)
    }

    /// Starts on a given port (0: any free one).
    pub fn start_on(config: SimConfig, port: u16) -> Result<SimHandle, SimError> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).map_err(SimError::Bind)?;
        listener.set_nonblocking(true).map_err(SimError::Bind)?;
        let addr = listener.local_addr().map_err(SimError::Bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("simkube")
            .build()
            .map_err(SimError::Runtime)?;
        let (notify, changes) = watch::channel(0u64);
        let (shutdown_tx, shutdown) = watch::channel(false);
        let tick = config.tick;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config, notify)),
            changes,
            shutdown,
            address: addr.to_string(),
        });
        let serve_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("simkube-server".into())
            .spawn(move || runtime.block_on(serve(serve_shared, listener, tick)))
            .map_err(SimError::Runtime)?;
        Ok(SimHandle {
            shared,
            url: format!("http://{addr}"),
            shutdown_tx,
            thread: Some(thread),
        })
    }
}

async fn serve(shared: Arc<Shared>, listener: std::net::TcpListener, tick: Duration) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let controller_shared = shared.clone();
    tokio::spawn(async move {
        let mut shutdown = controller_shared.shutdown.clone();
        let mut changes = controller_shared.changes.clone();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = changes.changed() => tokio::time::sleep(Duration::from_millis(1)).await,
                _ = shutdown.changed() => return,
            }
            for step in controllers::STEPS {
                step(&mut controller_shared.lock());
                tokio::task::yield_now().await;
            }
            changes.borrow_and_update();
        }
    });
    let mut shutdown = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let conn_shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| server::handle(conn_shared.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    shared: Arc<Shared>,
    url: String,
    shutdown_tx: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A kubeconfig naming this server as cluster, context and user `context_name`.
    pub fn kubeconfig_yaml(&self, context_name: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {c}\n  cluster:\n    server: {url}\ncontexts:\n- name: {c}\n  context:\n    cluster: {c}\n    user: {c}\n    namespace: default\ncurrent-context: {c}\nusers:\n- name: {c}\n  user: {{}}\npreferences: {{}}\n",
            c = context_name,
            url = self.url
        )
    }

    /// Writes the kubeconfig (to a temporary file renamed into place).
    pub fn write_kubeconfig(&self, path: &Path, context_name: &str) -> Result<(), SimError> {
        let err = |source| SimError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp-simkube");
        std::fs::write(&tmp, self.kubeconfig_yaml(context_name)).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    pub fn reset_stats(&self) {
        self.shared.lock().stats = Stats::default();
    }

    /// The stored object (as last written), if it exists.
    pub fn get(&self, obj: &ObjectRef) -> Option<Value> {
        let st = self.shared.lock();
        let rt = st
            .resource_for(&obj.api_version, &obj.kind)
            .or_else(|| st.resource_by_group_kind(obj.group(), &obj.kind))?;
        let key = crate::state::ObjKey::new(
            &rt,
            obj.namespace.as_deref().unwrap_or("default"),
            &obj.name,
        );
        st.get(&key).cloned()
    }

    /// Every stored object, in storage order (group, resource, namespace, name).
    pub fn objects(&self) -> Vec<Value> {
        self.shared.lock().objects.values().cloned().collect()
    }

    /// Stored objects of one kind (`"apps/v1", "Deployment"`), optionally in one namespace.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let st = self.shared.lock();
        let Some(rt) = st.resource_for(api_version, kind) else {
            return Vec::new();
        };
        st.list(&rt.group, &rt.plural, namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Events about an object (core/v1 form), oldest first.
    pub fn events_for(&self, obj: &ObjectRef) -> Vec<Value> {
        let st = self.shared.lock();
        st.list("", "events", None)
            .filter(|(_, e)| {
                e["involvedObject"]["kind"] == obj.kind.as_str()
                    && e["involvedObject"]["name"] == obj.name.as_str()
                    && obj
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| e["involvedObject"]["namespace"] == ns)
            })
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Replaces the behaviour rules (for pods created from now on).
    pub fn set_behaviours(&self, rules: Vec<BehaviourRule>) {
        self.shared.lock().config.behaviours = rules;
    }

    /// Adds a rule that takes precedence over the existing ones.
    pub fn add_behaviour(&self, rule: BehaviourRule) {
        self.shared.lock().config.behaviours.insert(0, rule);
    }

    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.lock().config.faults = faults;
    }

    /// The current resourceVersion of the store.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    /// Polls `check` over the stored objects until it holds or `timeout` (real time) passes.
    pub fn wait_until(&self, timeout: Duration, mut check: impl FnMut(&SimHandle) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if check(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        check(self)
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
