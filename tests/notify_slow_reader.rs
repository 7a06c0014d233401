//! A `NOTIFY_SOCKET` whose reader stops reading after READY=1 (its queue fills up after a
//! few datagrams) must not stop msgspool: 10,000 files are still taken in and sent.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::daemon::{Daemon, text_job};
use common::fake_bird::{FakeBird, FakeConfig};

const N: usize = 10_000;

#[test]
fn a_notify_reader_that_stops_after_ready_does_not_stop_ten_thousand_files_going_out() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let sock_dir = tempfile::tempdir().unwrap();
    let path = sock_dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let path_text = path.display().to_string();
    // Pings every 250 ms: the queue (10 datagrams here) is full within seconds.
    let env = [
        ("NOTIFY_SOCKET", path_text.as_str()),
        ("WATCHDOG_USEC", "500000"),
    ];
    let mut d = Daemon::start_tuned_env(&fake, "", 64, &env);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).expect("READY=1 within a minute");
        if String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "READY=1")
        {
            break;
        }
    }
    // From here on nobody reads: the socket stays open and its queue fills.
    let text = text_job("");
    for i in 0..N {
        d.drop_job(&format!("bulk-{i:05}.toml"), &text);
    }
    assert!(
        fake.wait_for_blocking(N, Duration::from_secs(240)),
        "only {} of {N} sent; log tail:\n{}",
        fake.accepted_count(),
        d.log()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let code = d.stop(Duration::from_secs(30));
    assert_eq!(
        code,
        Some(0),
        "STOPPING=1 into a full queue must not hang the stop"
    );
    drop(socket);
}
