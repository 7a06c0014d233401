//! Build script: records the git commit the binary is built from, for `msgspool --version`.
//!
//! Trusts nothing about the build place: outside a git checkout (a crate tarball, a
//! Debian source package), or without `git`, the commit is `MSGSPOOL_GIT_COMMIT` from the
//! environment when set, else "unknown". Never fails the build.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=MSGSPOOL_GIT_COMMIT");
    let commit = std::env::var("MSGSPOOL_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Rebuild when HEAD moves: HEAD itself (branch switch, detached commits) and the
    // branch's ref (new commits), loose or packed.
    // A path that does not exist would make cargo rerun this script on every build.
    let watch = |path: PathBuf| {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        watch(PathBuf::from(git_dir).join("HEAD"));
    }
    if let (Some(common), Some(reference)) = (
        git(&["rev-parse", "--git-common-dir"]),
        git(&["rev-parse", "--symbolic-full-name", "HEAD"]),
    ) {
        let common = PathBuf::from(common);
        if reference.starts_with("refs/") {
            watch(common.join(&reference));
        }
        watch(common.join("packed-refs"));
    }
    println!("cargo:rustc-env=MSGSPOOL_GIT_COMMIT={commit}");
}
