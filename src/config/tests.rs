//! Reading whole config files: defaults, each refusal with its place, and the lookups.

use super::*;

const PATH: &str = "/etc/msgspool/config.toml";
const ONE_CHANNEL: &str = "[channels.whatsapp]\nid = \"ch-1\"\n";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(PATH))
}

/// The error for `text`, checked to start at `line:col` and name `key`.
fn error_at(text: &str, line_col: &str, key: &str) -> String {
    let msg = match parse(text) {
        Ok(cfg) => panic!("expected an error, got {cfg:?}"),
        Err(e) => e.to_string(),
    };
    let head = format!("{PATH}:{line_col}: error: {key}: ");
    assert!(msg.starts_with(&head), "expected `{head}...`, got `{msg}`");
    msg
}

fn time(hhmm: &str) -> NaiveTime {
    NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap()
}

fn quiet(start: &str, end: &str) -> QuietHours {
    QuietHours {
        start: time(start),
        end: time(end),
    }
}

#[test]
fn a_config_with_only_a_channel_gets_every_default() {
    let cfg = parse(ONE_CHANNEL).unwrap();
    let mut expected = Config::builtin();
    expected.channels = BTreeMap::from([(
        "whatsapp".to_owned(),
        Channel {
            name: "whatsapp".to_owned(),
            id: "ch-1".to_owned(),
            kind: ChannelKind::Transactional,
            quiet_hours: ChannelQuietHours::Inherit,
        },
    )]);
    assert_eq!(cfg, expected);
}

#[test]
fn every_key_of_the_documented_example_is_read() {
    let cfg = parse(
        r#"spool = "/srv/spool"
database = "/srv/db.sqlite"
timezone = "Europe/Amsterdam"
rescan_interval = "1m"
shutdown_grace = "0s"
[bird]
base_url = "https://eu.api.bird.com/"
workspace_id = "ws-1"
access_key_file = "/etc/msgspool/access-key"
rate_limit = 0
max_in_flight = 4
request_timeout = "5s"
claim_ahead = "20ms"
[channels.whatsapp]
id = "ch-1"
kind = "2fa"
[channels.promo]
id = "ch-2"
kind = "promotional"
quiet_hours = { start = "20:00", end = "09:30" }
[schedule]
immediate_window = "0s"
max_ahead = "30d"
[quiet_hours]
start = "21:00"
end = "08:00"
[retry]
max_attempts = 1
initial = "500ms"
max = "500ms"
"#,
    )
    .unwrap();
    assert_eq!(cfg.spool, Path::new("/srv/spool"));
    assert_eq!(
        cfg.database.sqlite_path(),
        Some(Path::new("/srv/db.sqlite"))
    );
    assert_eq!(cfg.timezone, chrono_tz::Europe::Amsterdam);
    assert_eq!(cfg.rescan_interval, Duration::from_secs(60));
    assert_eq!(cfg.shutdown_grace, Duration::ZERO);
    assert_eq!(cfg.bird.base_url, "https://eu.api.bird.com");
    assert_eq!(cfg.bird.workspace_id.as_deref(), Some("ws-1"));
    assert_eq!(
        cfg.bird.access_key_file.as_deref(),
        Some(Path::new("/etc/msgspool/access-key"))
    );
    assert_eq!((cfg.bird.rate_limit, cfg.bird.max_in_flight), (0, 4));
    assert_eq!(cfg.bird.request_timeout, Duration::from_secs(5));
    assert_eq!(cfg.bird.claim_ahead, Duration::from_millis(20));
    assert_eq!(cfg.channels["whatsapp"].kind, ChannelKind::TwoFa);
    assert_eq!(cfg.channels["promo"].kind, ChannelKind::Promotional);
    assert_eq!(
        cfg.channels["promo"].quiet_hours,
        ChannelQuietHours::Own(quiet("20:00", "09:30"))
    );
    assert_eq!(cfg.schedule.immediate_window, Duration::ZERO);
    assert_eq!(cfg.schedule.max_ahead, Duration::from_secs(30 * 86_400));
    assert_eq!(cfg.quiet_hours, Some(quiet("21:00", "08:00")));
    assert_eq!(cfg.retry.max_attempts, 1);
    assert_eq!(cfg.retry.initial, cfg.retry.max);
}

