//! Rules for `body`: which body types WhatsApp takes through the Channels API, the content
//! each needs, and WhatsApp's limits on buttons, lists and carousels.

mod actions;
mod lists;

use super::Problems;
use crate::job::locate::FieldPath;
use crate::job::model::{Action, Body, ButtonAction, CarouselBody, Item, ListBody, Media};
use actions::{check_action, check_actions, check_button};
use lists::{check_carousel, check_list};

pub const SUPPORTED_BODY_TYPES: &str = "text, image, file, location, list, carousel";
const MAX_TEXT: usize = 4096;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TEXT: usize = 20;
const MAX_SECTIONS: usize = 10;
const MAX_ROWS: usize = 10;
const MAX_ROW_TITLE: usize = 24;
const MAX_LABEL: usize = 72;
const MAX_LIST_BUTTON_LABEL: usize = 20;
const CAROUSEL_CARDS: std::ops::RangeInclusive<usize> = 2..=10;
const MAX_CAROUSEL_TEXT: usize = 1024;

pub fn check(body: &Body, path: &FieldPath, p: &mut Problems) {
    let Some(kind) = body.kind.as_deref() else {
        p.add(
            path.clone(),
            format!("body.type is required: one of {SUPPORTED_BODY_TYPES}"),
        );
        return;
    };
    if let Some(why) = unsupported_reason(kind) {
        p.add(path.key("type"), why);
        return;
    }
    let present = present_members(body);
    if !present.contains(&kind) {
        p.add(
            path.clone(),
            format!("body.type is {kind:?} but body.{kind} is missing: add a [body.{kind}] table"),
        );
    }
    for other in present.iter().filter(|m| **m != kind) {
        let why = unsupported_reason(other).map_or(String::new(), |w| format!(" ({w})"));
        p.add(
            path.key(other),
            format!("body.{other} does not belong in a body of type {kind:?}: remove it{why}"),
        );
    }
    match kind {
        "text" => {
            if let Some(t) = &body.text {
                let tp = path.key("text");
                check_text(t.text.as_deref(), &tp.key("text"), MAX_TEXT, p);
                check_actions(t.actions.as_deref(), &tp.key("actions"), true, p);
            }
        }
        "image" => {
            if let Some(img) = &body.image {
                let ip = path.key("image");
                check_media_list(img.images.as_deref(), &ip.key("images"), "images", p);
                check_optional_text(img.text.as_deref(), &ip.key("text"), MAX_TEXT, p);
                check_actions(img.actions.as_deref(), &ip.key("actions"), false, p);
            }
        }
        "file" => {
            if let Some(f) = &body.file {
                let fp = path.key("file");
                check_files(f, &fp, p);
                check_optional_text(f.text.as_deref(), &fp.key("text"), MAX_TEXT, p);
                check_actions(f.actions.as_deref(), &fp.key("actions"), false, p);
            }
        }
        "location" => {
            if let Some(l) = &body.location {
                check_location(l, &path.key("location"), p);
            }
        }
        "list" => {
            if let Some(l) = &body.list {
                check_list(l, &path.key("list"), p);
            }
        }
        "carousel" => {
            if let Some(c) = &body.carousel {
                check_carousel(c, &path.key("carousel"), p);
            }
        }
        _ => {}
    }
}

/// Why a body type cannot be sent to WhatsApp, or `None` when it can.
fn unsupported_reason(kind: &str) -> Option<String> {
    let supported = format!("WhatsApp bodies supported: {SUPPORTED_BODY_TYPES}, or a [template]");
    match kind {
        "text" | "image" | "file" | "location" | "list" | "carousel" => None,
        "html" | "gif" | "section" | "authentication" | "action" | "permission_request" => Some(
            format!("body type {kind:?} is for other channels than WhatsApp. {supported}"),
        ),
        "template" => Some(format!(
            "a template send has no body: put the template in a top-level [template] table. {supported}"
        )),
        "reaction" | "product" | "products" | "multi-product" | "multiProduct" | "contacts" => {
            Some(format!(
                "WhatsApp {kind:?} messages are not supported by Bird's Channels API. {supported}"
            ))
        }
        "sticker" => Some(format!(
            "stickers are sent as type = \"image\". {supported}"
        )),
        "audio" | "video" | "document" => Some(format!(
            "{kind} is sent as type = \"file\" with its contentType. {supported}"
        )),
        _ => Some(format!("unknown body type {kind:?}. {supported}")),
    }
}

