use super::*;
use crate::config::{ChannelKind, ChannelQuietHours};

fn channel() -> Channel {
    Channel {
        name: "whatsapp".to_owned(),
        id: "c-1".to_owned(),
        kind: ChannelKind::Transactional,
        quiet_hours: ChannelQuietHours::Inherit,
    }
}

fn info(window: Option<&str>, permanent: Option<bool>) -> ContactChannelInfo {
    ContactChannelInfo {
        service_window_expire_at: window.map(str::to_owned),
        is_permanent_session: permanent,
    }
}

fn now() -> DateTime<Utc> {
    parse_utc_text("2026-03-01T12:00:00Z").unwrap()
}

#[test]
fn a_window_ending_later_is_open_until_then() {
    let lines = describe(
        &info(Some("2026-03-01T13:59:30+00:00"), Some(false)),
        "k",
        &channel(),
        now(),
    )
    .unwrap();
    assert_eq!(
        lines[2],
        "service window:    open until 2026-03-01T13:59:30.000Z (1h 59m from now)"
    );
    assert_eq!(lines[3], "permanent session: no");
}

#[test]
fn a_window_that_ended_is_closed_and_a_permanent_session_is_open() {
    let closed = describe(
        &info(Some("2026-02-27T12:00:00Z"), None),
        "k",
        &channel(),
        now(),
    )
    .unwrap();
    assert!(closed[2].contains("closed since 2026-02-27T12:00:00.000Z (2d 0h ago)"));
    let none = describe(&info(None, None), "k", &channel(), now()).unwrap();
    assert!(none[2].contains("closed"));
    let permanent = describe(&info(None, Some(true)), "k", &channel(), now()).unwrap();
    assert!(permanent[2].contains("open: permanent session"));
    assert!(describe(&info(Some("tomorrow"), None), "k", &channel(), now()).is_err());
}

#[test]
fn contact_ids_that_would_change_the_url_are_refused() {
    assert!(check_contact_id("8c3b5d7e-1f2a-4b6c-8d9e-0a1b2c3d4e5f").is_ok());
    assert!(check_contact_id("+31612345678").is_ok());
    for bad in ["", "a/b", "a?b", "a#b", "a%2F", "a b"] {
        assert!(check_contact_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn spans_read_as_people_say_them() {
    let s = chrono::Duration::seconds;
    assert_eq!(span(s(12)), "12s");
    assert_eq!(span(s(250)), "4m 10s");
    assert_eq!(span(s(7140)), "1h 59m");
    assert_eq!(span(s(183_600)), "2d 3h");
}
