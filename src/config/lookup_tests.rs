//! Defaults, kinds and lookups on a built config; parsing is tested in `tests.rs`.

use super::*;

fn two_channels() -> Config {
    let mut cfg = Config::builtin();
    let default = cfg.channels["default"].clone();
    for (name, id) in [("nl", "ch-nl"), ("be", "ch-be")] {
        let channel = Channel {
            name: name.to_owned(),
            id: id.to_owned(),
            ..default.clone()
        };
        cfg.channels.insert(name.to_owned(), channel);
    }
    cfg.channels.remove("default");
    cfg
}

fn with_quiet_hours(global: Option<QuietHours>, own: ChannelQuietHours) -> (Config, Channel) {
    let mut cfg = Config::builtin();
    cfg.quiet_hours = global;
    let mut channel = cfg.channels["default"].clone();
    channel.quiet_hours = own;
    (cfg, channel)
}

const EVENING: QuietHours = QuietHours {
    start: NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
    end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
};
const LUNCH: QuietHours = QuietHours {
    start: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
    end: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
};

#[test]
fn a_channel_that_inherits_gets_the_global_quiet_hours_or_none() {
    let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Inherit);
    assert_eq!(cfg.quiet_hours_for(&ch), Some(EVENING));
    let (cfg, ch) = with_quiet_hours(None, ChannelQuietHours::Inherit);
    assert_eq!(cfg.quiet_hours_for(&ch), None);
}

#[test]
fn a_channel_with_quiet_hours_off_has_none() {
    let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Off);
    assert_eq!(cfg.quiet_hours_for(&ch), None);
}

#[test]
fn a_channel_with_its_own_quiet_hours_uses_them() {
    let (cfg, ch) = with_quiet_hours(Some(EVENING), ChannelQuietHours::Own(LUNCH));
    assert_eq!(cfg.quiet_hours_for(&ch), Some(LUNCH));
}

#[test]
fn the_builtin_config_has_the_documented_defaults() {
    let cfg = Config::builtin();
    assert_eq!(cfg.spool, Path::new("/var/spool/msgspool"));
    assert_eq!(
        cfg.database.sqlite_path(),
        Some(Path::new("/var/lib/msgspool/msgspool.db"))
    );
    assert_eq!(cfg.timezone, Tz::UTC);
    assert_eq!(cfg.rescan_interval, Duration::from_secs(30));
    assert_eq!(cfg.shutdown_grace, Duration::from_secs(20));
    assert_eq!(cfg.bird.base_url, "https://api.bird.com");
    assert_eq!(cfg.bird.workspace_id, None);
    assert_eq!(cfg.bird.access_key_file, None);
    assert_eq!(cfg.bird.rate_limit, 500);
    assert_eq!(cfg.bird.max_in_flight, 256);
    assert_eq!(cfg.bird.claim_ahead, Duration::from_millis(500));
    assert_eq!(cfg.bird.request_timeout, Duration::from_secs(30));
    assert_eq!(cfg.schedule.immediate_window, Duration::from_secs(600));
    assert_eq!(cfg.schedule.max_ahead, Duration::from_secs(35 * 86_400));
    assert_eq!(cfg.quiet_hours, None);
    assert_eq!(cfg.retry.max_attempts, 10);
    assert_eq!(cfg.retry.initial, Duration::from_secs(10));
    assert_eq!(cfg.retry.max, Duration::from_secs(1800));
    let only = cfg.channel(None).unwrap();
    assert_eq!(
        (only.name.as_str(), only.id.as_str()),
        ("default", "default")
    );
    assert_eq!(only.kind, ChannelKind::Transactional);
}

#[test]
fn each_channel_kind_has_its_default_validity() {
    assert_eq!(
        ChannelKind::TwoFa.default_validity(),
        Duration::from_secs(600)
    );
    for kind in [
        ChannelKind::Promotional,
        ChannelKind::Conversational,
        ChannelKind::Transactional,
    ] {
        assert_eq!(
            kind.default_validity(),
            Duration::from_secs(129_600),
            "{kind}"
        );
    }
    for kind in ChannelKind::ALL {
        assert_eq!(ChannelKind::from_name(kind.as_str()), Some(kind));
    }
}

#[test]
fn a_channel_is_found_by_name() {
    assert_eq!(two_channels().channel(Some("be")).unwrap().id, "ch-be");
}

#[test]
fn no_channel_name_picks_the_only_channel() {
    let cfg = Config::builtin();
    assert_eq!(cfg.channel(None).unwrap().name, "default");
}

#[test]
fn no_channel_name_with_two_channels_lists_them() {
    let err = two_channels().channel(None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no channel given and the config defines channels: `be`, `nl`; set `channel` to one of them"
    );
}

#[test]
fn an_unknown_channel_name_lists_the_known_ones() {
    let err = two_channels().channel(Some("de")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown channel `de`; the config defines channels: `be`, `nl`"
    );
}