fn present_members(body: &Body) -> Vec<&'static str> {
    let flags = [
        ("text", body.text.is_some()),
        ("image", body.image.is_some()),
        ("file", body.file.is_some()),
        ("location", body.location.is_some()),
        ("list", body.list.is_some()),
        ("carousel", body.carousel.is_some()),
        ("html", body.html.is_some()),
        ("gif", body.gif.is_some()),
        ("section", body.section.is_some()),
        ("authentication", body.authentication.is_some()),
        ("permission_request", body.permission_request.is_some()),
        ("template", body.template.is_some()),
    ];
    flags
        .iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| *k)
        .collect()
}

fn check_text(text: Option<&str>, path: &FieldPath, max: usize, p: &mut Problems) {
    match text {
        None => p.add(path.clone(), "text is required"),
        Some(t) if t.trim().is_empty() => p.add(path.clone(), "text cannot be empty"),
        Some(t) => check_optional_text(Some(t), path, max, p),
    }
}

fn check_optional_text(text: Option<&str>, path: &FieldPath, max: usize, p: &mut Problems) {
    if let Some(t) = text {
        let n = t.chars().count();
        if n > max {
            p.add(
                path.clone(),
                format!("text is {n} characters; WhatsApp allows at most {max}: shorten it"),
            );
        }
    }
}

/// An absolute http(s) URL, or a `{{variable}}` placeholder.
pub fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn check_url(url: Option<&str>, path: &FieldPath, what: &str, p: &mut Problems) {
    match url {
        None => p.add(path.clone(), format!("{what} is required")),
        Some(u) if !is_url(u) => p.add(
            path.clone(),
            format!("{what} {u:?} is not an absolute http(s) URL"),
        ),
        Some(_) => {}
    }
}

fn check_media_list(items: Option<&[Media]>, path: &FieldPath, what: &str, p: &mut Problems) {
    match items {
        None => p.add(
            path.clone(),
            format!("{what} is required: add at least one"),
        ),
        Some([]) => p.add(
            path.clone(),
            format!("{what} is empty: add at least one with mediaUrl"),
        ),
        Some(items) => {
            for (i, m) in items.iter().enumerate() {
                check_url(
                    m.media_url.as_deref(),
                    &path.index(i).key("mediaUrl"),
                    "mediaUrl",
                    p,
                );
            }
        }
    }
}

fn check_files(f: &crate::job::model::FileBody, path: &FieldPath, p: &mut Problems) {
    let fp = path.key("files");
    match f.files.as_deref() {
        None => p.add(fp, "files is required: add at least one file"),
        Some([]) => p.add(
            fp,
            "files is empty: add at least one file with mediaUrl and contentType",
        ),
        Some(files) => {
            for (i, file) in files.iter().enumerate() {
                let ip = fp.index(i);
                check_url(
                    file.media_url.as_deref(),
                    &ip.key("mediaUrl"),
                    "mediaUrl",
                    p,
                );
                if file.content_type.as_deref().is_none_or(str::is_empty) {
                    p.add(
                        ip.key("contentType"),
                        "contentType is required, like \"application/pdf\"",
                    );
                }
            }
        }
    }
}

fn check_location(l: &crate::job::model::LocationBody, path: &FieldPath, p: &mut Problems) {
    let cp = path.key("coordinates");
    let Some(c) = &l.coordinates else {
        p.add(
            cp,
            "coordinates are required: latitude (-90..90) and longitude (-180..180)",
        );
        return;
    };
    match c.latitude {
        None => p.add(cp.clone(), "latitude is required (-90..90)"),
        Some(v) if !(-90.0..=90.0).contains(&v) => p.add(
            cp.key("latitude"),
            format!("latitude {v} is outside -90..90"),
        ),
        Some(_) => {}
    }
    match c.longitude {
        None => p.add(cp.clone(), "longitude is required (-180..180)"),
        Some(v) if !(-180.0..=180.0).contains(&v) => p.add(
            cp.key("longitude"),
            format!("longitude {v} is outside -180..180"),
        ),
        Some(_) => {}
    }
}
