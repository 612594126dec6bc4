//! What a person sees move: `q` in the preview, the preview's end, the
//! selection across a new listing, sort and filter in words, long status
//! messages, and how a failed session ends.

use super::*;

fn ctrl_c() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

/// Opens the preview of the selected row and delivers `body_lines` lines.
fn preview_with(a: &mut App, body_lines: usize, raw_header: &str) {
    let fx = send(a, [code(KeyCode::Enter)]);
    let id = match requests(&fx)[..] {
        [Request::Preview { id, .. }] => *id,
        ref other => panic!("{other:?}"),
    };
    let body: String = (1..=body_lines).map(|i| format!("line {i}\r\n")).collect();
    let bytes = format!("Subject: hello\r\n{raw_header}\r\n\r\n{body}");
    let pv = crate::mail::preview(bytes.as_bytes(), Some(bytes.len() as u64));
    let number = selected(a);
    update(
        a,
        Msg::Worker(Event::Preview {
            id,
            number,
            result: Ok(pv),
        }),
    );
}

fn scroll(a: &App) -> u16 {
    a.screen.preview.as_ref().unwrap().scroll
}

#[test]
fn q_closes_the_preview_and_quits_from_the_list() {
    let mut a = app(5);
    send(&mut a, [code(KeyCode::Enter)]);
    let fx = send(&mut a, [key('q')]);
    assert!(a.screen.preview.is_none(), "q closed the preview");
    assert!(
        !a.lifecycle.quitting && requests(&fx).is_empty(),
        "and did not quit"
    );
    let fx = send(&mut a, [key('q')]);
    assert!(a.lifecycle.quitting && matches!(requests(&fx)[..], [Request::Shutdown]));

    // Ctrl-c quits even with the preview open.
    let mut b = app(5);
    send(&mut b, [code(KeyCode::Enter)]);
    let fx = send(&mut b, [ctrl_c()]);
    assert!(b.lifecycle.quitting && matches!(requests(&fx)[..], [Request::Shutdown]));
}

#[test]
fn the_preview_stops_at_its_end() {
    // A short message: nothing to scroll, however often Space is pressed.
    let mut a = app(5);
    preview_with(&mut a, 3, "From: a@example.org");
    for _ in 0..17 {
        send(&mut a, [key(' ')]);
    }
    assert_eq!(scroll(&a), 0, "the short message stays put");
    send(&mut a, [code(KeyCode::Backspace)]);
    assert_eq!(scroll(&a), 0);

    // A long one: Space stops with the last line at the bottom of the pane.
    let mut a = app(5);
    preview_with(&mut a, 100, "From: a@example.org");
    let area = a.preview_text_area();
    let p = a.screen.preview.clone().unwrap();
    let total = pager::lines(&a, &p, area.width as usize).len();
    let end = (total - area.height as usize) as u16;
    assert!(end > 50, "{total} lines, {} shown", area.height);
    for _ in 0..200 {
        send(&mut a, [key(' ')]);
    }
    assert_eq!(scroll(&a), end);
    assert_eq!(a.preview_max_scroll(), end);
    // One Backspace comes back one page at once.
    send(&mut a, [code(KeyCode::Backspace)]);
    assert_eq!(scroll(&a), end - (area.height - 2));
    // A taller window shows more: the end moves, the scroll follows.
    send(&mut a, [key(' '), Msg::Resize(80, 40)]);
    assert_eq!(scroll(&a), a.preview_max_scroll());
    assert!(scroll(&a) < end);
}

#[test]
fn wrapped_header_lines_are_indented() {
    let mut a = app(3);
    let received = format!(
        "Received: from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.net with ESMTPS id {} for <sam@example.net>",
        "x".repeat(30)
    );
    preview_with(&mut a, 2, &received);
    send(&mut a, [key('H')]);
    let p = a.screen.preview.clone().unwrap();
    assert!(p.raw);
    let lines: Vec<String> = pager::lines(&a, &p, 40)
        .into_iter()
        .map(|l| l.into_iter().map(|(_, t)| t).collect())
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("Received:"))
        .unwrap();
    let next = lines[start + 1..]
        .iter()
        .position(|l| !l.starts_with("    "))
        .unwrap()
        + start
        + 1;
    assert!(next - start >= 3, "the long line wrapped: {lines:?}");
    assert!(lines[next].is_empty() || !lines[next].starts_with(' '));
    assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:?}");
    let joined: String = lines[start..next].iter().map(|l| l.trim_start()).collect();
    assert_eq!(joined.replace(' ', ""), received.replace(' ', ""));
}

/// The listing the worker sends after a commit: `gone` removed, the rest
/// numbered again from 1.
fn listing_without(n: u32, gone: &[u32]) -> Vec<Listing> {
    let mut l = listing(n);
    l.retain(|x| !gone.contains(&x.number));
    for (i, x) in l.iter_mut().enumerate() {
        x.number = i as u32 + 1;
    }
    l
}

fn commit_and_relist(a: &mut App, n: u32, gone: &[u32]) {
    let deleted = gone
        .iter()
        .map(|&g| Mark {
            number: g,
            uidl: Some(format!("uid{g}")),
        })
        .collect();
    send(
        a,
        [
            Msg::Worker(Event::Committed(CommitReport {
                deleted,
                gone: vec![],
                quit: "+OK".into(),
                confirmed: true,
                ..Default::default()
            })),
            Msg::Worker(Event::Connected(SessionInfo::default())),
            Msg::Worker(Event::Listing(listing_without(n, gone))),
        ],
    );
}

fn selected_key(a: &App) -> String {
    a.selected_row().unwrap().key().to_string()
}