#[test]
fn an_unreadable_file_names_the_path_and_the_os_error() {
    let err = Config::load(Path::new("/nonexistent/msgspool.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/nonexistent/msgspool.toml: error: cannot read"),
        "{err}"
    );
    assert!(err.contains("No such file or directory"), "{err}");
}

#[test]
fn a_file_is_loaded_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, ONE_CHANNEL).unwrap();
    assert_eq!(Config::load(&path).unwrap().channels.len(), 1);
}

#[test]
fn a_toml_syntax_error_has_its_line_and_column() {
    let err = parse(&format!("{ONE_CHANNEL}[bird\n"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{PATH}:3:6: error: ")), "{err}");
    assert!(err.contains("expected `]`"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn an_unknown_top_level_key_is_named_with_the_expected_keys() {
    let err = parse(&format!("spol = \"/x\"\n{ONE_CHANNEL}"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{PATH}:1:1: error: unknown key `spol`; expected one of `spool`"
        )),
        "{err}"
    );
}

#[test]
fn an_unknown_key_in_a_table_names_the_table() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[bird]\nrate_limt = 5\n"),
        "4:1",
        "bird",
    );
    assert!(
        err.contains("unknown key `rate_limt`; expected one of"),
        "{err}"
    );
    let err = error_at(
        &format!("{ONE_CHANNEL}colour = \"red\"\n"),
        "3:1",
        "channels.whatsapp",
    );
    assert!(err.contains("unknown key `colour`"), "{err}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[bird]\nrate_limit = \"fast\"\n"),
        "4:14",
        "bird.rate_limit",
    );
    assert!(err.contains("write a whole number"), "{err}");
}

#[test]
fn a_bad_duration_says_which_forms_are_accepted() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[retry]\ninitial = \"10 sec\"\n"),
        "4:11",
        "retry.initial",
    );
    assert!(err.contains("invalid duration `10 sec`"), "{err}");
    assert!(err.contains("500ms, 90s, 10m, 36h, 35d"), "{err}");
    error_at(
        &format!("rescan_interval = \"1.5s\"\n{ONE_CHANNEL}"),
        "1:19",
        "rescan_interval",
    );
}

#[test]
fn a_zero_rescan_interval_is_refused() {
    let err = error_at(
        &format!("rescan_interval = \"0s\"\n{ONE_CHANNEL}"),
        "1:19",
        "rescan_interval",
    );
    assert!(err.contains("longer than 0s"), "{err}");
}

#[test]
fn an_unknown_time_zone_is_refused_with_an_example() {
    let err = error_at(
        &format!("timezone = \"Europe/Amsterdan\"\n{ONE_CHANNEL}"),
        "1:12",
        "timezone",
    );
    assert!(
        err.contains("unknown time zone `Europe/Amsterdan`; use an IANA name"),
        "{err}"
    );
}

#[test]
fn a_time_that_is_not_hh_mm_is_refused() {
    let text = format!("{ONE_CHANNEL}[quiet_hours]\nstart = \"9pm\"\nend = \"08:00\"\n");
    let err = error_at(&text, "4:9", "quiet_hours.start");
    assert!(
        err.contains("`9pm` is not a time of day; write HH:MM"),
        "{err}"
    );
    let text = format!("{ONE_CHANNEL}[quiet_hours]\nstart = \"21:00\"\nend = \"24:00\"\n");
    error_at(&text, "5:7", "quiet_hours.end");
}

#[test]
fn quiet_hours_that_start_when_they_end_are_refused() {
    let text = format!("{ONE_CHANNEL}[quiet_hours]\nstart = \"08:00\"\nend = \"08:00\"\n");
    let err = error_at(&text, "3:1", "quiet_hours");
    assert!(err.contains("start and end are equal"), "{err}");
}

#[test]
fn quiet_hours_need_both_start_and_end() {
    let err = parse(&format!("{ONE_CHANNEL}[quiet_hours]\nstart = \"21:00\"\n")).unwrap_err();
    assert!(
        err.to_string()
            .contains("quiet_hours: missing key `end`; add it"),
        "{err}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let text = format!("{ONE_CHANNEL}[bird]\nbase_url = \"http://api.bird.com\"\n");
    let err = error_at(&text, "4:12", "bird.base_url");
    assert!(err.contains("use https"), "{err}");
}

