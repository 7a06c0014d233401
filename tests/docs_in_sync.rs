//! The man pages and completions checked in under docs/ are exactly what the CLI
//! generates: a changed flag without `msgspool generate-docs docs` fails here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn checked_in_man_pages_and_completions_match_what_the_cli_generates() {
    let fresh = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("generate-docs")
        .arg(fresh.path())
        .output()
        .expect("run msgspool generate-docs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let fix = "run `cargo run -- generate-docs docs` and commit the result";
    for sub in ["man", "completions"] {
        let generated = files(&fresh.path().join(sub));
        // Hand-written section 5 pages live beside the generated section 1 pages.
        let checked_in: BTreeSet<String> = files(&repo.join(sub))
            .into_iter()
            .filter(|n| !n.ends_with(".5"))
            .collect();
        assert_eq!(checked_in, generated, "docs/{sub} lists other files: {fix}");
        for name in &generated {
            let want = std::fs::read(fresh.path().join(sub).join(name)).expect("generated");
            let have = std::fs::read(repo.join(sub).join(name)).expect("checked in");
            assert!(have == want, "docs/{sub}/{name} is out of date: {fix}");
        }
    }
    let man = files(&fresh.path().join("man"));
    for expected in [
        "msgspool.1",
        "msgspool-submit.1",
        "msgspool-check.1",
        "msgspool-run.1",
    ] {
        assert!(man.contains(expected), "no {expected} among {man:?}");
    }
    assert!(
        !man.iter().any(|n| n.contains("generate-docs")),
        "hidden command got a page"
    );
}

#[test]
fn the_completions_know_every_visible_subcommand() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/completions");
    for file in ["msgspool.bash", "_msgspool", "msgspool.fish"] {
        let text = std::fs::read_to_string(repo.join(file)).expect("completion script");
        for sub in [
            "check", "run", "submit", "list", "show", "cancel", "retry", "stats",
        ] {
            assert!(text.contains(sub), "{file} does not complete `{sub}`");
        }
        assert!(
            !text.contains("generate-docs"),
            "{file} completes the hidden command"
        );
    }
}
