//! Rules on Bird's optional top-level keys whose combinations the schema cannot express:
//! `capFrequency` (marketing use case, contact receivers only), `shortLinks` (a domain, and
//! not beside a template) and `replyTo` (an id and a known type).

use super::Problems;
use crate::job::locate::FieldPath;
use crate::job::model::JobFile;

pub(super) fn check_cap_frequency(file: &JobFile, p: &mut Problems) {
    if file.cap_frequency != Some(true) {
        return;
    }
    let marketing = file
        .meta
        .as_ref()
        .and_then(|m| m.extra_information.as_ref())
        .and_then(|x| x.get("useCase"))
        .and_then(|v| v.as_str())
        == Some("marketing");
    if !marketing {
        p.add(
            FieldPath::root().key("capFrequency"),
            "capFrequency = true needs meta.extraInformation.useCase = \"marketing\" (Bird's rule); set it or remove capFrequency",
        );
    }
    let to_contact = file
        .receiver
        .as_ref()
        .and_then(|r| r.contacts.as_ref())
        .is_some_and(|c| !c.is_empty());
    if !to_contact {
        p.add(
            FieldPath::root().key("capFrequency"),
            "capFrequency = true is only allowed when the receiver is a contact",
        );
    }
}

pub(super) fn check_short_links(file: &JobFile, p: &mut Problems) {
    let Some(links) = &file.short_links else {
        return;
    };
    let path = FieldPath::root().key("shortLinks");
    if file.template.is_some() {
        p.add(
            path.clone(),
            "with a template, link shortening goes in template.shortLinks, not the top-level shortLinks",
        );
    }
    match &links.domain {
        None => p.add(
            path,
            "shortLinks needs `domain` (the domain short links are made on)",
        ),
        Some(d) if d.is_empty() || d.chars().count() > 128 => p.add(
            path.key("domain"),
            "shortLinks.domain must be 1 to 128 characters",
        ),
        Some(_) => {}
    }
}

pub(super) fn check_reply_to(file: &JobFile, p: &mut Problems) {
    let Some(r) = &file.reply_to else { return };
    let path = FieldPath::root().key("replyTo");
    if r.id.as_deref().is_none_or(str::is_empty) {
        p.add(
            path.clone(),
            "replyTo needs `id`: the id of the received message to reply to",
        );
    }
    match r.kind.as_deref() {
        None => p.add(
            path,
            "replyTo needs `type`: \"message\", \"click\" or \"referrals\"",
        ),
        Some("message" | "click" | "referrals") => {}
        Some(other) => p.add(
            path.key("type"),
            format!("replyTo.type {other:?} is not one of \"message\", \"click\", \"referrals\""),
        ),
    }
}
