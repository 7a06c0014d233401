//! Shared helpers of the end-to-end tests: the fake Bird server and the real daemon.

pub mod daemon;
pub mod fake_bird;
