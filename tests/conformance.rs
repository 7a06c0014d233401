//! The store's conformance suite: what every backend must do, checked through the
//! [`Backend`] interface alone (a [`Store`] handle), never through SQL or a file.
//!
//! Each case is an `async fn(&Store)` in `tests/conformance/`; `conformance!` runs every
//! case as its own test against one backend. A second backend is tested by adding one
//! line below, as `conformance!(postgres, postgres_fixture);` does, where `postgres_fixture`
//! returns a [`Fixture`] on a fresh, empty database. A new case is added to its file and
//! to the list in `conformance!`.
//!
//! Times are a fixed clock passed in (`now()`), so nothing here waits on the wall clock.

#[path = "conformance/accept.rs"]
mod accept;
#[path = "conformance/claims.rs"]
mod claims;
#[path = "conformance/delivery.rs"]
mod delivery;
#[path = "conformance/fixtures.rs"]
mod fixtures;
#[path = "conformance/operator.rs"]
mod operator;
#[path = "conformance/outcomes.rs"]
mod outcomes;
#[path = "common/pg.rs"]
mod pg;

use msgspool::store::postgres::{PgSettings, PgStore, PgTarget};
use msgspool::store::{Backend, Store};

/// A fresh, empty backend, and whatever must live as long as it (a temp folder).
pub struct Fixture {
    pub store: Store,
    _keep: Box<dyn std::any::Any + Send>,
}

/// The SQLite backend on a new database file in a temp folder.
async fn sqlite_fixture() -> Option<Fixture> {
    Some(sqlite_store())
}

fn sqlite_store() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("conformance.db")).expect("open store");
    Fixture {
        store,
        _keep: Box::new(dir),
    }
}

/// The PostgreSQL backend on a new database in the test cluster (`tests/common/pg.rs`);
/// `None` only when `MSGSPOOL_PG_TESTS=0`.
async fn postgres_fixture() -> Option<Fixture> {
    if !pg::enabled() {
        eprintln!("MSGSPOOL_PG_TESTS=0: PostgreSQL case skipped");
        return None;
    }
    let url = pg::cluster().fresh_database().await;
    let target = PgTarget::parse(&url).expect("the test URL parses");
    let settings = PgSettings {
        node: "conformance".to_owned(),
        lease: std::time::Duration::from_secs(60),
        pool_size: 8,
        workspace: "conformance".to_owned(),
        migrate: true,
    };
    let store = PgStore::connect(&target, settings)
        .await
        .expect("connect and migrate");
    Some(Fixture {
        store: Store::on(store),
        _keep: Box::new(()),
    })
}

/// Runs every case as its own test, in a module named after the backend.
macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            conformance!(@cases $make;
                claims::a_claim_never_returns_a_send_twice,
                claims::concurrent_claimers_never_share_a_send,
                claims::a_send_is_not_claimed_before_its_next_attempt,
                claims::recover_interrupted_schedules_sends_left_sending_due_now,
                claims::recover_interrupted_keeps_the_instant_of_a_send_claimed_ahead,
                claims::requeue_puts_claimed_sends_back_without_counting_an_attempt,
                outcomes::recording_the_same_outcome_twice_changes_nothing_the_second_time,
                outcomes::a_retry_outcome_brings_the_send_back_at_its_next_attempt,
                outcomes::a_job_ends_only_when_its_last_send_being_sent_ends,
                outcomes::cancel_wins_over_a_late_outcome,
                outcomes::the_next_occurrence_commits_with_the_outcome_that_ends_a_send,
                outcomes::a_cron_job_whose_schedule_ended_is_finished,
                outcomes::a_broken_job_gets_no_occurrence_until_it_is_mended,
                accept::an_occurrence_is_stored_once_per_job,
                accept::an_identical_job_accepted_again_is_unchanged,
                accept::new_content_replaces_the_pending_sends,
                accept::new_content_for_a_finished_job_is_a_conflict,
                accept::new_content_while_a_send_is_in_flight_is_a_conflict,
                accept::jobs_accepted_together_are_answered_one_by_one,
                operator::a_canceled_job_is_never_claimed,
                operator::canceling_an_unknown_job_or_send_says_so,
                operator::a_failed_send_is_retried_due_now_with_no_attempts,
                operator::an_expired_send_is_retried_only_with_a_later_expiry,
                operator::a_sent_send_is_not_retried,
                operator::stats_count_every_state_and_what_finished_recently,
                operator::listing_filters_by_state_job_prefix_and_due_time,
                operator::show_tells_a_job_with_its_sends_attempts_and_events,
                delivery::a_delivery_status_only_moves_forward,
                delivery::the_timeline_has_each_status_once_oldest_first,
                delivery::delivery_counts_tell_sent_messages_by_what_became_of_them,
                delivery::a_sent_message_is_polled_after_the_first_wait_until_a_final_status,
                delivery::a_webhook_finds_its_send_by_birds_message_id,
            );
        }
    };
    (@cases $make:expr; $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture): Option<Fixture> = ($make)().await else {
                    return;
                };
                super::$module::$case(&fixture.store).await;
            }
        )+
    };
}

conformance!(sqlite, sqlite_fixture);
conformance!(postgres, postgres_fixture);

/// The interface is all a case may use: a `Store` is a `dyn Backend`.
#[test]
fn a_store_handle_is_the_backend_interface() {
    fn uses_the_interface(_: &dyn Backend) {}
    uses_the_interface(&*sqlite_store().store);
}
