//! Rules for `body`: which body types WhatsApp takes through the Channels API, the content
//! each needs, and WhatsApp's limits on buttons, lists and carousels.

use super::Problems;
use crate::job::locate::FieldPath;
use crate::job::model::{Action, Body, ButtonAction, CarouselBody, Item, ListBody, Media};

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

/// Checks each action, and WhatsApp's button limits for text, image and file bodies.
fn check_actions(actions: Option<&[Action]>, path: &FieldPath, text_body: bool, p: &mut Problems) {
    let Some(actions) = actions else { return };
    if actions.is_empty() {
        p.add(
            path.clone(),
            "actions is empty: remove it or add at least one action",
        );
    }
    let mut buttons = 0;
    for (i, a) in actions.iter().enumerate() {
        let ap = path.index(i);
        match check_action(a, &ap, p) {
            Some("reply" | "postback") => buttons += 1,
            Some("locationRequest") if !text_body => p.add(
                ap.key("type"),
                "a locationRequest action is only allowed on a text body",
            ),
            Some("locationRequest") if actions.len() > 1 => p.add(
                ap.key("type"),
                "a locationRequest action must be the only action of the message",
            ),
            _ => {}
        }
    }
    if buttons > MAX_BUTTONS {
        p.add(
            path.clone(),
            format!(
                "WhatsApp allows at most {MAX_BUTTONS} reply buttons (reply and postback actions), found {buttons}: remove some or send a list"
            ),
        );
    }
}

/// Checks one action and returns its type when it is a WhatsApp action.
fn check_action<'a>(a: &'a Action, path: &FieldPath, p: &mut Problems) -> Option<&'a str> {
    let kinds = "reply, postback, link, locationRequest";
    let Some(kind) = a.kind.as_deref() else {
        p.add(path.clone(), format!("action needs `type`: one of {kinds}"));
        return None;
    };
    let member_present = match kind {
        "reply" => a.reply.is_some(),
        "postback" => a.postback.is_some(),
        "link" => a.link.is_some(),
        "locationRequest" => true,
        "buy" => {
            p.add(
                path.key("type"),
                format!("buy actions are for Apple Messages, not WhatsApp: use one of {kinds}"),
            );
            return None;
        }
        other => {
            p.add(
                path.key("type"),
                format!("unknown action type {other:?}: use one of {kinds}"),
            );
            return None;
        }
    };
    if !member_present {
        p.add(
            path.clone(),
            format!("action of type {kind:?} needs a `{kind}` table beside it"),
        );
    }
    let members = [
        ("reply", a.reply.is_some()),
        ("postback", a.postback.is_some()),
        ("link", a.link.is_some()),
        ("locationRequest", a.location_request.is_some()),
        ("buy", a.buy.is_some()),
    ];
    for (name, _) in members.iter().filter(|(n, on)| *on && *n != kind) {
        p.add(
            path.key(name),
            format!("`{name}` does not belong in an action of type {kind:?}: remove it"),
        );
    }
    if let Some(b) = a.reply.as_ref().or(a.postback.as_ref()) {
        check_button(b, &path.key(kind), MAX_BUTTON_TEXT, p);
    }
    if let Some(l) = &a.link {
        let lp = path.key("link");
        if l.text.as_deref().is_none_or(str::is_empty) {
            p.add(lp.clone(), "a link action needs `text`");
        }
        let url_ok = l
            .url
            .as_deref()
            .is_some_and(|u| is_url(u) || (u.starts_with("{{") && u.ends_with("}}")));
        if !url_ok {
            p.add(
                lp.key("url"),
                "a link action needs `url`: an absolute http(s) URL or a {{variable}}",
            );
        }
    }
    Some(kind)
}

fn check_button(b: &ButtonAction, path: &FieldPath, max_text: usize, p: &mut Problems) {
    match b.text.as_deref() {
        None | Some("") => p.add(
            path.clone(),
            "the action needs `text`: what the button says",
        ),
        Some(t) if t.chars().count() > max_text => p.add(
            path.key("text"),
            format!("{t:?} is longer than the {max_text} characters WhatsApp shows"),
        ),
        Some(_) => {}
    }
    let label = b
        .metadata
        .as_ref()
        .and_then(|m| m.description.as_ref())
        .and_then(|d| d.label.as_deref());
    if let Some(label) = label
        && label.chars().count() > MAX_LABEL
    {
        p.add(
            path.key("metadata").key("description").key("label"),
            format!("the label is longer than {MAX_LABEL} characters: shorten it"),
        );
    }
}

