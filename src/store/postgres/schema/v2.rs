//! PostgreSQL migration 2: sends lose the index on (state, next_attempt_at).
//!
//! Every question it answered has a narrower index (due sends: `sends_due`; leases:
//! `sends_by_lease`), or reads the whole table anyway (counts by state). Kept, it made
//! every state change of a send one more index insertion, and it misled the planner right
//! after a large intake (statistics not yet gathered): the check "is anything of this job
//! still pending" combined it with the job's index in a bitmap over every pending send,
//! about half a millisecond per finished send.

pub(super) const V2_DROP_STATE_INDEX: &str = "
DROP INDEX IF EXISTS sends_by_state_and_next_attempt;
";