#[test]
fn plain_http_to_a_loopback_host_is_allowed() {
    for url in [
        "http://127.0.0.1:8080/",
        "http://localhost:3000",
        "http://[::1]:9000",
    ] {
        let cfg = parse(&format!("{ONE_CHANNEL}[bird]\nbase_url = \"{url}\"\n")).unwrap();
        assert_eq!(cfg.bird.base_url, url.trim_end_matches('/'));
    }
}

#[test]
fn zero_requests_in_flight_is_refused() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[bird]\nmax_in_flight = 0\n"),
        "4:17",
        "bird.max_in_flight",
    );
    assert!(err.contains("must be at least 1"), "{err}");
}

#[test]
fn claiming_more_than_a_second_ahead_is_refused_and_zero_is_accepted() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[bird]\nclaim_ahead = \"2s\"\n"),
        "4:15",
        "bird.claim_ahead",
    );
    assert!(err.contains("is longer than 1s"), "{err}");
    let cfg = parse(&format!("{ONE_CHANNEL}[bird]\nclaim_ahead = \"0s\"\n")).unwrap();
    assert_eq!(cfg.bird.claim_ahead, Duration::ZERO);
}

#[test]
fn an_empty_workspace_id_is_refused() {
    error_at(
        &format!("{ONE_CHANNEL}[bird]\nworkspace_id = \"\"\n"),
        "4:16",
        "bird.workspace_id",
    );
}

#[test]
fn a_config_without_channels_is_refused() {
    let err = parse("spool = \"/srv/spool\"\n").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{PATH}: error: channels: no channel is configured; add a [channels.NAME]"
        )),
        "{err}"
    );
    error_at("[channels]\n", "1:1", "channels");
}

#[test]
fn a_channel_without_an_id_is_refused() {
    let err = error_at(
        "[channels.whatsapp]\nkind = \"2fa\"\n",
        "1:1",
        "channels.whatsapp",
    );
    assert!(err.contains("missing key `id`"), "{err}");
    error_at(
        "[channels.whatsapp]\nid = \" \"\n",
        "2:6",
        "channels.whatsapp.id",
    );
}

#[test]
fn an_unknown_channel_kind_lists_the_kinds() {
    let err = error_at(
        &format!("{ONE_CHANNEL}kind = \"marketing\"\n"),
        "3:8",
        "channels.whatsapp.kind",
    );
    assert!(
        err.contains("use promotional, conversational, transactional or 2fa"),
        "{err}"
    );
}

#[test]
fn a_channel_quiet_hours_of_true_is_refused() {
    let err = error_at(
        &format!("{ONE_CHANNEL}quiet_hours = true\n"),
        "3:15",
        "channels.whatsapp.quiet_hours",
    );
    assert!(err.contains("write `false`"), "{err}");
    let err = error_at(
        &format!("{ONE_CHANNEL}quiet_hours = 3\n"),
        "3:15",
        "channels.whatsapp.quiet_hours",
    );
    assert!(err.contains("expected false, or a table"), "{err}");
}

#[test]
fn bad_channel_quiet_hours_point_into_the_channel() {
    let text = format!("{ONE_CHANNEL}quiet_hours = {{ start = \"21:00\", end = \"8\" }}\n");
    error_at(&text, "3:40", "channels.whatsapp.quiet_hours.end");
    let text = format!(
        "{ONE_CHANNEL}[channels.whatsapp.quiet_hours]\nstart = \"21:00\"\nstop = \"08:00\"\n"
    );
    let err = error_at(&text, "5:1", "channels.whatsapp.quiet_hours");
    assert!(err.contains("unknown key `stop`"), "{err}");
}

#[test]
fn zero_attempts_are_refused() {
    error_at(
        &format!("{ONE_CHANNEL}[retry]\nmax_attempts = 0\n"),
        "4:16",
        "retry.max_attempts",
    );
}

