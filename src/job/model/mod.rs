//! The job file as written: Bird's `CreateMessage` (the part WhatsApp uses) plus the daemon
//! keys, as serde structs.
//!
//! Field names are Bird's own (camelCase), so a job file reads like Bird's documentation and
//! the payload serialises straight from these types. Every struct refuses unknown keys, so
//! a typo (`tgas`) is an error at its line instead of a silently dropped field. Shapes that
//! depend on a `type` field (bodies, actions, template parameters) are flat structs with one
//! optional member per type, mirroring Bird's JSON; which member must be present is a rule
//! in [`super::rules`], where the error can name the field. Keys that belong to other channels are
//! accepted here as raw values only so that the rules can say "not for WhatsApp" instead of
//! "unknown field". Nothing here is validated beyond its TOML type.

mod body;

use serde::{Deserialize, Serialize};

pub use body::*;

/// Raw TOML value for the few places Bird leaves open (`meta.extraInformation`, template
/// `object` parameters).
pub type Raw = toml::Value;

/// A timestamp written either as a string or as a TOML datetime; both are checked as
/// RFC 3339 by the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeText(pub String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Raw::deserialize(d)? {
            Raw::String(s) => Ok(TimeText(s)),
            Raw::Datetime(dt) => Ok(TimeText(dt.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected an RFC 3339 timestamp with an offset, like \"2026-12-01T09:00:00+01:00\", found a {}",
                other.type_str()
            ))),
        }
    }
}

impl Serialize for TimeText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A whole job file. Serialising it gives Bird's fields only: the daemon keys and
/// `scheduledFor` (msgspool does the scheduling) are never sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobFile {
    // Daemon keys.
    #[serde(skip_serializing)]
    pub id: Option<String>,
    #[serde(skip_serializing)]
    pub channel: Option<String>,
    #[serde(skip_serializing)]
    pub cron: Option<String>,
    #[serde(skip_serializing)]
    pub timezone: Option<String>,
    #[serde(skip_serializing)]
    pub until: Option<TimeText>,
    // Bird's CreateMessage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<Receiver>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_frequency: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_link_tracking: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_quiet_hours: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_global_holdout: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_links: Option<ShortLinks>,
    #[serde(skip_serializing)]
    pub scheduled_for: Option<TimeText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sender {
    pub connector: Connector,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Connector {
    pub identifier_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    pub contacts: Option<Vec<Contact>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_value: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<Vec<Identifier>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_address_selector: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Identifier {
    pub identifier_key: String,
    pub identifier_value: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Template {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<TemplateAttachment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_links: Option<TemplateShortLinks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_parameters: Option<Vec<UtmParameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<TemplateParameter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<TemplateSettings>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateAttachment {
    pub media_url: String,
    pub filename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateShortLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UtmParameter {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallow_mm_lite: Option<bool>,
}

/// `{ type, key, value }`: the type of `value` depends on `type` and is checked by the rules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateParameter {
    #[serde(rename = "type")]
    pub kind: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Raw>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_information: Option<toml::Table>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub navigator_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub navigator_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<MetaFlow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journey: Option<MetaFlow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<MetaCampaign>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetaFlow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetaCampaign {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTo {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShortLinks {
    pub domain: Option<String>,
}
