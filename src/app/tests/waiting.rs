//! A preview the worker has not answered: the status line counts the
//! seconds after about 2 s, and Esc then stops waiting (the worker
//! reconnects); a quick Esc still just closes the preview.

use std::time::Instant;

use super::*;

#[test]
fn the_waiting_text_starts_after_about_two_seconds() {
    let since = Instant::now();
    let at = |s| since + Duration::from_secs(s);
    assert_eq!(waiting_text(at(0), since), None);
    assert_eq!(waiting_text(at(2), since), None);
    assert_eq!(
        waiting_text(at(3), since).as_deref(),
        Some("waiting 3 s for the server")
    );
    assert_eq!(
        waiting_text(at(61), since).as_deref(),
        Some("waiting 61 s for the server")
    );
}

#[test]
fn a_slow_preview_is_shown_waiting_and_esc_cancels_it() {
    let mut a = app(5);
    let t0 = Instant::now();
    assert!(!a.clock(t0), "nothing waits");
    assert_eq!(a.waiting_since(), None);
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    let cancel = match requests(&fx)[..] {
        [Request::Preview { cancel, .. }] => cancel.clone(),
        ref other => panic!("{other:?}"),
    };
    a.clock(t0);
    assert_eq!(a.waiting_since(), Some(t0));
    assert!(!a.clock(t0 + Duration::from_secs(2)));
    assert!(!a.status_lines().concat().contains("waiting"));
    assert!(a.clock(t0 + Duration::from_secs(3)));
    assert!(
        a.status_lines()
            .concat()
            .contains("waiting 3 s for the server"),
        "{:?}",
        a.status_lines()
    );
    // Moving on asks for another preview under the same wait.
    let fx = send(&mut a, [key('j')]);
    let second = match requests(&fx)[..] {
        [Request::Preview { cancel, .. }] => cancel.clone(),
        ref other => panic!("{other:?}"),
    };
    assert_eq!(a.waiting_since(), Some(t0), "the wait goes on");
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    // What the runtime does with the effect.
    for e in &fx {
        if let Effect::Cancel(t) = e {
            t.cancel();
        }
    }
    assert!(
        cancel.is_cancelled() && second.is_cancelled(),
        "Esc cancelled both previews asked while waiting: {fx:?}"
    );
    assert!(a.screen.preview.is_none());
    assert_eq!(a.waiting_since(), None);
    assert!(
        a.status_lines()
            .concat()
            .contains("cancelled; reconnecting")
    );
    assert!(
        !a.clock(t0 + Duration::from_secs(9)),
        "nothing waits any more"
    );
}

#[test]
fn a_quick_esc_closes_the_preview_without_cancelling() {
    let mut a = app(5);
    let t0 = Instant::now();
    send(&mut a, [code(KeyCode::Enter)]);
    a.clock(t0);
    a.clock(t0 + Duration::from_secs(1));
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.screen.preview.is_none());
    assert!(!fx.iter().any(|e| matches!(e, Effect::Cancel(_))), "{fx:?}");
}

#[test]
fn a_reply_ends_the_wait() {
    let mut a = app(5);
    let t0 = Instant::now();
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    let id = match requests(&fx)[..] {
        [Request::Preview { id, .. }] => *id,
        ref other => panic!("{other:?}"),
    };
    a.clock(t0);
    a.clock(t0 + Duration::from_secs(4));
    let pv = crate::mail::preview(b"Subject: x\r\n\r\nhi\r\n", Some(20));
    let number = selected(&a);
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id,
            number,
            result: Ok(pv),
        }),
    );
    assert_eq!(a.waiting_since(), None);
    assert!(!a.status_lines().concat().contains("waiting"));
}
