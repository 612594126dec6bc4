//! The session: previews and headers across listings, the transcript,
//! connection failures and retry, the Gmail notice, the typed password
//! and the report overlay.

use super::*;

#[test]
fn a_preview_for_a_row_left_behind_is_dropped() {
    let mut a = app(5);
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    let first = match requests(&fx)[..] {
        [
            Request::Preview {
                id,
                number: 1,
                lines: 200,
                ..
            },
        ] => *id,
        ref other => panic!("{other:?}"),
    };
    let fx = send(&mut a, [key('j')]);
    let second = match requests(&fx)[..] {
        [Request::Preview { id, number: 2, .. }] => *id,
        ref other => panic!("{other:?}"),
    };
    let pv = crate::mail::preview(b"Subject: one\r\n\r\nbody\r\n", Some(22));
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: first,
            number: 1,
            result: Ok(pv.clone()),
        }),
    );
    assert_eq!(
        a.screen.preview.as_ref().unwrap().content,
        PreviewContent::Loading,
        "stale reply dropped"
    );
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: second,
            number: 2,
            result: Ok(pv),
        }),
    );
    assert!(matches!(
        a.screen.preview.as_ref().unwrap().content,
        PreviewContent::Ready(_)
    ));
    send(&mut a, [key('H')]);
    assert!(a.screen.preview.as_ref().unwrap().raw);
    send(&mut a, [key('h')]);
    assert!(a.screen.preview.is_none());
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: second,
            number: 2,
            result: Err(Failure::new(FailureKind::Timeout, "late")),
        }),
    );
    assert!(
        a.screen.preview.is_none(),
        "a reply after closing opens nothing"
    );
}

#[test]
fn visible_rows_get_their_headers_first() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    send(
        &mut a,
        [
            Msg::Resize(80, 24),
            Msg::Worker(Event::Connected(SessionInfo::default())),
        ],
    );
    let fx = send(&mut a, [Msg::Worker(Event::Listing(listing(500)))]);
    let rows = a.list_rows() as u32;
    match requests(&fx)[..] {
        [Request::Prioritize(n)] => assert_eq!(n, &(1..=rows).collect::<Vec<_>>()),
        ref other => panic!("{other:?}"),
    }
    let fx = send(&mut a, [key('G')]);
    match requests(&fx)[..] {
        [Request::Prioritize(n)] => assert_eq!(n.last(), Some(&500)),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(a.list.headers_done, 0);
}

#[test]
fn a_new_listing_keeps_headers_and_drops_marks_of_vanished_messages() {
    let mut a = app(5);
    send(&mut a, [key('d'), key('d'), key('d')]);
    let mut l = listing(5);
    l.retain(|x| x.number != 2);
    for (i, x) in l.iter_mut().enumerate() {
        x.number = i as u32 + 1;
    }
    update(&mut a, Msg::Worker(Event::Listing(l)));
    assert_eq!(a.list.rows.len(), 4);
    assert_eq!(a.marks.delete.iter().collect::<Vec<_>>(), ["uid1", "uid3"]);
    assert_eq!(a.list.headers_done, 4, "known headers are reused");
    assert_eq!(
        a.list.rows[1].summary.as_ref().unwrap().subject,
        "Subject 003"
    );
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("no longer on the server")
    );
}

#[test]
fn transcript_overlay_scrolls_and_writes() {
    let mut a = app(2);
    let lines = (0..100)
        .map(|i| crate::client::log::Line {
            at: Duration::from_millis(i),
            dir: crate::client::log::Dir::Sent,
            text: format!("NOOP {i}"),
            latency: None,
        })
        .collect();
    update(&mut a, Msg::Worker(Event::Transcript(lines)));
    send(&mut a, [key('t')]);
    assert!(matches!(a.screen.overlay, Some(Overlay::Transcript { .. })));
    send(&mut a, [key('g'), key('j')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Transcript { scroll: 1 }));
    send(&mut a, [key('G'), key('k')]);
    assert_eq!(
        a.screen.overlay,
        Some(Overlay::Transcript {
            scroll: 100 - 22 - 1
        }),
        "k from the end moves one line"
    );
    let fx = send(&mut a, [key('w')]);
    match &fx[..] {
        [Effect::WriteFile { path, contents }] => {
            assert!(path.starts_with("/saves"));
            assert!(contents.contains("C: NOOP 99"));
            assert!(contents.starts_with("# popdoc transcript"));
        }
        other => panic!("{other:?}"),
    }
    send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.screen.overlay.is_none());
    send(&mut a, [key('?')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Help { scroll: 0 }));
    send(&mut a, [key('j')]);
    assert_eq!(
        a.screen.overlay,
        Some(Overlay::Help { scroll: 1 }),
        "the help scrolls on a short screen"
    );
    send(&mut a, [key('q')]);
    assert!(
        a.screen.overlay.is_none() && !a.lifecycle.quitting,
        "q closes the help, it does not quit"
    );
}

