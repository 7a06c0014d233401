use super::*;

const RTT: Duration = Duration::from_millis(400);

/// Answers `n` requests, each `rtt` long, `spacing` apart from `t`; returns the end time.
fn answer(w: &mut Window, t: Instant, n: usize, rtt: Duration, spacing: Duration) -> Instant {
    let mut now = t;
    for _ in 0..n {
        now += spacing;
        w.on_answer(now, rtt, false);
    }
    now
}

#[test]
fn a_full_window_with_flat_round_trips_doubles_then_stops_at_the_cap() {
    let mut w = Window::new(256);
    assert_eq!(w.size(), INITIAL);
    w.note_full(true);
    let t = answer(
        &mut w,
        Instant::now(),
        INITIAL,
        RTT,
        Duration::from_millis(1),
    );
    assert_eq!(w.size(), 2 * INITIAL);
    answer(&mut w, t, 1_000, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), 256);
}

#[test]
fn a_window_that_is_not_full_does_not_grow() {
    // The token bucket (or a lack of due sends) holds sends back, not the window.
    let mut w = Window::new(256);
    w.note_full(false);
    answer(&mut w, Instant::now(), 1_000, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), INITIAL);
}

#[test]
fn growing_round_trips_stop_the_growth() {
    let mut w = Window::new(256);
    w.note_full(true);
    let t = answer(&mut w, Instant::now(), 1, RTT, Duration::ZERO);
    let before = w.size();
    answer(&mut w, t, 100, RTT * 3, Duration::from_millis(1));
    assert_eq!(w.size(), before);
}

#[test]
fn congestion_halves_the_window_once_per_round_trip() {
    let mut w = Window::new(256);
    w.note_full(true);
    let t0 = Instant::now();
    let t = answer(&mut w, t0, 200, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), 232);
    for i in 0..50 {
        w.on_answer(t + Duration::from_millis(i), RTT, true);
    }
    assert_eq!(w.size(), 116);
    w.on_answer(t + RTT, RTT, true);
    assert_eq!(w.size(), 58);
}

#[test]
fn above_the_threshold_after_a_cut_the_window_grows_by_one_per_round_trip() {
    let mut w = Window::new(256);
    w.note_full(true);
    let t = answer(&mut w, Instant::now(), 200, RTT, Duration::from_millis(1));
    w.on_answer(t, RTT, true);
    let after_cut = w.size();
    // A window's worth of answers is one round trip (the window grows a little within it).
    let t = answer(&mut w, t, after_cut + 2, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), after_cut + 1);
    answer(&mut w, t, after_cut / 2, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), after_cut + 1);
}

#[test]
fn repeated_failures_leave_one_request_in_flight_never_none() {
    let mut w = Window::new(256);
    let mut t = Instant::now();
    for _ in 0..100 {
        t += Duration::from_secs(1);
        w.on_answer(t, Duration::from_secs(30), true);
    }
    assert_eq!(w.size(), 1);
    // Recovery doubles back up to the initial window.
    w.note_full(true);
    answer(&mut w, t, 31, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), INITIAL);
}

#[test]
fn a_lower_cap_shrinks_the_window_at_once_and_a_cap_of_zero_means_one() {
    let mut w = Window::new(256);
    w.set_cap(4);
    assert_eq!(w.size(), 4);
    w.note_full(true);
    answer(&mut w, Instant::now(), 100, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), 4);
    assert_eq!(Window::new(0).size(), 1);
    w.set_cap(0);
    assert_eq!(w.size(), 1);
}

#[test]
fn a_raised_cap_lets_the_window_double_up_to_it() {
    let mut w = Window::new(32);
    w.set_cap(256);
    w.note_full(true);
    answer(&mut w, Instant::now(), 32, RTT, Duration::from_millis(1));
    assert_eq!(w.size(), 64);
}

#[test]
fn a_cap_below_the_initial_window_starts_at_the_cap() {
    assert_eq!(Window::new(8).size(), 8);
}

#[test]
fn timeouts_5xx_and_429_are_congestion_answers_are_not() {
    let transport = SendResult::Transport {
        detail: "timeout".into(),
    };
    let server = SendResult::ServerError {
        http_status: 503,
        detail: String::new(),
    };
    let throttled = SendResult::Throttled { retry_after: None };
    let accepted = SendResult::Accepted {
        message_id: "m".into(),
        status: "accepted".into(),
    };
    assert!(congested(&transport) && congested(&server) && congested(&throttled));
    assert!(!congested(&accepted));
}
