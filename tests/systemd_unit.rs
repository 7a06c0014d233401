//! The systemd files in `systemd/`: the unit passes `systemd-analyze verify`, and the unit,
//! the sysusers and tmpfiles snippets and the example config agree on every path, user and
//! time they share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use msgspool::config::{CREDENTIAL_NAME, Config};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_file(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

const UNIT: &str = "systemd/msgspool.service";
const SYSUSERS: &str = "systemd/msgspool.sysusers.conf";
const TMPFILES: &str = "systemd/msgspool.tmpfiles.conf";
const CONFIG: &str = "systemd/config.example.toml";

// ---------------------------------------------------------------------------------------
// systemd-analyze verify

/// Lines of `systemd-analyze verify` output that mention the unit but are not a problem
/// with it. With systemd 252 a correct unit produces no output at all, so this is empty;
/// add a fragment here only for a note that is known to be harmless.
const ACCEPTABLE_NOTES: &[&str] = &[];

enum Verify {
    /// systemd-analyze cannot judge the unit here; the reason is printed and the test skips.
    Skipped(String),
    /// Exit status, the lines that name the unit (its problems), and all the output.
    Ran {
        success: bool,
        problems: Vec<String>,
        output: String,
    },
}

/// Whether the system's own units are installed: without sysinit.target (a container with
/// only the systemd binaries) verify fails for every unit, whatever its content.
fn system_units_installed() -> bool {
    [
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
        "/etc/systemd/system",
    ]
    .iter()
    .any(|d| Path::new(d).join("sysinit.target").exists())
}

/// Runs `systemd-analyze verify` on `unit_text`, with ExecStart= pointing at the binary
/// cargo built (verify refuses an ExecStart= that does not exist, and /usr/bin/msgspool
/// need not be installed where the tests run).
fn verify(unit_text: &str) -> Verify {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        return Verify::Skipped("systemd-analyze is not installed".to_owned());
    }
    if !system_units_installed() {
        return Verify::Skipped(
            "the system's unit files (sysinit.target) are not installed".to_owned(),
        );
    }
    let bin = env!("CARGO_BIN_EXE_msgspool");
    // Quoted for spaces, `%` doubled so systemd does not read a specifier.
    let exec = format!("\"{}\"", bin.replace('%', "%%"));
    let rewritten = unit_text.replace(
        "ExecStart=/usr/bin/msgspool ",
        &format!("ExecStart={exec} "),
    );
    assert_ne!(
        rewritten, unit_text,
        "the unit has no `ExecStart=/usr/bin/msgspool ` line"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("msgspool.service");
    std::fs::write(&path, rewritten).expect("write the unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        // Warnings (unknown keys, unparsable values) are logged at warning level; pin the
        // level so a caller's SYSTEMD_LOG_LEVEL=debug cannot flood or hide them.
        .env("SYSTEMD_LOG_LEVEL", "info")
        .env("SYSTEMD_LOG_COLOR", "0")
        .env_remove("SYSTEMD_UNIT_PATH")
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir_text = dir.path().display().to_string();
    let problems = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.contains("msgspool.service") || l.contains(&dir_text))
        .filter(|l| !ACCEPTABLE_NOTES.iter().any(|ok| l.contains(ok)))
        .map(str::to_owned)
        .collect();
    Verify::Ran {
        success: out.status.success(),
        problems,
        output: format!("{stderr}{stdout}"),
    }
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    match verify(&read(UNIT)) {
        Verify::Skipped(why) => eprintln!("note: skipping systemd-analyze verify: {why}"),
        Verify::Ran {
            success,
            problems,
            output,
        } => {
            assert!(
                problems.is_empty(),
                "systemd-analyze verify complains:\n{}",
                problems.join("\n")
            );
            assert!(success, "systemd-analyze verify failed:\n{output}");
        }
    }
}

