//! Intake passes against a real spool folder and a real SQLite file.

use std::path::Path;

use super::*;
use crate::store::SendState;

const JOB: &str = "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n\n[body]\ntype = \"text\"\ntext.text = \"Hello\"\n";

fn intake(dir: &Path) -> Intake {
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let text = "settle = \"0s\"\n[channels.whatsapp]\nid = \"ch-1\"\n";
    let config = Config::parse(text, &dir.join("config.toml")).unwrap();
    Intake {
        spool,
        store: Store::open(&dir.join("msgspool.db")).unwrap(),
        config: watch::channel(Arc::new(config)).1,
        dispatch_waker: Arc::new(Notify::new()),
    }
}

fn fill(spool: &Path, n: usize) {
    let later = Utc::now() + chrono::Duration::days(30);
    let top = format!("scheduledFor = \"{}\"\n", later.to_rfc3339());
    for i in 0..n {
        std::fs::write(
            spool.join(format!("job-{i:05}.toml")),
            format!("{top}{JOB}"),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_pass_over_many_files_holds_no_more_than_a_window_and_a_batch_of_names() {
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path());
    let files = 2 * BATCH_FILES + 234;
    let bound = scan::READ_AHEAD + BATCH_FILES;
    assert!(files > bound, "the spool is bigger than what may be held");
    fill(&intake.spool, files);
    let (_stop_tx, stop) = watch::channel(false);
    let report = intake.pass(&Arc::new(Readiness::default()), &stop).await;
    assert_eq!(report.accepted, files, "{report:?}");
    assert!(
        report.most_names_held > 0 && report.most_names_held <= bound,
        "{} names held at once for {files} files",
        report.most_names_held
    );
    let scheduled = intake.store.send_states().await.unwrap();
    assert_eq!(
        scheduled.get(&SendState::Scheduled).copied(),
        Some(files as i64)
    );
    assert_eq!(std::fs::read_dir(&intake.spool).unwrap().count(), 0);
}

#[tokio::test]
async fn a_pass_asked_to_stop_takes_nothing_in_and_the_next_pass_takes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let intake = intake(dir.path());
    let files = BATCH_FILES + 10;
    fill(&intake.spool, files);
    let ready = Arc::new(Readiness::default());
    let (stop_tx, stop) = watch::channel(true);
    let report = intake.pass(&ready, &stop).await;
    assert_eq!(report.accepted, 0, "nothing is taken in once stop is set");
    stop_tx.send(false).unwrap();
    let report = intake.pass(&ready, &stop).await;
    assert_eq!(report.accepted, files, "{report:?}");
}
