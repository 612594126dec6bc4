//! A preview the server does not answer: a real `App` shows it waiting,
//! Esc cancels it (long before the reply's deadline), the worker
//! reconnects by itself, and the preview of another message then works.

use std::time::Instant;

use super::*;

/// Feeds the worker's events to `app` and carries out its effects (as
/// the TUI's loop does) until `done` holds; generous outer bound.
async fn pump_until(
    app: &mut App,
    tx: &mpsc::Sender<Request>,
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(app) {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("the worker ended");
        let fx = update(app, Msg::Worker(e));
        carry_out(tx, fx);
    }
}

fn carry_out(tx: &mpsc::Sender<Request>, fx: Vec<Effect>) {
    for e in fx {
        match e {
            Effect::Pop(r) => tx.try_send(r).unwrap(),
            Effect::Cancel(t) => t.cancel(),
            _ => {}
        }
    }
}

fn press(app: &mut App, tx: &mpsc::Sender<Request>, code: KeyCode) {
    let fx = update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    carry_out(tx, fx);
}

fn preview_ready(app: &App, number: u32) -> bool {
    app.screen.preview.as_ref().is_some_and(|p| {
        p.number == number && matches!(p.content, popdoc::app::PreviewContent::Ready(_))
    })
}

#[tokio::test]
async fn esc_cancels_a_stalled_preview_and_the_next_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        stall_at: Some("TOP 2 10".into()),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 3, faults).await;
    // A long reply deadline: only Esc ends the wait within the test.
    let account = actor::account(
        "test",
        s.port(),
        "u",
        "p",
        Security::Plaintext,
        Duration::from_secs(600),
    );
    let (tx, mut rx, task) = spawn(account, "p".into(), false);
    let mut app = App::new(
        "test".into(),
        std::path::PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut app, Msg::Resize(80, 24));
    pump_until(&mut app, &tx, &mut rx, "the headers", |a| {
        a.list.listed && a.list.headers_done == 3
    })
    .await;
    let logins = || {
        s.received()
            .iter()
            .filter(|l| {
                ["USER ", "APOP ", "AUTH "]
                    .iter()
                    .any(|p| l.starts_with(*p))
            })
            .count()
    };
    assert_eq!(logins(), 1, "{:?}", s.received());

    // Message 2's preview is never answered.
    press(&mut app, &tx, KeyCode::Char('j'));
    press(&mut app, &tx, KeyCode::Enter);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !s.received().iter().any(|l| l == "TOP 2 10") {
        assert!(tokio::time::Instant::now() < deadline, "no TOP 2 10 sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The runtime's clock: 3 s later the status line says it waits.
    let t0 = Instant::now();
    app.clock(t0);
    app.clock(t0 + Duration::from_secs(3));
    assert!(
        app.status_lines()
            .concat()
            .contains("waiting 3 s for the server"),
        "{:?}",
        app.status_lines()
    );

    // Esc cancels it; the worker reconnects by itself.
    press(&mut app, &tx, KeyCode::Esc);
    assert!(app.screen.preview.is_none());
    assert_eq!(app.waiting_since(), None);
    assert!(
        app.status_lines()
            .concat()
            .contains("cancelled; reconnecting")
    );
    pump_until(&mut app, &tx, &mut rx, "the reconnect", |_| logins() == 2).await;
    pump_until(&mut app, &tx, &mut rx, "the new listing", |a| {
        a.link == popdoc::app::Link::Ready && a.list.listed
    })
    .await;

    // The preview of another message works over the new connection.
    press(&mut app, &tx, KeyCode::Char('j'));
    press(&mut app, &tx, KeyCode::Enter);
    pump_until(&mut app, &tx, &mut rx, "message 3's preview", |a| {
        preview_ready(a, 3)
    })
    .await;
    let received = s.received();
    let count = |c: &str| received.iter().filter(|l| *l == c).count();
    assert_eq!(count("TOP 2 10"), 1, "{received:?}");
    assert_eq!(count("TOP 3 10"), 1, "{received:?}");
    assert_eq!(logins(), 2, "one reconnect");

    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
}
