//! Several daemons on one PostgreSQL database: exactly one leads, another takes over when
//! the leader's task dies, a stopping leader resigns; and `msgspool migrate` on a
//! PostgreSQL database through the real binary. Needs PostgreSQL (skipped only with
//! MSGSPOOL_PG_TESTS=0).

#[path = "common/pg.rs"]
mod pg;

use std::time::{Duration, Instant};

use msgspool::store::Store;
use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use tokio::sync::watch;

/// The lease (and so the leader's term) the tests run with: turns every second.
const LEASE: Duration = Duration::from_secs(3);

async fn node(url: &str, name: &str) -> Store {
    let target = PgTarget::parse(url).expect("the test URL parses");
    let settings = PgSettings {
        node: name.to_owned(),
        lease: LEASE,
        pool_size: 2,
        workspace: "ws".to_owned(),
        migrate: true,
    };
    Store::on(PgStore::connect(&target, settings).await.expect("connect"))
}

/// The node holding a live term, per the `cluster` view.
async fn leaders(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query("SELECT node FROM cluster WHERE leader ORDER BY node", &[])
        .await
        .expect("read the cluster view")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Waits (bounded) until `check` holds on the leaders; returns them.
async fn until_leaders(
    client: &tokio_postgres::Client,
    within: Duration,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let now = leaders(client).await;
        if check(&now) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_exactly_one_leader_and_another_takes_over_when_it_dies() {
    if !pg::enabled() {
        return;
    }
    let cluster = pg::cluster();
    let url = cluster.fresh_database().await;
    let client = cluster.client(&url).await;
    let mut nodes = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let store = node(&url, name).await;
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = store
            .start_cluster(stop_rx)
            .expect("PostgreSQL runs cluster work");
        nodes.push((name, store, stop_tx, task));
    }
    let first = until_leaders(&client, Duration::from_secs(10), |l| l.len() == 1).await;
    assert_eq!(first.len(), 1, "exactly one leader: {first:?}");
    // Every node has turned a few times by now: still one, and the flags agree.
    tokio::time::sleep(LEASE).await;
    assert_eq!(leaders(&client).await, first);
    let flagged: Vec<&str> = nodes
        .iter()
        .filter(|(_, s, _, _)| s.cluster_leader())
        .map(|(n, _, _, _)| *n)
        .collect();
    assert_eq!(flagged, [first[0].as_str()]);
    let alive: i64 = client
        .query_one("SELECT COUNT(*) FROM cluster", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(alive, 3, "every node has its row");

    // The leader's task dies without resigning: its term runs out, another node leads.
    let at = nodes.iter().position(|(n, ..)| *n == first[0]).unwrap();
    let (_, _, _, task) = nodes.remove(at);
    task.abort();
    let died = Instant::now();
    let second = until_leaders(&client, LEASE * 2 + Duration::from_secs(5), |l| {
        l.len() == 1 && l[0] != first[0]
    })
    .await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second[0], first[0]);
    assert!(
        died.elapsed() < LEASE * 2 + Duration::from_secs(5),
        "took {:?}",
        died.elapsed()
    );
    let term: i64 = client
        .query_one("SELECT term FROM leader WHERE name = 'msgspool'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(term >= 2, "a new term: {term}");

    // A leader that stops resigns and removes its row: the last one leads well within
    // a term.
    let at = nodes.iter().position(|(n, ..)| *n == second[0]).unwrap();
    let (_, _, stop, task) = nodes.remove(at);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the cluster task stops")
        .unwrap();
    let gone: i64 = client
        .query_one("SELECT COUNT(*) FROM nodes WHERE name = $1", &[&second[0]])
        .await
        .unwrap()
        .get(0);
    assert_eq!(gone, 0, "a stopped node removes its row");
    let last = nodes[0].0.to_owned();
    let third = until_leaders(&client, Duration::from_secs(10), |l| l == [last.clone()]).await;
    assert_eq!(third, [last]);
    for (_, _, stop, task) in nodes {
        stop.send(true).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgspool_migrate_brings_a_postgresql_database_to_this_version() {
    if !pg::enabled() {
        return;
    }
    let cluster = pg::cluster();
    let url = cluster.fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "spool = \"{}\"\n[postgres]\nurl = \"{url}\"\nnode = \"m1\"\n[channels.w]\nid = \"c\"\n",
            dir.path().join("spool").display()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_msgspool");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .expect("run msgspool")
    };
    let config_arg = config.display().to_string();
    // Not migrated yet: operator commands refuse it.
    let out = run(&["stats", "--config", &config_arg]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(&["migrate", "--config", &config_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains(&format!(
            "at schema version {}",
            msgspool::store::postgres::PG_KNOWN_VERSION
        )),
        "{stdout}"
    );
    let client = cluster.client(&url).await;
    let version: i64 = client
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, msgspool::store::postgres::PG_KNOWN_VERSION);
    // Again, with --database: nothing to do, same answer.
    let out = run(&["migrate", "--database", &url]);
    assert!(out.status.success(), "{out:?}");
    // A newer database is refused and left as it was.
    client
        .batch_execute("INSERT INTO schema_version VALUES (999, now(), 'future', 'newer')")
        .await
        .unwrap();
    let out = run(&["migrate", "--database", &url]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("999"), "{stderr}");
}

#[test]
fn a_password_never_reaches_the_output_of_a_failing_command() {
    // No server is needed: the connection fails, and the message must not carry the
    // password from the URL or from the password file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg-password");
    std::fs::write(&file, "file-s3cret-77").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[postgres]\nurl = \"postgres://msg:url-s3cret-66@127.0.0.1:1/queue?sslmode=disable&connect_timeout=2\"\npassword_file = \"{}\"\n[channels.w]\nid = \"c\"\n",
            file.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["stats", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("postgres://msg@127.0.0.1"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_pokes_dispatch_and_a_cut_connection_listens_again() {
    if !pg::enabled() {
        return;
    }
    let cluster = pg::cluster();
    let url = cluster.fresh_database().await;
    let store = node(&url, "l1").await;
    let waker = std::sync::Arc::new(tokio::sync::Notify::new());
    store.watch_new_sends(waker.clone());
    let poked = |what: &'static str| {
        let waker = waker.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(15), waker.notified())
                .await
                .unwrap_or_else(|_| panic!("no poke: {what}"));
        }
    };
    // Listening pokes once (what was stored before it listened), then once per NOTIFY.
    poked("on listening").await;
    cluster
        .exec(&url, "SELECT pg_notify('msgspool_due', '')")
        .await;
    poked("on a notification").await;
    // The server cuts the listener: it connects again, pokes, and hears the next one.
    cluster
        .exec(
            &url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
        )
        .await;
    poked("after listening again").await;
    cluster
        .exec(&url, "SELECT pg_notify('msgspool_due', '')")
        .await;
    poked("on a notification after the cut").await;
}
