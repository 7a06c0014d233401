//! `msgspool --version`: the version, the git commit and the database schema version.

use std::process::Command;

#[test]
fn version_names_the_crate_version_the_git_commit_and_the_schema_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("--version")
        .output()
        .expect("run msgspool");
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    // Outside a git checkout build.rs falls back to "unknown" (or MSGSPOOL_GIT_COMMIT).
    let commit = std::env::var("MSGSPOOL_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or(head)
        .unwrap_or_else(|| "unknown".to_owned());
    assert_eq!(
        line,
        format!(
            "msgspool {} (commit {commit}, database schema {})",
            env!("CARGO_PKG_VERSION"),
            msgspool::store::KNOWN_VERSION
        )
    );
}