#[test]
fn after_a_commit_the_selection_stays_on_the_same_message() {
    let mut a = app(10);
    send(&mut a, [key('j'), key('j'), key('j'), key('j')]);
    assert_eq!(selected_key(&a), "uid5");
    commit_and_relist(&mut a, 10, &[2, 3]);
    assert_eq!(selected_key(&a), "uid5", "same message, now number 3");
    assert_eq!(selected(&a), 3);

    // The selected message itself was deleted: the next one that remains.
    let mut a = app(10);
    send(&mut a, [key('j'), key('j')]);
    commit_and_relist(&mut a, 10, &[3, 4]);
    assert_eq!(selected_key(&a), "uid5");

    // ... or, at the end of the list, the one before.
    let mut a = app(10);
    send(&mut a, [key('G')]);
    commit_and_relist(&mut a, 10, &[9, 10]);
    assert_eq!(selected_key(&a), "uid8");

    // In another order too (sorted by size, largest first).
    let mut a = app(10);
    send(&mut a, [key('o'), key('O'), key('g'), key('j'), key('j')]);
    let before: Vec<String> = a
        .list
        .view
        .iter()
        .map(|&i| a.list.rows[i].key().to_string())
        .collect();
    let chosen = before[2].clone();
    let next = before[3].clone();
    let gone: u32 = chosen[3..].parse().unwrap();
    commit_and_relist(&mut a, 10, &[gone]);
    assert_eq!(selected_key(&a), next);
}

#[test]
fn sorting_says_which_way_and_reversing_back_says_so_too() {
    let mut a = app(10);
    send(&mut a, [key('o')]);
    assert_eq!(
        a.screen.status.as_ref().unwrap().1,
        "sorted by size, smallest first (O reverses)"
    );
    send(&mut a, [key('O')]);
    assert_eq!(
        a.screen.status.as_ref().unwrap().1,
        "sorted by size, largest first (O reverses)"
    );
    send(&mut a, [key('O')]);
    assert!(!a.list.reverse);
    assert_eq!(
        a.screen.status.as_ref().unwrap().1,
        "sorted by size, smallest first (O reverses)",
        "no word of a reversal once it is undone"
    );
    send(&mut a, [key('o'), key('O')]);
    assert_eq!(
        a.screen.status.as_ref().unwrap().1,
        "sorted by date, newest first (O reverses)"
    );
}

#[test]
fn the_filter_searches_from_and_subject_and_whole_uidls_only() {
    let mut a = app(4);
    // Message 2's UIDL is a file name that holds a word; 3's subject has it.
    a.list.rows[1].uidl = Some("1700000000.printer-queue.host".into());
    std::sync::Arc::make_mut(a.list.rows[2].summary.as_mut().unwrap()).subject =
        "Printer upstairs jamming".into();
    send(&mut a, [key('/')]);
    let text = &a.screen.status.as_ref().unwrap().1;
    assert!(
        text.contains("From and Subject") && text.contains("whole UIDL"),
        "the filter says what it searches: {text}"
    );
    for c in "printer".chars() {
        send(&mut a, [key(c)]);
    }
    let shown: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(shown, [3], "not through a UIDL");
    send(&mut a, [code(KeyCode::Esc), key('/')]);
    for c in "1700000000.printer-queue.host".chars() {
        send(&mut a, [key(c)]);
    }
    let shown: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(shown, [2], "a whole UIDL, pasted, finds its message");
    send(&mut a, [code(KeyCode::Esc), key('/'), key('#'), key('4')]);
    let shown: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(shown, [4]);
}

#[test]
fn a_saved_files_path_is_shown_first_and_whole() {
    let mut a = app(40);
    send(&mut a, [key('G'), key('s')]);
    let id = a.screen.save.as_ref().unwrap().id;
    let path = format!(
        "/home/sam/Downloads/popdoc/2026-11-03_Edward-Hollis_{}_0000002a-2.eml",
        "Signed-contracts-scanned-48-pages-sorry-its-a-big-one"
    );
    update(
        &mut a,
        Msg::Worker(Event::Saved {
            id,
            result: Ok(Saved {
                path: path.clone().into(),
                size: 6_320_855,
                sha256: "ab".repeat(32),
            }),
            list_size: 6_320_855,
            cancelled: false,
        }),
    );
    let text = &a.screen.status.as_ref().unwrap().1;
    assert!(text.starts_with(&format!("saved to {path} ")), "{text}");
    let lines = a.status_lines();
    assert!(lines.len() > 1 && a.status_height() as usize == lines.len());
    assert!(lines.iter().all(|l| l.chars().count() <= 80));
    let shown: String = lines.concat().replace(' ', "");
    assert!(
        shown.contains(&path),
        "the whole path is on screen: {lines:?}"
    );
    assert!(
        a.list.selected >= a.list.offset && a.list.selected < a.list.offset + a.list_rows(),
        "the list made room and the selection is still shown"
    );
}

#[test]
fn a_failed_session_ends_with_an_error() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Network,
            "cannot connect to 127.0.0.1:9: connection refused",
        ))),
    );
    send(&mut a, [key('q')]);
    assert!(a.lifecycle.quitting);
    let e = a.outcome().unwrap_err();
    assert!(e.contains("connection refused"), "{e}");
    let mut b = app(3);
    send(&mut b, [key('q')]);
    assert_eq!(b.outcome(), Ok(()));
    update(
        &mut b,
        Msg::Worker(Event::Disconnected(Failure::new(
            FailureKind::Network,
            "the server closed the connection",
        ))),
    );
    assert!(b.outcome().is_err());
}
