use serde_json::json;

use super::*;

fn eval(kind: &str, live: Value) -> Health {
    evaluate(kind, &live, Context::default())
}

fn failed_reason(h: &Health) -> Option<(&str, bool)> {
    match h {
        Health::Failed {
            reason, terminal, ..
        } => Some((reason.as_str(), *terminal)),
        _ => None,
    }
}

fn deployment(generation: i64, observed: i64, status: Value) -> Value {
    let mut status = status;
    status["observedGeneration"] = json!(observed);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "egov-user", "namespace": "egov", "generation": generation},
        "spec": {"replicas": 2},
        "status": status
    })
}

#[test]
fn deployment_ready_only_when_updated_available_and_old_gone() {
    let ready = deployment(
        3,
        3,
        json!({"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
    );
    assert_eq!(eval("Deployment", ready), Health::Ready);
    let old_pending = deployment(
        3,
        3,
        json!({"replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    assert_eq!(
        eval("Deployment", old_pending),
        Health::in_progress("1 old replica(s) pending termination")
    );
    let rolling = deployment(
        3,
        3,
        json!({"replicas": 2, "updatedReplicas": 1, "availableReplicas": 2}),
    );
    assert_eq!(
        eval("Deployment", rolling),
        Health::in_progress("1/2 replicas updated")
    );
}

#[test]
fn deployment_status_of_an_older_generation_is_not_trusted() {
    let stale = deployment(
        4,
        3,
        json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
    );
    assert_eq!(
        eval("Deployment", stale),
        Health::in_progress("waiting for the controller to observe generation 4")
    );
    let mut never_observed = deployment(1, 0, json!({}));
    never_observed["status"] = json!({});
    assert!(matches!(
        eval("Deployment", never_observed),
        Health::InProgress { .. }
    ));
}

#[test]
fn deployment_progress_deadline_is_terminal_and_replica_failure_is_not() {
    let stuck = deployment(
        2,
        2,
        json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 0, "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"egov-user-7d9\" has timed out progressing."}
        ]}),
    );
    assert_eq!(
        failed_reason(&eval("Deployment", stuck)),
        Some(("ProgressDeadlineExceeded", true))
    );
    let quota = deployment(
        2,
        2,
        json!({"replicas": 0, "conditions": [
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"egov-user-7d9-x\" is forbidden: exceeded quota: quota"}
        ]}),
    );
    assert_eq!(
        failed_reason(&eval("Deployment", quota)),
        Some(("FailedCreate", false))
    );
}

#[test]
fn stateful_set_waits_for_revision_and_ready_replicas() {
    let base = |status: Value| {
        json!({"kind": "StatefulSet", "metadata": {"name": "postgres", "generation": 1},
               "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"}},
               "status": status})
    };
    let rolling = base(
        json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
        "updatedReplicas": 3, "currentRevision": "postgres-1", "updateRevision": "postgres-2"}),
    );
    assert_eq!(
        eval("StatefulSet", rolling),
        Health::in_progress("waiting for the rolling update to finish")
    );
    let starting = base(
        json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 1,
        "updatedReplicas": 3, "currentRevision": "postgres-2", "updateRevision": "postgres-2"}),
    );
    assert_eq!(
        eval("StatefulSet", starting),
        Health::in_progress("1/3 replicas ready")
    );
    let ready = base(
        json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3,
        "updatedReplicas": 3, "currentRevision": "postgres-2", "updateRevision": "postgres-2"}),
    );
    assert_eq!(eval("StatefulSet", ready), Health::Ready);
}

#[test]
fn daemon_set_counts_scheduled_updated_and_available() {
    let ds = |available: i64| {
        json!({"kind": "DaemonSet", "metadata": {"name": "fluent-bit", "generation": 2},
               "status": {"observedGeneration": 2, "desiredNumberScheduled": 6,
                          "updatedNumberScheduled": 6, "numberAvailable": available}})
    };
    assert_eq!(
        eval("DaemonSet", ds(5)),
        Health::in_progress("5/6 pods available")
    );
    assert_eq!(eval("DaemonSet", ds(6)), Health::Ready);
}

