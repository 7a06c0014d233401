//! Rules for a body's actions: WhatsApp's reply and link buttons, how many a text body
//! may carry, and what each action of another channel is refused with.

use super::*;

/// Checks each action, and WhatsApp's button limits for text, image and file bodies.
pub(super) fn check_actions(
    actions: Option<&[Action]>,
    path: &FieldPath,
    text_body: bool,
    p: &mut Problems,
) {
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
pub(super) fn check_action<'a>(
    a: &'a Action,
    path: &FieldPath,
    p: &mut Problems,
) -> Option<&'a str> {
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

pub(super) fn check_button(b: &ButtonAction, path: &FieldPath, max_text: usize, p: &mut Problems) {
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
