//! Named crash points for recovery tests: `MSGSPOOL_CRASH_AT=NAME` makes the process abort
//! (no clean-up, like kill -9) when it reaches the point called NAME. Compiled only into
//! debug builds; a release binary ignores the variable.

/// Aborts the process here when `MSGSPOOL_CRASH_AT` names this point (debug builds only).
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("MSGSPOOL_CRASH_AT").is_ok_and(|at| at == name) {
        eprintln!("msgspool: crash point {name} reached (MSGSPOOL_CRASH_AT): aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