#[test]
fn job_complete_ready_failed_terminal_otherwise_in_progress() {
    let job = |status: Value| json!({"kind": "Job", "metadata": {"name": "m"}, "status": status});
    assert_eq!(
        eval(
            "Job",
            job(json!({"succeeded": 1, "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True"}]}))
        ),
        Health::Ready
    );
    assert_eq!(
        failed_reason(&eval(
            "Job",
            job(json!({"failed": 4, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}]}))
        )),
        Some(("BackoffLimitExceeded", true))
    );
    assert_eq!(
        failed_reason(&eval("Job", job(json!({"active": 1, "failed": 2})))),
        Some(("JobAttemptFailed", false))
    );
    assert_eq!(
        eval("Job", job(json!({"active": 1}))),
        Health::in_progress("1 active, not complete yet")
    );
}

#[test]
fn pvc_pending_proceeds_only_with_wait_for_first_consumer() {
    let pending = json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data-postgres-0"},
                         "status": {"phase": "Pending"}});
    assert!(matches!(
        eval("PersistentVolumeClaim", pending.clone()),
        Health::InProgress { .. }
    ));
    assert_eq!(
        evaluate(
            "PersistentVolumeClaim",
            &pending,
            Context {
                wait_for_first_consumer: true
            }
        ),
        Health::Ready
    );
    let bound = json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}});
    assert_eq!(eval("PersistentVolumeClaim", bound), Health::Ready);
}

