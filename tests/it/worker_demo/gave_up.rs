//! A header block given up (past its cap): that message's row gets the
//! error, the worker reopens the connection by itself and loads the rest,
//! and the message can still be saved.

use super::*;

#[tokio::test]
async fn headers_too_large_reconnects_loads_the_rest_and_the_message_still_saves() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(
        dir.path(),
        3,
        Faults {
            flood_on: Some("TOP 2".into()),
            ..Default::default()
        },
    )
    .await;
    let saves = tempfile::tempdir().unwrap();
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    let mut got = std::collections::BTreeMap::new();
    while got.len() < 3 {
        let batch = until(&mut rx, "headers", |e| match e {
            Event::Headers(b) => Some(b),
            Event::Failed(f) => panic!("{f}"),
            _ => None,
        })
        .await;
        for (n, r) in batch {
            got.entry(n).or_insert(r);
        }
    }
    let e = got[&2].as_ref().unwrap_err();
    assert_eq!(e.text, "headers too large (over 1.0 MB)");
    assert_eq!(got[&1].as_ref().unwrap().subject, "message 1");
    assert_eq!(got[&3].as_ref().unwrap().subject, "message 3");
    tx.send(Request::Save {
        id: 1,
        key: MsgKey::new(2, listing[1].uidl.as_deref()),
        dest: saves.path().join("two.eml"),
        collision: Collision::Number,
        cancel: CancellationToken::new(),
    })
    .await
    .unwrap();
    let saved = until(&mut rx, "the save", |e| match e {
        Event::Saved { id: 1, result, .. } => Some(result),
        _ => None,
    })
    .await
    .unwrap();
    assert_eq!(std::fs::read(&saved.path).unwrap(), messages(3)[1]);
}
