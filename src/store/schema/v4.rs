//! Migration 4: the same CHECK constraints, said without IN lists.
//!
//! SQLite checks `x IN ('a', 'b', 'c')` (three words or more) by building a temporary
//! b-tree of the words, every time a statement checks the constraint. Each send's accept,
//! claim and outcome check five such lists: in the `cpu` benchmark those temporary trees
//! were about a quarter of the writer thread's instructions. An `x = 'a' OR x = 'b' ...`
//! chain allows exactly the same values (NULL included, which every CHECK lets through) at
//! a few comparisons each, so every stored row stays valid and only the schema text
//! changes, through [`super::v2::rewrite_checks`]. Two-word lists (`kind`) are compared
//! directly by SQLite already and stay as they are.

/// `(table, old text, new text)`, the old text exactly as migrations 1–3 left it.
pub(super) const V4_CHECKS: &[(&str, &str, &str)] = &[
    (
        "jobs",
        "CHECK (state IN ('active', 'finished', 'canceled', 'broken'))",
        "CHECK (state = 'active' OR state = 'finished' OR state = 'canceled' OR state = 'broken')",
    ),
    (
        "sends",
        "CHECK (state IN ('scheduled', 'sending', 'sent', 'failed', 'expired', 'canceled', 'replaced'))",
        "CHECK (state = 'scheduled' OR state = 'sending' OR state = 'sent' OR state = 'failed'
                           OR state = 'expired' OR state = 'canceled' OR state = 'replaced')",
    ),
    (
        "sends",
        "CHECK (delivery_status IN ('accepted', 'scheduled', 'processing', 'sent', 'delivered',
           'read', 'sending_failed', 'delivery_failed', 'rejected', 'skipped', 'deleted'))",
        "CHECK (delivery_status = 'accepted' OR delivery_status = 'scheduled'
           OR delivery_status = 'processing' OR delivery_status = 'sent'
           OR delivery_status = 'delivered' OR delivery_status = 'read'
           OR delivery_status = 'sending_failed' OR delivery_status = 'delivery_failed'
           OR delivery_status = 'rejected' OR delivery_status = 'skipped'
           OR delivery_status = 'deleted')",
    ),
    (
        "attempts",
        "CHECK (outcome IN
                ('sent', 'retry', 'throttled', 'failed', 'unauthorized', 'redirected', 'expired', 'interrupted', 'unknown', 'reconciled', 'not_found'))",
        "CHECK (outcome = 'sent' OR outcome = 'retry' OR outcome = 'throttled'
                OR outcome = 'failed' OR outcome = 'unauthorized' OR outcome = 'redirected'
                OR outcome = 'expired' OR outcome = 'interrupted' OR outcome = 'unknown'
                OR outcome = 'reconciled' OR outcome = 'not_found')",
    ),
    (
        "delivery_events",
        "CHECK (status IN ('accepted', 'scheduled', 'processing', 'sent',
                'delivered', 'read', 'sending_failed', 'delivery_failed', 'rejected',
                'skipped', 'deleted'))",
        "CHECK (status = 'accepted' OR status = 'scheduled' OR status = 'processing'
                OR status = 'sent' OR status = 'delivered' OR status = 'read'
                OR status = 'sending_failed' OR status = 'delivery_failed'
                OR status = 'rejected' OR status = 'skipped' OR status = 'deleted')",
    ),
    (
        "delivery_events",
        "CHECK (source IN ('post', 'reconcile', 'poll', 'webhook'))",
        "CHECK (source = 'post' OR source = 'reconcile' OR source = 'poll' OR source = 'webhook')",
    ),
];
