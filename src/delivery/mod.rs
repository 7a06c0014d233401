//! Delivery: what happened to a message after Bird took it.
//!
//! Owns [`poll`] (the task that looks sent messages up at Bird on a backoff schedule, within
//! the workspace's GET budget ([`crate::dispatch::GetBudget`], shared with reconciliation),
//! behind sends). Trusts the store for what was sent and for Bird's statuses
//! ([`DeliveryStatus`], stored words that only move forward) and
//! `bird` for Bird's answers. Guarantees: every status reaches the database through
//! [`crate::store::DeliveryBackend::record_delivery`] or `record_poll`, which never move a status back.

pub mod poll;

pub use crate::store::DeliveryStatus;