fn check_list(l: &ListBody, path: &FieldPath, p: &mut Problems) {
    check_text(l.text.as_deref(), &path.key("text"), MAX_TEXT, p);
    let button_label = l
        .metadata
        .as_ref()
        .and_then(|m| m.button.as_ref())
        .and_then(|b| b.label.as_deref());
    if let Some(label) = button_label
        && (label.is_empty() || label.chars().count() > MAX_LIST_BUTTON_LABEL)
    {
        p.add(
            path.key("metadata").key("button").key("label"),
            format!("the list button label must be 1 to {MAX_LIST_BUTTON_LABEL} characters"),
        );
    }
    let rows: usize = match (&l.items, &l.actions) {
        (Some(_), Some(_)) => {
            p.add(
                path.key("actions"),
                "a list has either sections (`items`) or rows (`actions`), not both",
            );
            return;
        }
        (None, None) => {
            p.add(
                path.clone(),
                "a list needs rows: `actions` (a list without sections) or `items` (sections, each with a title and actions)",
            );
            return;
        }
        (None, Some(actions)) => {
            check_rows(actions, &path.key("actions"), p);
            actions.len()
        }
        (Some(sections), None) => {
            let sp = path.key("items");
            if sections.is_empty() {
                p.add(sp.clone(), "items is empty: add at least one section");
            }
            if sections.len() > MAX_SECTIONS {
                p.add(
                    sp.clone(),
                    format!(
                        "WhatsApp allows at most {MAX_SECTIONS} sections in a list, found {}",
                        sections.len()
                    ),
                );
            }
            // WhatsApp needs section titles only to tell several sections apart (Bird's
            // "list message without sections" is one untitled item).
            let titled = sections.len() > 1;
            for (i, s) in sections.iter().enumerate() {
                check_section(s, &sp.index(i), titled, p);
            }
            sections
                .iter()
                .map(|s| s.actions.as_ref().map_or(0, Vec::len))
                .sum()
        }
    };
    if rows > MAX_ROWS {
        p.add(
            path.clone(),
            format!("WhatsApp allows at most {MAX_ROWS} rows in a list in all, found {rows}"),
        );
    }
}

fn check_section(s: &Item, path: &FieldPath, titled: bool, p: &mut Problems) {
    if titled && s.title.as_deref().is_none_or(str::is_empty) {
        p.add(
            path.clone(),
            "a list with more than one section needs a `title` on each section",
        );
    }
    match &s.actions {
        None => p.add(path.clone(), "a list section needs rows in `actions`"),
        Some(rows) => check_rows(rows, &path.key("actions"), p),
    }
}

fn check_rows(rows: &[Action], path: &FieldPath, p: &mut Problems) {
    if rows.is_empty() {
        p.add(
            path.clone(),
            "add at least one row (a reply or postback action)",
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let rp = path.index(i);
        match check_row_kind(row, &rp, p) {
            Some(b) => check_button(
                b,
                &rp.key(row.kind.as_deref().unwrap_or("reply")),
                MAX_ROW_TITLE,
                p,
            ),
            None => continue,
        }
    }
}

fn check_row_kind<'a>(
    row: &'a Action,
    path: &FieldPath,
    p: &mut Problems,
) -> Option<&'a ButtonAction> {
    let found = match row.kind.as_deref() {
        Some("reply") => row.reply.as_ref(),
        Some("postback") => row.postback.as_ref(),
        _ => None,
    };
    if found.is_none() {
        p.add(
            path.clone(),
            "a list row must be a reply or postback action with its `reply`/`postback` table",
        );
    }
    found
}

fn check_carousel(c: &CarouselBody, path: &FieldPath, p: &mut Problems) {
    check_optional_text(c.text.as_deref(), &path.key("text"), MAX_CAROUSEL_TEXT, p);
    let ip = path.key("items");
    let Some(cards) = &c.items else {
        p.add(ip, "a carousel needs `items`: 2 to 10 cards");
        return;
    };
    if !CAROUSEL_CARDS.contains(&cards.len()) {
        p.add(
            ip.clone(),
            format!(
                "WhatsApp carousels have 2 to 10 cards, found {}",
                cards.len()
            ),
        );
    }
    let mut kinds = Vec::new();
    for (i, card) in cards.iter().enumerate() {
        let cp = ip.index(i);
        if card.title.as_deref().is_none_or(str::is_empty) {
            p.add(cp.clone(), "each carousel card needs a `title`");
        }
        check_url(
            card.media_url.as_deref(),
            &cp.key("mediaUrl"),
            "mediaUrl",
            p,
        );
        if let Some(url) = &card.media_url {
            kinds.push((i, media_kind(url)));
        }
        let actions = card.actions.as_deref().unwrap_or_default();
        let links = actions
            .iter()
            .filter(|a| a.kind.as_deref() == Some("link"))
            .count();
        if actions.len() != 1 || links != 1 {
            p.add(
                cp.key("actions"),
                "each carousel card needs exactly one action, of type \"link\"",
            );
        }
        for (j, a) in actions.iter().enumerate() {
            check_action(a, &cp.key("actions").index(j), p);
        }
    }
    if let Some((_, first)) = kinds.first()
        && let Some((i, other)) = kinds.iter().find(|(_, k)| k != first)
    {
        p.add(
                ip.index(*i).key("mediaUrl"),
                format!("carousel cards must be all images or all videos: card {i} is {other}, card 0 is {first}"),
            );
    }
}

/// Guesses image or video from a media URL's extension (WhatsApp carousels need one kind).
fn media_kind(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    if [".mp4", ".3gp", ".mov", ".webm", ".mkv"]
        .iter()
        .any(|ext| path.ends_with(ext))
    {
        "a video"
    } else {
        "an image"
    }
}