#[test]
fn connection_failures_and_retry() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Auth,
            "login failed: -ERR [AUTH] no",
        ))),
    );
    assert!(matches!(a.link, Link::Failed(_)));
    let fx = send(&mut a, [key('r')]);
    assert!(matches!(requests(&fx)[..], [Request::Connect]));
    assert!(matches!(a.link, Link::Connecting { .. }));
    let fx = send(&mut a, [key('q')]);
    assert!(
        matches!(requests(&fx)[..], [Request::Shutdown]),
        "no marks: quit at once"
    );
}

#[test]
fn gmail_users_are_told_about_its_pop_behaviour() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    let info = SessionInfo {
        user: "me@gmail.com".into(),
        host: "pop.gmail.com".into(),
        port: 995,
        provider: Provider::Gmail,
        ..Default::default()
    };
    send(
        &mut a,
        [
            Msg::Worker(Event::Connected(info)),
            Msg::Worker(Event::Listing(listing(3))),
        ],
    );
    let text = &a.screen.status.as_ref().unwrap().1;
    assert!(
        text.contains("RETR (save) followed by QUIT can mark messages as downloaded"),
        "{text}"
    );
    assert!(
        text.contains("limited number of messages per POP session"),
        "{text}"
    );
    let mut b = app(3);
    assert!(!b.screen.status.as_ref().unwrap().1.contains("Gmail"));
    send(&mut b, [key('j')]);
}

#[test]
fn the_password_is_typed_masked_and_asked_again_when_refused() {
    let mut a = App::new(
        "ann@pop.example.com:995".into(),
        PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    a.ask_password();
    let fx = send(
        &mut a,
        [
            key('s'),
            key('3'),
            key('c'),
            code(KeyCode::Backspace),
            key('C'),
        ],
    );
    assert!(fx.is_empty(), "typing does nothing else");
    match &a.screen.dialog {
        Some(Dialog::Password { input, .. }) => {
            assert_eq!(input.len(), 3);
            assert_eq!(format!("{input:?}"), "PasswordInput(***)");
        }
        other => panic!("{other:?}"),
    }
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    match &fx[..] {
        [Effect::Login(secret)] => {
            use secrecy::ExposeSecret;
            assert_eq!(secret.expose_secret(), "s3C");
            assert!(
                !format!("{fx:?}").contains("s3C"),
                "the effect's Debug hides it"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(a.screen.dialog.is_none());
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Auth,
            "login failed: -ERR [AUTH] Authentication failed.",
        ))),
    );
    assert!(
        matches!(&a.screen.dialog, Some(Dialog::Password { message: Some(m), .. }) if m.contains("[AUTH]"))
    );
    // Other failures do not ask for the password again.
    a.screen.dialog = None;
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Network,
            "could not connect",
        ))),
    );
    assert!(a.screen.dialog.is_none());
    // Esc in the dialog leaves.
    a.ask_password();
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
}

#[test]
fn the_report_opens_scrolls_and_writes() {
    let mut a = app(3);
    let fx = send(&mut a, [key('i')]);
    assert!(matches!(requests(&fx)[..], [Request::Report]));
    assert_eq!(a.screen.overlay, Some(Overlay::Report { scroll: 0 }));
    let text: String = (0..40).map(|i| format!("line {i}\n")).collect();
    update(
        &mut a,
        Msg::Worker(Event::Report(Err(Failure::not_connected(text)))),
    );
    assert_eq!(a.screen.report.as_ref().unwrap().len(), 40);
    send(&mut a, [key('G')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Report { scroll: 40 - 22 }));
    let fx = send(&mut a, [key('w')]);
    match &fx[..] {
        [Effect::WriteFile { path, contents }] => {
            assert!(
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("popdoc-report-")
            );
            assert!(contents.starts_with("line 0\nline 1\n"));
        }
        other => panic!("{other:?}"),
    }
    send(&mut a, [key('i')]);
    assert!(a.screen.overlay.is_none());
}

/// The report overlay wraps to the screen, and again after a resize.
#[test]
fn the_report_wraps_to_the_screen_width() {
    let mut a = app(3);
    update(&mut a, Msg::Resize(70, 30));
    send(&mut a, [key('i')]);
    let report = crate::report::text::tests::wide_report();
    let flat = crate::report::render_text(&report, None);
    update(&mut a, Msg::Worker(Event::Report(Ok(Box::new(report)))));
    let lines = a.screen.report.clone().unwrap();
    assert!(lines.iter().all(|l| l.chars().count() <= 68), "{lines:#?}");
    // Nothing is lost: the same characters, whatever the line breaks.
    let text = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(text(&lines.join("\n")), text(&flat));
    update(&mut a, Msg::Resize(150, 30));
    let lines = a.screen.report.clone().unwrap();
    let row = lines.iter().find(|l| l.contains("#1 ")).unwrap();
    assert!(row.contains("UIDL 17ea8182"), "{lines:#?}");
}
