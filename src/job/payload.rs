//! The exact JSON body msgspool POSTs to Bird for a send.
//!
//! Bird's fields only: the daemon keys and `scheduledFor` are never sent (msgspool did the
//! scheduling), `tags` are lower-cased with duplicates dropped, `reference` is the job's
//! own or a unique msgspool reference per occurrence. `validity` is added at dispatch time
//! as the seconds left until expiry ([`with_validity`]), so the stored payload has none.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Job;

/// The reference of one occurrence when the job sets none: unique per (job, occurrence).
pub fn default_reference(job_id: &str, occurrence: DateTime<Utc>) -> String {
    format!("msgspool:{job_id}:{}", occurrence.timestamp_millis())
}

/// The send row for one occurrence of `job` at the times [`crate::plan`] gave it: intake's
/// first send and dispatch's next occurrence are built the same way.
pub fn new_send(job: &Job, planned: crate::plan::Planned) -> crate::store::NewSend {
    crate::store::NewSend {
        occurrence: planned.occurrence,
        due: planned.due,
        expires: planned.expires,
        payload: body_without_validity(job, planned.occurrence).to_string(),
        reference: reference_for(job, planned.occurrence),
    }
}

/// The reference Bird will get for this occurrence.
pub fn reference_for(job: &Job, occurrence: DateTime<Utc>) -> String {
    job.file
        .reference
        .clone()
        .unwrap_or_else(|| default_reference(&job.id, occurrence))
}

/// Bird's body for one occurrence of the job, without `validity`.
pub fn body_without_validity(job: &Job, occurrence: DateTime<Utc>) -> Value {
    let mut body = match serde_json::to_value(&job.file) {
        Ok(Value::Object(map)) => map,
        // A struct of strings, numbers and tables always serialises to an object.
        _ => Map::new(),
    };
    if let Some(tags) = &job.file.tags {
        body.insert("tags".into(), Value::from(normalise_tags(tags)));
    }
    body.insert(
        "reference".into(),
        Value::from(reference_for(job, occurrence)),
    );
    body.remove("validity");
    Value::Object(body)
}

/// Sets `validity` to the whole seconds left (never negative).
pub fn with_validity(mut body: Value, seconds_left: u64) -> Value {
    if let Value::Object(map) = &mut body {
        map.insert("validity".into(), Value::from(seconds_left));
    }
    body
}

/// Lower-cased, first occurrence kept, order kept.
pub fn normalise_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let lower = tag.to_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lower_cased_and_deduplicated_in_order() {
        let tags = ["Orders", "VIP", "orders", "x"].map(String::from);
        assert_eq!(normalise_tags(&tags), ["orders", "vip", "x"]);
    }

    #[test]
    fn validity_is_set_on_the_body() {
        let body = with_validity(serde_json::json!({"receiver": {}}), 42);
        assert_eq!(body["validity"], 42);
    }
}
