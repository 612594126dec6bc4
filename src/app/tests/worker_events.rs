//! The app follows what the worker says it does; it does not guess.

use super::*;

#[test]
fn after_a_commit_the_app_follows_what_the_worker_says() {
    let mut a = app(3);
    send(&mut a, [key('d'), key('c'), key('y')]);
    update(
        &mut a,
        Msg::Worker(Event::Committed(CommitReport {
            deleted: vec![Mark {
                number: 1,
                uidl: Some("uid1".into()),
            }],
            gone: vec![],
            quit: "+OK".into(),
        })),
    );
    assert_eq!(a.link, Link::Ready, "no reconnect is assumed");
    update(&mut a, Msg::Worker(Event::Connecting));
    assert!(matches!(a.link, Link::Connecting { .. }));
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("deleted 1 messages")
    );
}