#[test]
fn a_retry_max_below_the_initial_delay_is_refused() {
    let err = error_at(
        &format!("{ONE_CHANNEL}[retry]\ninitial = \"1h\"\nmax = \"30m\"\n"),
        "5:7",
        "retry.max",
    );
    assert!(err.contains("shorter than retry.initial"), "{err}");
}

#[test]
fn max_ahead_shorter_than_the_immediate_window_is_refused() {
    let text = format!("{ONE_CHANNEL}[schedule]\nimmediate_window = \"1h\"\nmax_ahead = \"10m\"\n");
    error_at(&text, "5:13", "schedule.max_ahead");
}

#[test]
fn an_empty_path_is_refused() {
    error_at(
        &format!("database = \"\"\n{ONE_CHANNEL}"),
        "1:12",
        "database",
    );
}

#[test]
fn a_duplicate_key_is_a_syntax_error_with_its_line() {
    let err = parse(&format!("{ONE_CHANNEL}id = \"ch-2\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{PATH}:3:")), "{err}");
    assert!(err.contains("duplicate key"), "{err}");
}

#[test]
fn a_channel_inherits_the_global_quiet_hours() {
    let cfg = parse(&format!(
        "{ONE_CHANNEL}[quiet_hours]\nstart = \"21:00\"\nend = \"08:00\"\n"
    ))
    .unwrap();
    let ch = cfg.channel(None).unwrap();
    assert_eq!(ch.quiet_hours, ChannelQuietHours::Inherit);
    assert_eq!(cfg.quiet_hours_for(ch), Some(quiet("21:00", "08:00")));
}

#[test]
fn a_channel_without_global_quiet_hours_has_none() {
    let cfg = parse(ONE_CHANNEL).unwrap();
    assert_eq!(cfg.quiet_hours_for(cfg.channel(None).unwrap()), None);
}

#[test]
fn a_channel_can_override_the_global_quiet_hours() {
    let text = format!(
        "[quiet_hours]\nstart = \"21:00\"\nend = \"08:00\"\n{ONE_CHANNEL}[channels.whatsapp.quiet_hours]\nstart = \"22:30\"\nend = \"07:00\"\n"
    );
    let cfg = parse(&text).unwrap();
    assert_eq!(
        cfg.quiet_hours_for(cfg.channel(None).unwrap()),
        Some(quiet("22:30", "07:00"))
    );
}

#[test]
fn a_channel_can_turn_the_global_quiet_hours_off() {
    let text = format!(
        "[quiet_hours]\nstart = \"21:00\"\nend = \"08:00\"\n{ONE_CHANNEL}quiet_hours = false\n"
    );
    let cfg = parse(&text).unwrap();
    let ch = cfg.channel(None).unwrap();
    assert_eq!(ch.quiet_hours, ChannelQuietHours::Off);
    assert_eq!(cfg.quiet_hours_for(ch), None);
}

#[test]
fn a_channel_may_have_its_own_quiet_hours_without_global_ones() {
    let text = format!("{ONE_CHANNEL}quiet_hours = {{ start = \"12:00\", end = \"13:00\" }}\n");
    let cfg = parse(&text).unwrap();
    assert_eq!(
        cfg.quiet_hours_for(cfg.channel(None).unwrap()),
        Some(quiet("12:00", "13:00"))
    );
}

#[test]
fn durations_too_long_to_compute_with_are_refused_naming_the_key() {
    let big = format!("shutdown_grace = \"99999999d\"\n{ONE_CHANNEL}");
    let msg = error_at(&big, "1:18", "shutdown_grace");
    assert!(msg.contains("longer than 1d"), "{msg}");
    let window = format!(
        "{ONE_CHANNEL}[schedule]\nimmediate_window = \"99999999d\"\nmax_ahead = \"99999999d\"\n"
    );
    error_at(&window, "4:20", "schedule.immediate_window");
    error_at(&format!("settle = \"2d\"\n{ONE_CHANNEL}"), "1:10", "settle");
}

#[test]
fn settle_defaults_to_one_second_and_can_be_set() {
    assert_eq!(parse(ONE_CHANNEL).unwrap().settle, Duration::from_secs(1));
    let cfg = parse(&format!("settle = \"250ms\"\n{ONE_CHANNEL}")).unwrap();
    assert_eq!(cfg.settle, Duration::from_millis(250));
}
