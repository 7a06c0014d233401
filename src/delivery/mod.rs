//! Delivery: what happened to a message after Bird took it.
//!
//! Owns [`budget`] (the workspace's GET budget, shared with reconciliation), [`status`] (Bird's statuses and the rule that they only move forward) and
//! [`poll`] (the task that looks sent messages up at Bird on a backoff schedule, within
//! the workspace's GET budget, behind sends). Trusts the store for what was sent and
//! `bird` for Bird's answers. Guarantees: every status reaches the database through
//! [`crate::store::Store::record_delivery`] or `record_poll`, which never move a status back.

pub mod budget;
pub mod poll;
pub mod status;

pub use budget::GetBudget;
pub use status::DeliveryStatus;
