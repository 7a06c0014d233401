//! Rules for `template` sends: which template is meant, and parameters whose `value` has
//! the type their `type` names.

use super::Problems;
use crate::job::locate::FieldPath;
use crate::job::model::{Raw, Template, TemplateParameter};

const PARAMETER_TYPES: &str = "string, number, boolean, object, sectionList";

pub fn check(t: &Template, path: &FieldPath, p: &mut Problems) {
    if t.project_id.as_deref().is_none_or(str::is_empty)
        && t.name.as_deref().is_none_or(str::is_empty)
    {
        p.add(
            path.clone(),
            "a template needs `projectId` (with `version`) or `name` to say which template to send",
        );
    }
    if let Some(params) = &t.parameters {
        let pp = path.key("parameters");
        if params.is_empty() {
            p.add(
                pp.clone(),
                "parameters is empty: remove it or add at least one { type, key, value }",
            );
        }
        for (i, param) in params.iter().enumerate() {
            check_parameter(param, &pp.index(i), p);
        }
    }
    if let Some(utm) = &t.utm_parameters {
        let up = path.key("utmParameters");
        if !(1..=8).contains(&utm.len()) {
            p.add(
                up.clone(),
                format!("utmParameters takes 1 to 8 entries, found {}", utm.len()),
            );
        }
        for (i, u) in utm.iter().enumerate() {
            let ip = up.index(i);
            if !(1..=20).contains(&u.key.chars().count()) {
                p.add(ip.key("key"), "a UTM key must be 1 to 20 characters");
            }
            match (&u.value, &u.reference) {
                (Some(v), None) if (1..=100).contains(&v.chars().count()) => {}
                (Some(_), None) => {
                    p.add(ip.key("value"), "a UTM value must be 1 to 100 characters")
                }
                (None, Some(r)) if r == "platform_name" || r == "channel_name" => {}
                (None, Some(_)) => p.add(
                    ip.key("reference"),
                    "a UTM reference is \"platform_name\" or \"channel_name\"",
                ),
                _ => p.add(
                    ip,
                    "a UTM parameter has `key` and either `value` or `reference`",
                ),
            }
        }
    }
    if let Some(att) = &t.attachments {
        for (i, a) in att.iter().enumerate() {
            if !super::body::is_url(&a.media_url) {
                p.add(
                    path.key("attachments").index(i).key("mediaUrl"),
                    "mediaUrl must be an absolute http(s) URL",
                );
            }
        }
    }
}

fn check_parameter(param: &TemplateParameter, path: &FieldPath, p: &mut Problems) {
    if param.key.is_empty() {
        p.add(
            path.key("key"),
            "a template parameter needs a non-empty `key`",
        );
    }
    let value = param.value.as_ref();
    let expected = match param.kind.as_str() {
        "string" => value.is_none_or(|v| v.is_str()),
        "number" => value.is_none_or(|v| v.is_integer() || v.is_float()),
        "boolean" => value.is_none_or(Raw::is_bool),
        "object" => value.is_none_or(Raw::is_table),
        "sectionList" => value.is_none_or(is_section_list),
        "timeslotList" | "productSections" | "productList" | "shippingMethodList"
        | "lineItemList" => {
            p.add(
                path.key("type"),
                format!(
                    "template parameters of type {:?} are for Apple Messages, not WhatsApp: use one of {PARAMETER_TYPES}",
                    param.kind
                ),
            );
            return;
        }
        "whatsappProductSections" | "whatsappProductItems" => {
            p.add(
                path.key("type"),
                format!(
                    "WhatsApp product messages are not supported by Bird's Channels API: use one of {PARAMETER_TYPES}"
                ),
            );
            return;
        }
        other => {
            p.add(
                path.key("type"),
                format!("unknown template parameter type {other:?}: use one of {PARAMETER_TYPES}"),
            );
            return;
        }
    };
    if !expected {
        p.add(
            path.key("value"),
            format!(
                "a parameter of type {:?} needs a value of that type",
                param.kind
            ),
        );
    }
}

/// `{ sections = [{ title, items = [{ type = "reply-action", replyAction = { text } }] }] }`.
fn is_section_list(v: &Raw) -> bool {
    let Some(sections) = v.get("sections").and_then(Raw::as_array) else {
        return false;
    };
    sections.iter().all(|s| {
        s.get("title").is_some_and(Raw::is_str)
            && s.get("items").and_then(Raw::as_array).is_some_and(|items| {
                items.iter().all(|it| {
                    it.get("type").and_then(Raw::as_str) == Some("reply-action")
                        && it
                            .get("replyAction")
                            .and_then(|r| r.get("text"))
                            .is_some_and(Raw::is_str)
                })
            })
    })
}
