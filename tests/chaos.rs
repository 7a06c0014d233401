//! Bounded chaos: the real binary against the fake Bird answering 5xx, 429, slow answers,
//! dropped connections and answers dropped after acceptance, while jobs keep arriving and
//! the daemon is killed with SIGKILL 17 times and stopped with SIGTERM 3 times over about
//! a minute. Afterwards: every job taken in is delivered, none after its expiry, and every
//! duplicate at the fake is explained (in flight at a kill, or its answer was dropped after
//! Bird accepted it); the explanation of each is printed.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, parse_time, text_job};
use common::fake_bird::{FakeBird, FakeConfig, Fault};

const JOBS: usize = 240;
const KILLS: usize = 20;
/// Of the [`KILLS`] interruptions, these are SIGTERM; the others SIGKILL.
const TERMS: [usize; 3] = [4, 11, 17];
const CHAOS: Duration = Duration::from_secs(55);
/// A loaded machine makes stops and restarts slower; the chaos phase then runs on (up to
/// this long) until every kill has happened, rather than failing for want of time.
const CHAOS_AT_MOST: Duration = Duration::from_secs(150);

/// A small deterministic generator (xorshift64*), seeded from the clock and printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_fault(rng: &mut Rng) -> Option<Fault> {
    Some(match rng.below(12) {
        0 => Fault::Status(500),
        1 => Fault::Status(503),
        2 => Fault::TooManyRequests {
            retry_after: Some(1),
        },
        3 => Fault::AcceptThenDrop,
        4 => Fault::Slow(Duration::from_millis(400)),
        5 => Fault::Drop,
        _ => return None,
    })
}

#[test]
fn under_kills_stops_and_a_faulty_bird_every_job_is_delivered_and_every_duplicate_explained() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    println!("chaos seed {seed:#x}");
    let mut rng = Rng(seed);
    let fake = FakeBird::start_blocking(FakeConfig {
        latency: Duration::from_millis(20),
        ..FakeConfig::default()
    });
    let extra = "[retry]\nmax_attempts = 1000\ninitial = \"50ms\"\nmax = \"1s\"\n";
    let mut d = Daemon::start_tuned(&fake, extra, 8);
    assert!(d.wait_started(Duration::from_secs(30)), "log:\n{}", d.log());

    let began = Instant::now();
    let mut dropped = 0;
    let mut interruptions = 0;
    let mut next_interruption = began + Duration::from_millis(1500);
    while began.elapsed() < CHAOS || (interruptions < KILLS && began.elapsed() < CHAOS_AT_MOST) {
        // Jobs keep arriving through the kills; Bird keeps misbehaving.
        if dropped < JOBS && rng.below(3) == 0 {
            d.drop_job(&format!("chaos-{dropped:03}.toml"), &text_job(""));
            dropped += 1;
        }
        if fake.pending_faults() < 5
            && let Some(fault) = random_fault(&mut rng)
        {
            fake.push_fault(fault);
        }
        if interruptions < KILLS && Instant::now() >= next_interruption {
            if TERMS.contains(&interruptions) {
                let code = d.stop(Duration::from_secs(20));
                assert_eq!(code, Some(0), "SIGTERM #{interruptions}; log:\n{}", d.log());
            } else {
                d.kill9();
            }
            interruptions += 1;
            d.spawn();
            let gap = 1500 + rng.below(2000);
            next_interruption = Instant::now() + Duration::from_millis(gap);
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    while dropped < JOBS {
        d.drop_job(&format!("chaos-{dropped:03}.toml"), &text_job(""));
        dropped += 1;
    }
    assert_eq!(
        interruptions, KILLS,
        "the chaos phase was too short for every kill"
    );

    // Calm: Bird answers normally, the daemon finishes the queue.
    fake.clear_faults();
    let all_sent = || {
        d.query("SELECT count(*) FROM sends WHERE state = 'sent'")
            .first()
            .is_some_and(|r| r[0] == JOBS.to_string())
    };
    assert!(
        d.eventually(Duration::from_secs(25), all_sent),
        "not every job was delivered: {:?}; log tail:\n{}",
        d.query("SELECT state, count(*) FROM sends GROUP BY state"),
        d.log()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(d.stop(Duration::from_secs(20)), Some(0));

    // Every file became one job with one send; nothing is left in the spool.
    let jobs = d.query("SELECT count(*) FROM jobs");
    assert_eq!(jobs[0][0], JOBS.to_string());
    let left: Vec<_> = std::fs::read_dir(d.spool())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".toml"))
        .collect();
    assert!(left.is_empty(), "files left in the spool: {left:?}");

    // Each send by its reference: its expiry and whether it was ever interrupted.
    let sends: HashMap<String, (String, String, usize)> = d
        .query(
            "SELECT s.reference, s.job_id, s.expires_at,
                    (SELECT count(*) FROM attempts a WHERE a.send_id = s.id AND a.outcome = 'interrupted')
             FROM sends s",
        )
        .into_iter()
        .map(|r| {
            let interrupted = r[3].parse().unwrap_or(0);
            (r[0].clone(), (r[1].clone(), r[2].clone(), interrupted))
        })
        .collect();
    // What Bird holds: every message it took, also those whose answer never left (a
    // request cut by a kill, a dropped answer), which reconciliation finds.
    let mut accepted: BTreeMap<String, Vec<common::fake_bird::StoredMessage>> = BTreeMap::new();
    for m in fake.stored_messages() {
        let reference = m.reference.clone().unwrap_or_default();
        accepted.entry(reference).or_default().push(m);
    }
    let mut dropped_answers: HashMap<String, usize> = HashMap::new();
    for r in fake.accepted().iter().filter(|r| r.dropped_after_accept) {
        let reference = r.body["reference"].as_str().unwrap_or_default().to_owned();
        *dropped_answers.entry(reference).or_default() += 1;
    }
    for (reference, (job, expires, _)) in &sends {
        let got = accepted.get(reference).map_or(0, Vec::len);
        assert!(got >= 1, "job {job} was never accepted by Bird");
        let expires = parse_time(expires);
        for m in &accepted[reference] {
            assert!(m.created_at <= expires, "job {job} posted after its expiry");
        }
    }
    let mut duplicates = 0;
    for (reference, posts) in &accepted {
        let (job, _, interrupted) = sends
            .get(reference)
            .unwrap_or_else(|| panic!("Bird accepted an unknown reference {reference}"));
        if posts.len() < 2 {
            continue;
        }
        duplicates += posts.len() - 1;
        let dropped_after_accept = dropped_answers.get(reference).copied().unwrap_or(0);
        let mut why = Vec::new();
        if dropped_after_accept > 0 {
            why.push(format!(
                "{dropped_after_accept} answer(s) dropped after Bird accepted"
            ));
        }
        if *interrupted > 0 {
            why.push(format!(
                "{interrupted} request(s) in flight when the daemon was killed or stopped (interrupted attempts)"
            ));
        }
        println!(
            "duplicate: job {job} accepted {} times: {}",
            posts.len(),
            if why.is_empty() {
                "UNEXPLAINED".to_owned()
            } else {
                why.join("; ")
            }
        );
        // Each extra post needs its own cause: a dropped answer or an interruption.
        assert!(
            posts.len() - 1 <= dropped_after_accept + interrupted,
            "job {job} was accepted {} times; only {} of the extra posts are explained",
            posts.len(),
            dropped_after_accept + interrupted
        );
    }
    println!(
        "chaos: {JOBS} jobs delivered through {KILLS} interruptions ({} SIGTERM) in {:?}; {duplicates} duplicate(s), all explained",
        TERMS.len(),
        began.elapsed()
    );
}
