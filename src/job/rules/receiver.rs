//! Receiver rules: at least one contact, each named by id, an identifier pair or a list of
//! identifiers, phone numbers in E.164 form. Bird's schema allows an empty contact list and
//! an identifier without its value; Bird refuses both only when the message is sent.

use super::Problems;
use crate::job::locate::FieldPath;
use crate::job::model::{Contact, JobFile};

pub(super) fn check(file: &JobFile, p: &mut Problems) {
    let path = FieldPath::root().key("receiver");
    let Some(receiver) = &file.receiver else {
        p.add(
            FieldPath::root(),
            "`receiver` is required: add [[receiver.contacts]] with identifierKey = \"phonenumber\" and identifierValue = \"+31612345678\"",
        );
        return;
    };
    let contacts_path = path.key("contacts");
    match &receiver.contacts {
        None => p.add(
            path,
            "receiver.contacts is required: add at least one [[receiver.contacts]]",
        ),
        Some(c) if c.is_empty() => p.add(
            contacts_path,
            "receiver.contacts is empty: add at least one contact",
        ),
        Some(contacts) => {
            for (i, c) in contacts.iter().enumerate() {
                check_contact(c, &contacts_path.index(i), p);
            }
        }
    }
}

fn check_contact(c: &Contact, path: &FieldPath, p: &mut Problems) {
    let has_identifiers = c.identifiers.as_ref().is_some_and(|v| !v.is_empty());
    if c.id.is_none()
        && c.identifier_key.is_none()
        && c.identifier_value.is_none()
        && !has_identifiers
        && c.platform_address.is_none()
    {
        p.add(
            path.clone(),
            "a contact needs `id`, or `identifierKey` with `identifierValue`, or `identifiers`",
        );
    }
    match (&c.identifier_key, &c.identifier_value) {
        (Some(_), None) => p.add(
            path.key("identifierKey"),
            "identifierKey needs identifierValue beside it",
        ),
        (None, Some(_)) => p.add(
            path.key("identifierValue"),
            "identifierValue needs identifierKey beside it (for example \"phonenumber\")",
        ),
        (Some(key), Some(value)) => check_identifier(key, value, &path.key("identifierValue"), p),
        (None, None) => {}
    }
    if let Some(kind) = &c.kind
        && !matches!(kind.as_str(), "to" | "cc" | "bcc")
    {
        p.add(
            path.key("type"),
            format!("contact type {kind:?} is not one of \"to\", \"cc\", \"bcc\""),
        );
    }
    for (i, ident) in c.identifiers.iter().flatten().enumerate() {
        check_identifier(
            &ident.identifier_key,
            &ident.identifier_value,
            &path.key("identifiers").index(i).key("identifierValue"),
            p,
        );
    }
}

fn check_identifier(key: &str, value: &str, path: &FieldPath, p: &mut Problems) {
    if key == "phonenumber" && !is_e164(value) {
        p.add(
            path.clone(),
            format!(
                "{value:?} is not an E.164 phone number: write '+' and 8 to 15 digits, country code first, like \"+31612345678\""
            ),
        );
    }
    if value.trim().is_empty() {
        p.add(path.clone(), "identifierValue is empty");
    }
}

/// `+` followed by 8 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}
