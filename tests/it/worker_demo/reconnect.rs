//! Keeping the session: NOOP while idle, a connection the server closes
//! while idle noticed at once and reopened by the worker itself (waiting
//! out `LOGIN-DELAY`), and a real `App` whose marks survive the drop and
//! whose next commit deletes exactly them, with no `r` pressed.

use super::*;
use popdoc::app::{Dialog, Link};

/// The worker's account, with a keepalive.
fn keeping_alive(port: u16, every: Duration) -> Account {
    Account {
        keepalive: Some(every),
        ..account(port)
    }
}

fn carry(tx: &mpsc::Sender<Request>, effects: Vec<Effect>) {
    for fx in effects {
        if let Effect::Pop(r) = fx {
            tx.try_send(r).unwrap();
        }
    }
}

fn press(app: &mut App, tx: &mpsc::Sender<Request>, c: char) {
    let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    carry(tx, update(app, Msg::Key(key)));
}

/// Runs the app on the worker's events, as the TUI's loop does, until
/// `done` holds.
async fn run_until(
    app: &mut App,
    tx: &mpsc::Sender<Request>,
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(app) {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("the worker ended while waiting for {what}"));
        carry(tx, update(app, Msg::Worker(e)));
    }
}

fn status(app: &App) -> String {
    app.screen
        .status
        .as_ref()
        .map(|s| s.1.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn noop_goes_out_while_idle() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), 2, Faults::default()).await;
    let (_tx, mut rx, _task) = spawn(
        keeping_alive(s.port(), Duration::from_millis(100)),
        "p".into(),
        false,
    );
    listed(&mut rx).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while s.received().iter().filter(|l| *l == "NOOP").count() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", s.received());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_idle_session_the_server_ends_is_noticed_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        autologout_first: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 3, faults).await;
    // No keepalive: nothing is asked, and the drop is still noticed.
    let (_tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    let lost = until(&mut rx, "the drop", |e| match e {
        Event::Disconnected(f) => Some(f),
        _ => None,
    })
    .await;
    assert!(
        lost.text.contains("idle session") && lost.text.contains("inactivity"),
        "{lost}"
    );
    let wait = until(&mut rx, "the backoff", |e| match e {
        Event::Reconnecting(d) => Some(d),
        _ => None,
    })
    .await;
    assert_eq!(wait, Duration::from_secs(1));
    assert_eq!(listed(&mut rx).await.len(), 3, "listed again by itself");
    let lists = s.received().iter().filter(|l| *l == "LIST").count();
    assert_eq!(lists, 2, "{:?}", s.received());
}

#[tokio::test]
async fn the_reconnect_waits_out_the_servers_login_delay() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        autologout_first: Some(Duration::from_millis(300)),
        login_delay: Some(30),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 1, faults).await;
    let (_tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    let wait = until(&mut rx, "the backoff", |e| match e {
        Event::Reconnecting(d) => Some(d),
        _ => None,
    })
    .await;
    assert!(wait > Duration::from_secs(25), "{wait:?}");
}

/// The test: marks set, the connection cut while idle, and the
/// next commit reconnects by itself and deletes exactly the marked
/// messages (by UIDL), with no `r` pressed.
#[tokio::test]
async fn after_an_idle_drop_the_next_commit_deletes_exactly_the_marks() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        autologout_first: Some(Duration::from_millis(400)),
        ..Default::default()
    };
    let (s, mailbox) = server(dir.path(), 6, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let mut app = App::new(
        "test".into(),
        std::path::PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut app, Msg::Resize(80, 24));
    run_until(&mut app, &tx, &mut rx, "the headers", |a| {
        a.list.listed && a.list.headers_done == a.list.rows.len()
    })
    .await;
    // Marks on messages 2 and 5 (`d` moves on to the next).
    for c in ['j', 'd', 'j', 'j', 'd'] {
        press(&mut app, &tx, c);
    }
    let marked: Vec<String> = app
        .marked_rows()
        .map(|r| r.uidl.as_deref().unwrap().to_string())
        .collect();
    assert_eq!(marked.len(), 2);
    run_until(&mut app, &tx, &mut rx, "the drop", |a| {
        matches!(a.link, Link::Disconnected(_))
    })
    .await;
    assert!(status(&app).contains("idle session"), "{}", status(&app));
    press(&mut app, &tx, 'c');
    run_until(&mut app, &tx, &mut rx, "the commit dialog", |a| {
        a.screen.dialog == Some(Dialog::Commit)
    })
    .await;
    assert_eq!(app.marks.delete.len(), 2, "the marks survived the drop");
    press(&mut app, &tx, 'y');
    run_until(&mut app, &tx, &mut rx, "the commit", |a| {
        a.screen.dialog.is_none() && a.marks.delete.is_empty()
    })
    .await;
    assert!(
        status(&app).contains("deleted 2 messages"),
        "{}",
        status(&app)
    );
    let names: Vec<String> = mailbox
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["01.eml", "03.eml", "04.eml", "06.eml"]);
    let received = s.received();
    assert!(!received.iter().any(|l| l == "RSET"), "{received:?}");
    assert_eq!(
        received.iter().filter(|l| l.starts_with("DELE")).count(),
        2,
        "{received:?}"
    );
    // The worker listed again after QUIT: the marked UIDLs are gone.
    run_until(&mut app, &tx, &mut rx, "the new listing", |a| {
        a.list.rows.len() == 4
    })
    .await;
    assert!(
        app.list
            .rows
            .iter()
            .all(|r| !marked.iter().any(|m| Some(m.as_str()) == r.uidl.as_deref()))
    );
}
