//! A real daemon on a PostgreSQL database of the test cluster (`pg.rs`), for the
//! multi-daemon tests and the PostgreSQL benchmark; and reading that database as text.
#![allow(dead_code)]

use crate::common::daemon::Daemon;
use crate::common::fake_bird::FakeBird;
use crate::pg;

/// Longer than `request_timeout` (5 s in these configs), short enough for a test to wait.
pub const LEASE: &str = "8s";

/// A daemon on `url` with its own folder and spool.
pub fn daemon_on(fake: &FakeBird, url: &str, rate_limit: u32, max_in_flight: usize) -> Daemon {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("spool")).expect("spool");
    let cfg = fake.config();
    let text = format!(
        "spool = {:?}\nrescan_interval = \"1s\"\nshutdown_grace = \"5s\"\n\n[postgres]\nurl = {url:?}\nlease = {LEASE:?}\npool_size = 32\n\n[bird]\nbase_url = {:?}\nworkspace_id = {:?}\nrate_limit = {rate_limit}\nmax_in_flight = {max_in_flight}\nrequest_timeout = \"5s\"\n\n[channels.whatsapp]\nid = {:?}\nkind = \"transactional\"\n\n[schedule]\nimmediate_window = \"0s\"\n\n[retry]\nmax_attempts = 50\ninitial = \"100ms\"\nmax = \"1s\"\n",
        dir.path().join("spool"),
        fake.base_url(),
        cfg.workspace_id,
        cfg.channel_id,
    );
    std::fs::write(dir.path().join("config.toml"), text).expect("config");
    let mut d = Daemon {
        dir,
        child: None,
        extra_config: String::new(),
        env: Vec::new(),
        unset: Vec::new(),
    };
    d.spawn();
    d
}

/// Rows of a query on `url`, every column as text (NULL as "").
pub fn rows(rt: &tokio::runtime::Runtime, url: &str, sql: &str) -> Vec<Vec<String>> {
    rt.block_on(async {
        let client = pg::cluster().client(url).await;
        let messages = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("").to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
}

pub fn one(rt: &tokio::runtime::Runtime, url: &str, sql: &str) -> String {
    rows(rt, url, sql)
        .first()
        .and_then(|r| r.first().cloned())
        .unwrap_or_default()
}
