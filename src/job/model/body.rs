//! The message body as written: Bird's `Body` with one optional member per body type
//! (text, image, file, location, list, carousel, and other channels' kinds kept raw), and
//! the actions, list items and carousel cards inside them.
//!
//! Owns only shapes and TOML types, as [`super`] does; the rules judge the content.

use serde::{Deserialize, Serialize};

use super::Raw;

/// Bird's `Body`: `type` names which one of the members below carries the content.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<ListBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carousel: Option<CarouselBody>,
    // Other channels' bodies: accepted only to be refused by name in the rules.
    #[serde(skip_serializing)]
    pub html: Option<Raw>,
    #[serde(skip_serializing)]
    pub gif: Option<Raw>,
    #[serde(skip_serializing)]
    pub section: Option<Raw>,
    #[serde(skip_serializing)]
    pub authentication: Option<Raw>,
    #[serde(skip_serializing)]
    pub permission_request: Option<Raw>,
    #[serde(skip_serializing)]
    pub template: Option<Raw>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TextMetadata>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<WhatsappTextMetadata>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhatsappTextMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub images: Option<Vec<Media>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Media {
    pub media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub files: Option<Vec<FileItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileItem {
    pub media_url: Option<String>,
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    pub coordinates: Option<Coordinates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Place>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Sections (each with a title and its rows as actions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
    /// Rows of a list without sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ListMetadata>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button: Option<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_message: Option<ReplyMessage>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CarouselBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub items: Option<Vec<Item>>,
}

/// A list section or a carousel card.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Item {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<Action>>,
}

/// Bird's `Action`: `type` names which member carries it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ButtonAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postback: Option<ButtonAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_request: Option<LocationRequest>,
    #[serde(skip_serializing)]
    pub buy: Option<Raw>,
}

/// A `reply` or `postback` action.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ButtonAction {
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ActionMetadata>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkAction {
    pub text: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LocationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}
