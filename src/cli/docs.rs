//! `msgspool generate-docs DIR` (hidden): man pages and shell completions from the clap
//! definition, so they cannot drift from the CLI.
//!
//! Writes `DIR/man/msgspool.1` and one `msgspool-SUBCOMMAND.1` per visible subcommand
//! (clap_mangen), and `DIR/completions/` for bash, zsh and fish (clap_complete). The
//! output is deterministic: the pages carry only the crate version (no commit, no date),
//! so the copies checked in under `docs/` stay in sync until the CLI itself changes,
//! which `tests/docs_in_sync.rs` catches. The section 5 pages are written by hand.

use std::io;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Folder to write man/ and completions/ into (the repository's is docs/).
    pub dir: PathBuf,
}

/// What `msgspool.1` points to beyond the subcommand pages.
const SEE_ALSO: &str = ".SH \"SEE ALSO\"\n\\fBmsgspool\\-job\\fR(5), \\fBmsgspool.conf\\fR(5), \
\\fBsystemctl\\fR(1), \\fBsqlite3\\fR(1); /usr/share/doc/msgspool/README.md and operating.md\n";

pub fn run(args: &GenerateDocsArgs) -> super::Exit {
    match generate(&args.dir) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            super::Exit::Done
        }
        Err(e) => super::Exit::Refused(format!(
            "msgspool generate-docs: cannot write into {}: {e}",
            args.dir.display()
        )),
    }
}

/// The CLI as the generated files describe it: the crate version only (no commit), and
/// no hidden subcommands (clap_complete would offer them otherwise).
fn command() -> clap::Command {
    let full = super::Cli::command();
    let mut cmd = clap::Command::new("msgspool")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    // Gives each subcommand its display name (msgspool-check) and usage (msgspool check).
    cmd.build();
    cmd
}

/// Writes every generated file under `dir`; returns their paths.
pub fn generate(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let cmd = command();
    let man = dir.join("man");
    let completions = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&completions)?;
    let mut written = Vec::new();

    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    page.extend_from_slice(SEE_ALSO.as_bytes());
    written.push(write(&man.join("msgspool.1"), &page)?);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut page = Vec::new();
        clap_mangen::Man::new(sub.clone()).render(&mut page)?;
        let name = format!("msgspool-{}.1", sub.get_name());
        written.push(write(&man.join(name), &page)?);
    }

    for (shell, name) in [
        (Shell::Bash, "msgspool.bash"),
        (Shell::Zsh, "_msgspool"),
        (Shell::Fish, "msgspool.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "msgspool", &mut script);
        written.push(write(&completions.join(name), &script)?);
    }
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    std::fs::write(path, bytes)?;
    Ok(path.to_owned())
}