/// verify exits 0 on an unknown key or a bad value (it only warns), so the test above
/// relies on reading its output; this keeps that reading honest.
#[test]
fn verify_catches_mistakes_in_the_unit() {
    let unit = read(UNIT);
    // (line in the unit, what it becomes, what the complaint must mention)
    let mistakes = [
        (
            "ProtectHostname=yes",
            "ProtectHostnam=yes",
            "ProtectHostnam",
        ),
        ("RestartSec=2s", "RestartSec=2x", "2x"),
        (
            "After=time-sync.target",
            "After=time-sync.target\nRequires=no-such-unit.service",
            "no-such-unit.service",
        ),
    ];
    for (good, bad, mentioned) in mistakes {
        assert!(unit.contains(good), "the unit has no `{good}`");
        match verify(&unit.replacen(good, bad, 1)) {
            Verify::Skipped(why) => {
                eprintln!("note: skipping systemd-analyze verify: {why}");
                return;
            }
            Verify::Ran { problems, .. } => assert!(
                problems.iter().any(|p| p.contains(mentioned)),
                "`{bad}` went unnoticed; problems: {problems:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The files agree with each other

/// `key=value` lines of one section of a unit file, in order (keys may repeat).
fn unit_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
            continue;
        }
        if current == section {
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not key=value: {line}"));
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// The one value of `key`; panics when it is missing or set twice.
fn one<'a>(entries: &'a [(String, String)], key: &str) -> &'a str {
    let values: Vec<&str> = entries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        values.len(),
        1,
        "{key}= should be set exactly once, got {values:?}"
    );
    values[0]
}

/// A systemd time span of the forms the unit uses: `30s`, `2min`, `30`.
fn timespan(value: &str) -> Duration {
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not a time span: {value}"));
    match &value[digits.len()..] {
        "" | "s" => Duration::from_secs(n),
        "min" | "m" => Duration::from_secs(n * 60),
        unit => panic!("unexpected unit {unit:?} in {value}"),
    }
}

/// tmpfiles.d lines as (type, path, mode, user, group).
fn tmpfiles_entries() -> Vec<[String; 5]> {
    read(TMPFILES)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 5, "short tmpfiles line: {l}");
            [f[0], f[1], f[2], f[3], f[4]].map(str::to_owned)
        })
        .collect()
}

fn tmpfiles_entry(path: &Path) -> [String; 5] {
    tmpfiles_entries()
        .into_iter()
        .find(|e| Path::new(&e[1]) == path)
        .unwrap_or_else(|| panic!("{TMPFILES} does not create {}", path.display()))
}

fn example_config() -> Config {
    Config::load(&repo_file(CONFIG)).unwrap_or_else(|e| panic!("{CONFIG} does not load:\n{e}"))
}

#[test]
fn the_example_config_loads() {
    let cfg = example_config();
    assert!(cfg.channels.contains_key("whatsapp"), "{:?}", cfg.channels);
    assert!(cfg.bird.workspace_id.is_some(), "workspace_id is missing");
    assert_eq!(
        cfg.bird.access_key_file, None,
        "the service passes the key as a credential; access_key_file would take precedence"
    );
    assert_eq!(cfg.bird.base_url, "https://api.bird.com");
}

#[test]
fn spool_paths_agree_across_unit_tmpfiles_and_config() {
    let service = unit_section(&read(UNIT), "Service");
    let spool = PathBuf::from(one(&service, "ReadWritePaths"));
    let cfg = example_config();
    assert_eq!(cfg.spool, spool, "config `spool` vs ReadWritePaths=");

    let unit_section_unit = unit_section(&read(UNIT), "Unit");
    assert_eq!(
        Path::new(one(&unit_section_unit, "RequiresMountsFor")),
        spool,
        "RequiresMountsFor= vs ReadWritePaths="
    );

    let user = one(&service, "User");
    let group = one(&service, "Group");
    let [kind, _, mode, owner, grp] = tmpfiles_entry(&spool);
    assert_eq!(
        [kind.as_str(), mode.as_str(), owner.as_str(), grp.as_str()],
        ["d", "2770", user, group],
        "spool entry in {TMPFILES}"
    );
    let [kind, _, mode, owner, grp] = tmpfiles_entry(&spool.join("rejected"));
    assert_eq!(
        [kind.as_str(), mode.as_str(), owner.as_str(), grp.as_str()],
        ["d", "2770", user, group],
        "rejected/ entry in {TMPFILES}"
    );
}

