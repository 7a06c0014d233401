//! Property: every file in `schedules/`, mutated the ways producers and attackers mangle
//! files (byte flips, dropped and duplicated lines, huge and negative numbers, far dates,
//! long strings, big arrays), never panics parse → rules → plan → payload, and every error
//! names FILE:LINE:COL.

use chrono::{TimeZone, Utc};
use msgspool::config::Config;
use msgspool::job::{self, JobContext};
use proptest::prelude::*;

fn schedules() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schedules");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("schedules/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read schedule"))
        })
        .collect();
    files.sort();
    files
}

/// Lines that stress arithmetic and size when inserted at the top or into a table.
const HOSTILE_LINES: &[&str] = &[
    "validity = 9223372036854775807",
    "validity = -9223372036854775808",
    "validity = 9000000000000",
    "scheduledFor = \"9999-12-31T23:59:59-23:59\"",
    "scheduledFor = \"0000-01-01T00:00:00+23:59\"",
    "scheduledFor = 1979-05-27T07:32:00Z",
    "cron = \"0 0 30 2 *\"",
    "cron = \"* * * * * *\"\nuntil = \"9999-12-31T23:59:59Z\"",
    "until = \"0000-01-01T00:00:00Z\"",
    "timezone = \"Mars/Olympus\"",
    "ignoreQuietHours = true",
    "latitude = 1e308",
    "longitude = -inf",
    "id = \"\"",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    DropLine(usize),
    DuplicateLine(usize),
    Insert(usize, usize),
    LongString(usize, usize),
    BigArray(usize, usize),
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = |i: usize, n: usize| if n == 0 { 0 } else { i % n };
    match m {
        Mutation::FlipByte(i, x) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] ^= x | 1;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::DropLine(i) => {
            if !lines.is_empty() {
                lines.remove(at(*i, lines.len()));
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let i = at(*i, lines.len());
                lines.insert(i, lines[i].clone());
            }
        }
        Mutation::Insert(i, k) => {
            let line = HOSTILE_LINES[k % HOSTILE_LINES.len()].to_owned();
            lines.insert(at(*i, lines.len() + 1), line);
        }
        Mutation::LongString(i, len) => {
            let line = format!("reference = \"{}\"", "x".repeat(*len));
            lines.insert(at(*i, lines.len() + 1), line);
        }
        Mutation::BigArray(i, len) => {
            let line = format!("tags = [{}]", vec!["\"t\""; *len].join(","));
            lines.insert(at(*i, lines.len() + 1), line);
        }
    }
    lines.join("\n")
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::FlipByte(i, x)),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(i, k)| Mutation::Insert(i, k)),
        (any::<usize>(), 0usize..200_000).prop_map(|(i, n)| Mutation::LongString(i, n)),
        (any::<usize>(), 0usize..50_000).prop_map(|(i, n)| Mutation::BigArray(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_schedules_never_panic_and_every_error_names_file_line_and_column(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let files = schedules();
        let (name, original) = &files[which % files.len()];
        let mut text = original.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let config = Config::builtin();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let ctx = JobContext { config: &config, now };
        match job::parse(name, "job", &text, &ctx) {
            Ok(job) => {
                let planned = msgspool::spool::plan_job(&job, name, now, &config);
                for send in &planned.sends {
                    prop_assert!(msgspool::bounds::is_storable(send.expires));
                    prop_assert!(msgspool::bounds::is_storable(send.due));
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&send.payload).is_ok());
                }
            }
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                prop_assert!(errors.0.len() <= job::diagnostic::MAX_SHOWN + 1);
                let lines = text.lines().count().max(1);
                for d in &errors.0 {
                    let shown = d.to_string();
                    let head = format!("{name}:{}:{}: error: ", d.line, d.col);
                    prop_assert!(shown.starts_with(&head), "{shown}");
                    prop_assert!(d.line >= 1 && d.line <= lines + 1, "{shown}");
                }
            }
        }
    }
}
