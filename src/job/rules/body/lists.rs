//! Rules for WhatsApp's list and carousel bodies: sections, rows, labels and cards.

use super::*;

pub(super) fn check_list(l: &ListBody, path: &FieldPath, p: &mut Problems) {
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

pub(super) fn check_section(s: &Item, path: &FieldPath, titled: bool, p: &mut Problems) {
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

pub(super) fn check_rows(rows: &[Action], path: &FieldPath, p: &mut Problems) {
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

pub(super) fn check_row_kind<'a>(
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

pub(super) fn check_carousel(c: &CarouselBody, path: &FieldPath, p: &mut Problems) {
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
pub(super) fn media_kind(url: &str) -> &'static str {
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
