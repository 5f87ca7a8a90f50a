//! events.k8s.io/v1 is a second view of the core/v1 Events (as in the real API server): the
//! same stored objects with renamed fields.

use serde_json::{Value, json};

pub fn to_events_v1(core: &Value) -> Value {
    let mut v = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": core["metadata"],
        "regarding": core["involvedObject"],
        "note": core["message"],
        "reason": core["reason"],
        "type": core["type"],
        "reportingController": core["reportingComponent"].as_str().filter(|s| !s.is_empty()).map(Value::from).unwrap_or(core["source"]["component"].clone()),
        "reportingInstance": core["reportingInstance"],
        "eventTime": core["eventTime"],
        "action": core["action"],
        "deprecatedSource": core["source"],
        "deprecatedFirstTimestamp": core["firstTimestamp"],
        "deprecatedLastTimestamp": core["lastTimestamp"],
        "deprecatedCount": core["count"],
    });
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v
}

pub fn from_events_v1(ev: &Value) -> Value {
    let mut v = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": ev["metadata"],
        "involvedObject": ev["regarding"],
        "message": ev["note"],
        "reason": ev["reason"],
        "type": ev["type"],
        "reportingComponent": ev["reportingController"],
        "reportingInstance": ev["reportingInstance"],
        "eventTime": ev["eventTime"],
        "action": ev["action"],
        "source": ev["deprecatedSource"],
        "firstTimestamp": ev["deprecatedFirstTimestamp"],
        "lastTimestamp": ev["deprecatedLastTimestamp"],
        "count": ev["deprecatedCount"],
    });
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
    }
    v
}
