//! A recurring job never silently ends: kill -9 right after a send's outcome is recorded
//! leaves its next occurrence in place; a job whose next occurrence was lost gets one at
//! start-up; a job that no longer passes the rules is `broken` (visible, loud) and resumes
//! when a reload makes it valid again.

mod common;

use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, sqlite3, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const LONG: Duration = Duration::from_secs(30);
const EVERY_TWO_SECONDS: &str = "cron = \"*/2 * * * * *\"";

fn open_sends(d: &Daemon) -> String {
    d.one("SELECT count(*) FROM sends WHERE job_id = 'tick' AND state IN ('scheduled', 'sending')")
}

#[test]
fn kill_at_the_crash_point_after_a_cron_outcome_keeps_the_next_occurrence_and_a_restart_resumes() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start_with_env(&fake, "", &[("MSGSPOOL_CRASH_AT", "after_outcome")]);
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("tick.toml", &text_job(EVERY_TWO_SECONDS));
    // The first 202 is recorded, then the process aborts at the crash point.
    let code = d.wait(LONG);
    assert_ne!(
        code,
        Some(0),
        "the crash point was not reached; log:\n{}",
        d.log()
    );
    assert!(
        d.log().contains("crash point after_outcome"),
        "log:\n{}",
        d.log()
    );
    assert_eq!(fake.accepted_count(), 1);
    assert_eq!(
        d.one("SELECT count(*) FROM sends WHERE job_id = 'tick' AND state = 'sent'"),
        "1"
    );
    assert_eq!(open_sends(&d), "1", "the next occurrence was lost");
    assert_eq!(d.one("SELECT state FROM jobs WHERE id = 'tick'"), "active");

    d.env.clear();
    d.spawn();
    assert!(
        fake.wait_for_blocking(3, LONG),
        "the schedule did not resume; log:\n{}",
        d.log()
    );
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn a_cron_job_left_without_a_next_occurrence_gets_one_at_start_up() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job("tick.toml", &text_job(EVERY_TWO_SECONDS));
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());
    assert_eq!(d.stop(LONG), Some(0));
    // What the old two-transaction code left after a crash: the job finished, nothing open.
    let out = sqlite3(
        &d.database(),
        "DELETE FROM sends WHERE job_id = 'tick' AND state = 'scheduled';
         UPDATE jobs SET state = 'finished' WHERE id = 'tick';",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(open_sends(&d), "0");
    let before = fake.accepted_count();
    d.spawn();
    assert!(
        fake.wait_for_blocking(before + 2, LONG),
        "the schedule was not repaired; log:\n{}",
        d.log()
    );
    assert!(
        d.log().contains("had no next occurrence"),
        "log:\n{}",
        d.log()
    );
    assert_eq!(d.one("SELECT state FROM jobs WHERE id = 'tick'"), "active");
    assert_eq!(d.stop(LONG), Some(0));
}

#[test]
fn a_renamed_channel_on_reload_breaks_a_cron_job_visibly_and_restoring_it_resumes_the_sends() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let mut d = Daemon::start(&fake, "");
    assert!(d.wait_started(LONG), "log:\n{}", d.log());
    d.drop_job(
        "tick.toml",
        &text_job(&format!("{EVERY_TWO_SECONDS}\nchannel = \"whatsapp\"")),
    );
    assert!(fake.wait_for_blocking(1, LONG), "log:\n{}", d.log());

    let good = std::fs::read_to_string(d.config_path()).unwrap();
    let renamed = good.replace("[channels.whatsapp]", "[channels.wa]");
    assert_ne!(good, renamed);
    std::fs::write(d.config_path(), &renamed).unwrap();
    d.signal("HUP");
    assert!(
        d.eventually(LONG, || d.one("SELECT state FROM jobs WHERE id = 'tick'")
            == "broken"),
        "log:\n{}",
        d.log()
    );
    let reason = d.one("SELECT broken_reason FROM jobs WHERE id = 'tick'");
    assert!(reason.contains("whatsapp"), "{reason}");
    assert!(d.log().contains("BROKEN"), "log:\n{}", d.log());
    let show = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["show", "tick", "--database"])
        .arg(d.database())
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains("broken"), "{show}");
    assert!(show.contains(&reason), "{show}");

    // Nothing goes out while broken; then the channel comes back and so do the sends.
    std::thread::sleep(Duration::from_secs(3));
    let while_broken = fake.accepted_count();
    std::fs::write(d.config_path(), &good).unwrap();
    d.signal("HUP");
    assert!(
        fake.wait_for_blocking(while_broken + 2, LONG),
        "the mended job did not send again; log:\n{}",
        d.log()
    );
    assert_eq!(d.one("SELECT state FROM jobs WHERE id = 'tick'"), "active");
    assert_eq!(
        d.one("SELECT COALESCE(broken_reason, 'none') FROM jobs WHERE id = 'tick'"),
        "none"
    );
    assert_eq!(d.stop(LONG), Some(0));
}