#[test]
fn crd_namespace_service_ingress() {
    let crd =
        |conds: Value| json!({"kind": "CustomResourceDefinition", "status": {"conditions": conds}});
    assert_eq!(
        eval(
            "CustomResourceDefinition",
            crd(json!([{"type": "NamesAccepted", "status": "True"},
                       {"type": "Established", "status": "True"}]))
        ),
        Health::Ready
    );
    assert!(matches!(
        eval(
            "CustomResourceDefinition",
            crd(json!([{"type": "NamesAccepted", "status": "True"}]))
        ),
        Health::InProgress { .. }
    ));
    assert_eq!(
        failed_reason(&eval(
            "CustomResourceDefinition",
            crd(
                json!([{"type": "NamesAccepted", "status": "False", "reason": "MultipleNamesNotAllowed"}])
            )
        )),
        Some(("MultipleNamesNotAllowed", true))
    );
    assert_eq!(
        failed_reason(&eval(
            "Namespace",
            json!({"kind": "Namespace", "status": {"phase": "Terminating"}})
        )),
        Some(("NamespaceTerminating", true))
    );
    assert_eq!(
        eval(
            "Namespace",
            json!({"kind": "Namespace", "status": {"phase": "Active"}})
        ),
        Health::Ready
    );
    let lb = json!({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
    assert_eq!(eval("Service", lb), Health::Ready);
    assert_eq!(eval("Ingress", json!({"kind": "Ingress"})), Health::Ready);
}

#[test]
fn custom_resources_follow_the_conditions_rule_and_observed_generation() {
    let cr = |generation: i64, status: Value| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": "digit-tls", "generation": generation}, "status": status})
    };
    assert_eq!(
        eval(
            "Certificate",
            cr(
                2,
                json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]})
            )
        ),
        Health::in_progress("waiting for the controller to observe generation 2")
    );
    assert_eq!(
        eval(
            "Certificate",
            cr(
                2,
                json!({"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]})
            )
        ),
        Health::Ready
    );
    assert!(matches!(
        eval(
            "Certificate",
            cr(
                1,
                json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Issuing"}]})
            )
        ),
        Health::InProgress { .. }
    ));
    assert_eq!(
        failed_reason(&eval(
            "Certificate",
            cr(
                1,
                json!({"conditions": [{"type": "Stalled", "status": "True", "reason": "InvalidIssuer"}]})
            )
        )),
        Some(("InvalidIssuer", false))
    );
    assert_eq!(eval("Certificate", cr(1, json!({}))), Health::Ready);
    assert_eq!(
        eval(
            "ConfigMap",
            json!({"kind": "ConfigMap", "metadata": {"generation": 1}})
        ),
        Health::Ready
    );
}

fn pod_with(statuses: Value, init: Value, conditions: Value) -> Value {
    json!({"kind": "Pod", "metadata": {"name": "egov-user-7d9-abcde"},
           "status": {"phase": "Pending", "conditions": conditions,
                      "containerStatuses": statuses, "initContainerStatuses": init}})
}

#[test]
fn pod_problems_name_image_pull_crash_loop_oom_config_and_scheduling() {
    let image = pod_with(
        json!([{"name": "egov-user", "restartCount": 0, "ready": false,
                "state": {"waiting": {"reason": "ImagePullBackOff",
                "message": "Back-off pulling image \"registry.local:5000/egovio/egov-user:nope\""}}}]),
        json!([]),
        json!([]),
    );
    let p = pod_problems(&image);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason, "ImagePullBackOff");
    assert!(
        p[0].describe()
            .contains("container egov-user: ImagePullBackOff")
    );

    let crash = pod_with(
        json!([{"name": "egov-user", "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]),
        json!([]),
        json!([]),
    );
    assert_eq!(pod_problems(&crash)[0].restarts, 4);
    assert!(
        pod_problems(&crash)[0]
            .describe()
            .contains("after 4 restart(s)")
    );

    let oom = pod_with(
        json!([{"name": "elasticsearch", "restartCount": 1,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]),
        json!([]),
        json!([]),
    );
    assert_eq!(pod_problems(&oom)[0].reason, "OOMKilled");

    let config = pod_with(
        json!([]),
        json!([{"name": "git-sync", "restartCount": 0,
                "state": {"waiting": {"reason": "CreateContainerConfigError",
                "message": "secret \"git-creds\" not found"}}}]),
        json!([]),
    );
    let p = pod_problems(&config);
    assert!(p[0].init_container);
    assert!(p[0].describe().contains("init container git-sync"));

    let unschedulable = pod_with(
        json!([]),
        json!([]),
        json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory."}]),
    );
    assert_eq!(pod_problems(&unschedulable)[0].reason, "FailedScheduling");

    let healthy = pod_with(
        json!([{"name": "egov-user", "restartCount": 0, "ready": true, "state": {"running": {}}}]),
        json!([{"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]),
        json!([{"type": "Ready", "status": "True"}]),
    );
    assert!(pod_problems(&healthy).is_empty());
}

#[test]
fn pod_health_from_phase_and_problems() {
    let failed_init = pod_with(
        json!([]),
        json!([{"name": "migrate", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]),
        json!([]),
    );
    assert_eq!(
        failed_reason(&eval("Pod", failed_init)),
        Some(("Error", false))
    );
    let done = json!({"kind": "Pod", "status": {"phase": "Succeeded"}});
    assert_eq!(eval("Pod", done), Health::Ready);
}

#[test]
fn a_container_restarting_after_errors_is_crash_looping_even_while_it_runs() {
    let running = pod_with(
        json!([{"name": "pgr-services", "restartCount": 3, "ready": false,
                "state": {"running": {"startedAt": "2026-12-01T10:00:00Z"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]),
        json!([]),
        json!([]),
    );
    assert_eq!(pod_problems(&running)[0].reason, "CrashLoopBackOff");
    let once = pod_with(
        json!([{"name": "pgr-services", "restartCount": 1, "ready": false,
                "state": {"running": {}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]),
        json!([]),
        json!([]),
    );
    assert!(pod_problems(&once).is_empty());
    assert_eq!(
        reason_family("ErrImagePull"),
        reason_family("ImagePullBackOff")
    );
    assert_ne!(
        reason_family("OOMKilled"),
        reason_family("FailedScheduling")
    );
}
