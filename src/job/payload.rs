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

/// A stored payload with `validity` set, as the JSON text to POST; an error when the stored
/// text is not JSON.
///
/// The stored text is msgspool's own serialisation: keys sorted, none after `validity` in
/// Bird's field list, no `validity`. Adding the key before the closing brace then gives the
/// very bytes that parsing, inserting and printing again would, without building the tree
/// (that cost about 5 % of the daemon's CPU per send). Anything else (a row edited by hand,
/// a text that mentions `"validity"` or has a line break) takes that slower way.
pub fn with_validity_text(stored: &str, seconds_left: u64) -> Result<String, serde_json::Error> {
    if let Some(text) = appended_validity(stored, seconds_left) {
        return Ok(text);
    }
    let body: Value = serde_json::from_str(stored)?;
    Ok(with_validity(body, seconds_left).to_string())
}

fn appended_validity(stored: &str, seconds_left: u64) -> Option<String> {
    // A line break means a hand-written layout: printed again, it becomes one JSON line.
    if stored.contains("\"validity\"") || stored.contains(['\n', '\r']) {
        return None;
    }
    let members = stored.strip_prefix('{')?.strip_suffix('}')?;
    if members.trim().is_empty() {
        return None;
    }
    // Only a whole JSON object may be extended as text; this checks it without allocating.
    serde_json::from_str::<serde::de::IgnoredAny>(stored).ok()?;
    Some(format!("{{{members},\"validity\":{seconds_left}}}"))
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

    /// The text way and the tree way agree byte for byte on what intake stores.
    #[test]
    fn validity_added_to_the_stored_text_gives_the_bytes_of_the_tree_way() {
        let stored = serde_json::json!({
            "body": {"type": "text", "text": {"text": "Caf\u{e9} \"quoted\" }"}},
            "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
            "reference": "r-1",
            "tags": ["a"],
            "template": null,
        })
        .to_string();
        let tree = with_validity(serde_json::from_str(&stored).unwrap(), 129_600).to_string();
        assert_eq!(
            appended_validity(&stored, 129_600).as_deref(),
            Some(tree.as_str())
        );
        assert_eq!(with_validity_text(&stored, 129_600).unwrap(), tree);
    }

    /// Texts the shortcut must not extend still get exactly one `validity`, or an error.
    #[test]
    fn texts_that_are_not_plain_stored_objects_take_the_tree_way() {
        let exact = |stored: &str| {
            let text = with_validity_text(stored, 7).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            (v["validity"].clone(), text.matches("\"validity\"").count())
        };
        assert_eq!(exact(r#"{"validity":1,"a":2}"#), (Value::from(7), 1));
        assert_eq!(exact("{}"), (Value::from(7), 1));
        assert_eq!(exact(" {\"a\":1} "), (Value::from(7), 1));
        assert_eq!(exact("{\n\"a\": 1\n}"), (Value::from(7), 1));
        assert!(
            !with_validity_text("{\n\"a\": 1\n}", 7)
                .unwrap()
                .contains('\n')
        );
        for broken in [r#"{"a":1"#, r#"{"a":}"#, r#"{"a":1}{"b":2}"#, "", "[1]"] {
            let got = with_validity_text(broken, 7);
            assert!(
                got.is_err() || !got.unwrap().contains("validity"),
                "{broken:?}"
            );
        }
    }
}
