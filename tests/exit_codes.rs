//! Every subcommand ends with the same exit codes (DESIGN.md §8): a bad config is 78 for
//! `check`, the operator commands and `contact` as it is for `run` and `submit`.

use std::process::{Command, Output};

fn msgspool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(args)
        .output()
        .expect("run msgspool")
}

/// A config with a key the daemon does not know.
fn broken_config(dir: &std::path::Path) -> String {
    let path = dir.join("config.toml");
    std::fs::write(&path, "spool = \"/tmp/x\"\nno_such_key = 1\n").unwrap();
    path.display().to_string()
}

#[test]
fn a_bad_config_exits_seventy_eight_for_every_subcommand_that_reads_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = broken_config(dir.path());
    let job = dir.path().join("job.toml");
    std::fs::write(&job, "to = \"+31612345678\"\ntext = \"hi\"\n").unwrap();
    let job = job.display().to_string();
    let runs: [&[&str]; 5] = [
        &["check", "--config", &config, &job],
        &["list", "--config", &config],
        &["stats", "--config", &config],
        &["contact", "--config", &config, "c0ffee"],
        &["submit", "--config", &config, &job],
    ];
    for args in runs {
        let out = msgspool(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{args:?}: {stderr}");
        assert!(stderr.contains("no_such_key"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_database_is_refused_with_one_and_a_usage_error_is_two() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("absent.db").display().to_string();
    let out = msgspool(&["list", "--database", &db]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("msgspool: there is no database"));
    let out = msgspool(&["show", "--database", &db, "some-job"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        msgspool(&["list", "--due-before", "soon"]).status.code(),
        Some(2)
    );
}