#[test]
fn state_config_and_credential_paths_agree() {
    let service = unit_section(&read(UNIT), "Service");
    let cfg = example_config();

    let state = Path::new("/var/lib").join(one(&service, "StateDirectory"));
    let database = cfg
        .database
        .sqlite_path()
        .expect("the example config uses SQLite");
    assert!(
        database.starts_with(&state) && database != state,
        "config `database` {} is not inside StateDirectory {}",
        database.display(),
        state.display()
    );

    let etc = Path::new("/etc").join(one(&service, "ConfigurationDirectory"));
    let exec = one(&service, "ExecStart");
    let config_arg = exec
        .split_whitespace()
        .skip_while(|w| *w != "--config")
        .nth(1)
        .unwrap_or_else(|| panic!("ExecStart= has no --config: {exec}"));
    assert!(
        Path::new(config_arg).starts_with(&etc),
        "--config {config_arg} is not in ConfigurationDirectory {}",
        etc.display()
    );
    let [_, _, mode, owner, grp] = tmpfiles_entry(&etc);
    assert_eq!(
        [mode.as_str(), owner.as_str(), grp.as_str()],
        [
            one(&service, "ConfigurationDirectoryMode"),
            "root",
            one(&service, "Group")
        ],
        "{} in {TMPFILES} vs the unit",
        etc.display()
    );

    let credential = one(&service, "LoadCredential");
    let (name, source) = credential
        .split_once(':')
        .unwrap_or_else(|| panic!("LoadCredential= without a source: {credential}"));
    assert_eq!(
        name, CREDENTIAL_NAME,
        "the daemon reads the credential by this name"
    );
    assert!(
        Path::new(source).starts_with(&etc),
        "the access key {source} is not in {}",
        etc.display()
    );
}

#[test]
fn user_and_group_come_from_sysusers() {
    let service = unit_section(&read(UNIT), "Service");
    let state = Path::new("/var/lib").join(one(&service, "StateDirectory"));
    let sysusers = read(SYSUSERS);
    let lines: Vec<&str> = sysusers
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let group = one(&service, "Group");
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().take(2).eq(["g", group])),
        "{SYSUSERS} does not create group {group}"
    );
    let user = one(&service, "User");
    let user_line = lines
        .iter()
        .find(|l| l.split_whitespace().take(2).eq(["u", user]))
        .unwrap_or_else(|| panic!("{SYSUSERS} does not create user {user}"));
    assert!(
        user_line.ends_with(&format!(" {}", state.display())),
        "home of {user} should be {}: {user_line}",
        state.display()
    );
}

#[test]
fn the_service_waits_long_enough_and_talks_to_systemd() {
    let service = unit_section(&read(UNIT), "Service");
    let cfg = example_config();
    let stop = timespan(one(&service, "TimeoutStopSec"));
    assert!(
        stop > cfg.shutdown_grace,
        "TimeoutStopSec= {stop:?} must exceed shutdown_grace {:?}",
        cfg.shutdown_grace
    );
    assert!(timespan(one(&service, "WatchdogSec")) >= Duration::from_secs(4));
    assert_eq!(one(&service, "Type"), "notify");
    assert_eq!(one(&service, "NotifyAccess"), "main");
    assert_eq!(one(&service, "ExecReload"), "/bin/kill -HUP $MAINPID");
}
