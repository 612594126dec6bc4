//! Snapshots of each screen (ratatui's TestBackend + insta) at 80×24 and at
//! a narrow size: loading, full list, preview, save progress, commit
//! dialog, error, help, transcript.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use popdoc::app::{App, Msg, update};
use popdoc::client::Stage;
use popdoc::client::log::{Dir, Line};
use popdoc::client::ops::Listing;
use popdoc::mail::{Summary, preview};
use popdoc::worker::{Event, Failure, FailureKind, SessionInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn draw(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.screen.width, app.screen.height)).unwrap();
    t.draw(|f| popdoc::ui::render(f, app)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const SUBJECTS: &[&str] = &[
    "Printer upstairs jamming again",
    "お見積りのお願い（ノートPC 5台）",
    "Signed contracts - scanned, 48 pages (sorry, it's a big one)",
    "Πρόβλημα με το VPN",
    "🎉 Fernhill turns 10: drinks on Friday",
    "",
];

fn app(w: u16, h: u16) -> App {
    let mut a = App::new(
        "demo@127.0.0.1:1110".into(),
        PathBuf::from("/home/sam/Downloads/popdoc"),
        200,
        jiff::tz::TimeZone::UTC,
    );
    a.screen.color = false;
    update(&mut a, Msg::Resize(w, h));
    a
}

fn connected(w: u16, h: u16, n: u32) -> App {
    let mut a = app(w, h);
    update(
        &mut a,
        Msg::Worker(Event::Connected(SessionInfo {
            user: "sam".into(),
            host: "pop.example.com".into(),
            port: 995,
            tls: Some("TLS 1.3".into()),
            method: "SASL PLAIN".into(),
            started_utc: "2026-11-20 09:00:00".into(),
            ..Default::default()
        })),
    );
    let listing = (1..=n)
        .map(|i| Listing {
            number: i,
            size: if i == 3 {
                6_320_855
            } else {
                1200 + (i as u64 * 977) % 9000
            },
            uidl: Some(format!("{i:08x}")),
        })
        .collect();
    update(&mut a, Msg::Worker(Event::Listing(listing)));
    a
}

fn with_headers(mut a: App, upto: u32) -> App {
    let headers = (1..=upto)
        .map(|i| {
            (
                i,
                Ok(Summary {
                    from: [
                        "Maggie Doyle",
                        "田中 美咲",
                        "Edward Hollis",
                        "Νίκος Παπαδάκης",
                    ][i as usize % 4]
                        .into(),
                    subject: SUBJECTS[i as usize % SUBJECTS.len()].into(),
                    date: Some(1_793_000_000 + i as i64 * 40_000),
                    ..Default::default()
                }),
            )
        })
        .collect();
    update(&mut a, Msg::Worker(Event::Headers(headers)));
    update(
        &mut a,
        Msg::Worker(Event::Latency(Duration::from_millis(23))),
    );
    a
}

const SIZES: [(u16, u16); 2] = [(80, 24), (44, 16)];

/// Snapshots a screen at 80×24 and at 44×16.
fn both(name: &str, build: impl Fn(u16, u16) -> App) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(&build(w, h)));
    }
}

#[test]
fn loading() {
    both("loading_stages", |w, h| {
        let mut a = app(w, h);
        update(
            &mut a,
            Msg::Worker(Event::Stage {
                stage: Stage::Greeting,
                done: vec![
                    (Stage::Connect, Duration::from_millis(12)),
                    (Stage::Tls, Duration::from_millis(48)),
                ],
            }),
        );
        a
    });
    both("loading_headers", |w, h| {
        with_headers(connected(w, h, 60), 25)
    });
}

#[test]
fn list_full() {
    both("list", |w, h| {
        let mut a = with_headers(connected(w, h, 40), 40);
        for c in ['d', 'j', 'd'] {
            update(&mut a, key(c));
        }
        a
    });
    both("list_sorted_by_size", |w, h| {
        let mut a = with_headers(connected(w, h, 40), 40);
        update(&mut a, key('o'));
        a
    });
    both("list_filtered", |w, h| {
        let mut a = with_headers(connected(w, h, 40), 40);
        for c in ['/', 'v', 'p', 'n'] {
            update(&mut a, key(c));
        }
        a
    });
}

#[test]
fn preview_stacked_and_side_by_side() {
    both("preview", previewed);
    insta::assert_snapshot!("preview_side_130x24", draw(&previewed(130, 24)));
    both("preview_raw", |w, h| {
        let mut a = previewed(w, h);
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Char('H'), KeyModifiers::SHIFT)),
        );
        a
    });
}

/// A preview the server has not answered for 5 s: the status line says
/// so, and how to stop waiting.
#[test]
fn waiting_for_the_server() {
    both("waiting_5s", |w, h| {
        let mut a = with_headers(connected(w, h, 30), 30);
        update(&mut a, key('j'));
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        let since = std::time::Instant::now();
        a.clock(since);
        a.clock(since + Duration::from_secs(5));
        a
    });
}

#[test]
fn save_progress() {
    both("save_progress", |w, h| {
        let mut a = with_headers(connected(w, h, 10), 10);
        for c in ['j', 'j', 's'] {
            update(&mut a, key(c));
        }
        let id = a.screen.save.as_ref().unwrap().id;
        update(
            &mut a,
            Msg::Worker(Event::SaveProgress {
                id,
                bytes: 2_500_000,
                elapsed: Duration::from_secs(2),
            }),
        );
        a
    });
}

#[test]
fn a_saved_files_whole_path_and_what_the_list_says() {
    // The path first and whole, on more lines when it is long.
    both("saved_long_path", |w, h| {
        let mut a = with_headers(connected(w, h, 10), 10);
        for c in ['j', 'j', 's'] {
            update(&mut a, key(c));
        }
        let id = a.screen.save.as_ref().unwrap().id;
        update(
            &mut a,
            Msg::Worker(Event::Saved {
                id,
                result: Ok(popdoc::store::Saved {
                    path: "/home/sam/Downloads/popdoc/2026-11-03_Edward-Hollis_Signed-contracts-scanned-48-pages_00000003-2.eml".into(),
                    size: 6_320_855,
                    sha256: "3f2a".repeat(16),
                }),
                list_size: 6_320_855,
                cancelled: false,
            }),
        );
        a
    });
    let mut a = with_headers(connected(80, 24, 10), 10);
    for c in ['j', 'j', 's'] {
        update(&mut a, key(c));
    }
    let id = a.screen.save.as_ref().unwrap().id;
    update(
        &mut a,
        Msg::Worker(Event::Saved {
            id,
            result: Ok(popdoc::store::Saved {
                path: "/tmp/popdoc-demo-saved/2026-11-03_Edward-Hollis_Signed-contracts_00000003-2.eml".into(),
                size: 6_320_855,
                sha256: "3f2a".repeat(16),
            }),
            list_size: 6_320_855,
            cancelled: false,
        }),
    );
    let screen = draw(&a);
    assert!(
        screen.contains(
            " /tmp/popdoc-demo-saved/2026-11-03_Edward-Hollis_Signed-contracts_00000003-2.eml\n"
        ),
        "the folder and the -2 are seen, on one line:\n{screen}"
    );

    // ▲ ascending, ▼ descending; a missing date says so.
    let mut a = with_headers(connected(80, 24, 10), 10);
    update(
        &mut a,
        Msg::Worker(Event::Headers(vec![(
            1,
            Ok(Summary {
                from: "No Date".into(),
                subject: "undated".into(),
                date: None,
                ..Default::default()
            }),
        )])),
    );
    let screen = draw(&a);
    assert!(screen.contains("#▲"), "{screen}");
    let row = screen.lines().find(|l| l.contains("undated")).unwrap();
    assert!(row.contains("(no date)"), "{row}");
    update(&mut a, key('o'));
    assert!(draw(&a).contains("Size▲"));
    update(&mut a, key('O'));
    let screen = draw(&a);
    assert!(screen.contains("Size▼"), "{screen}");
    assert!(screen.contains("largest first"), "{screen}");

    // The filter says what it searches and how many it shows.
    for c in ['/', 'v', 'p', 'n'] {
        update(&mut a, key(c));
    }
    let screen = draw(&a);
    assert!(screen.contains("filter from/subject: vpn"), "{screen}");
    assert!(screen.contains("2 of 10 shown"), "{screen}");
}

#[test]
fn commit_dialog() {
    both("commit", |w, h| {
        let mut a = with_headers(connected(w, h, 12), 12);
        for c in ['d', 'd', 'j', 'd', 'c'] {
            update(&mut a, key(c));
        }
        a
    });
    both("quit_dialog", |w, h| {
        let mut a = with_headers(connected(w, h, 12), 12);
        for c in ['d', 'd', 'q'] {
            update(&mut a, key(c));
        }
        a
    });
    both("dele_refused", |w, h| {
        let mut a = with_headers(connected(w, h, 12), 12);
        for c in ['d', 'd', 'c', 'y'] {
            update(&mut a, key(c));
        }
        let mark = |n: u32| popdoc::worker::Mark {
            number: n,
            uidl: Some(format!("{n:08x}")),
        };
        update(
            &mut a,
            Msg::Worker(Event::CommitRefused {
                accepted: vec![mark(1)],
                refused: vec![(
                    mark(2),
                    popdoc::worker::Failure::new(
                        popdoc::worker::FailureKind::Refused,
                        "-ERR [SYS/TEMP] message is being delivered",
                    ),
                )],
                gone: vec![],
            }),
        );
        a
    });
}

#[test]
fn error_and_password() {
    both("error", |w, h| {
        let mut a = app(w, h);
        update(
            &mut a,
            Msg::Worker(Event::Failed(Failure::new(
                FailureKind::InUse,
                "login failed: -ERR [IN-USE] Mailbox is locked — another client holds the mailbox lock; close the other mail client or wait and retry",
            ))),
        );
        a
    });
    both("password", |w, h| {
        let mut a = app(w, h);
        a.ask_password();
        update(
            &mut a,
            Msg::Worker(Event::Failed(Failure::new(
                FailureKind::Auth,
                "login failed: -ERR [AUTH] Authentication failed.",
            ))),
        );
        for c in "secret".chars() {
            update(&mut a, key(c));
        }
        a
    });
}

#[test]
fn help_and_transcript() {
    both("help", |w, h| {
        let mut a = with_headers(connected(w, h, 5), 5);
        update(&mut a, key('?'));
        a
    });
    both("transcript", |w, h| {
        let mut a = with_headers(connected(w, h, 5), 5);
        let lines = [
            (
                Dir::Note,
                "2026-11-20 09:00:00 UTC: connected to pop.example.com:995 (192.0.2.10:995)",
                None,
            ),
            (
                Dir::Note,
                "TLS 1.3 TLS13_AES_256_GCM_SHA384 (system roots)",
                None,
            ),
            (Dir::Received, "+OK Dovecot ready.", Some(31)),
            (Dir::Sent, "CAPA", None),
            (Dir::Received, "+OK", Some(22)),
            (Dir::Sent, "AUTH PLAIN ***", None),
            (Dir::Received, "+OK Logged in.", Some(140)),
            (Dir::Sent, "LIST", None),
            (Dir::Sent, "UIDL", None),
            (Dir::Received, "+OK 5 messages:", Some(25)),
        ]
        .iter()
        .enumerate()
        .map(|(i, (dir, text, ms))| Line {
            at: Duration::from_millis(i as u64 * 37),
            dir: *dir,
            text: text.to_string(),
            latency: ms.map(Duration::from_millis),
        })
        .collect();
        update(&mut a, Msg::Worker(Event::Transcript(lines)));
        update(&mut a, key('t'));
        a
    });
}

fn previewed(w: u16, h: u16) -> App {
    let mut a = with_headers(connected(w, h, 30), 30);
    update(&mut a, key('j'));
    update(&mut a, key('j'));
    let fx = update(
        &mut a,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let id = match &fx[..] {
        [popdoc::app::Effect::Pop(popdoc::worker::Request::Preview { id, .. })] => *id,
        other => panic!("{other:?}"),
    };
    let top = b"From: Edward Hollis <edward@hollisrowe.example.net>\r\nTo: Sam Okafor <sam@example.com>\r\nDate: Tue, 03 Nov 2026 16:01:00 +0000\r\nSubject: Signed contracts - scanned\r\nMessage-ID: <c1@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSam,\r\n\r\nAttached are the signed contracts, all 48 pages.\r\nSorry about the size.\r\n\r\nEdward\r\n--b\r\nContent-Type: application/pdf; name=\"contracts.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n";
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id,
            number: 3,
            result: Ok(preview(top, Some(6_320_855))),
        }),
    );
    a
}

#[test]
fn account_picker() {
    use popdoc::account::{Account, SecretSource};
    use popdoc::client::{CertCheck, LoginMethod, Security};
    let account = |label: &str, host: &str, security| Account {
        label: label.into(),
        host: host.into(),
        port: 995,
        user: "sam".into(),
        security,
        cert: CertCheck::System,
        login: LoginMethod::Auto,
        secret: SecretSource::Prompt,
        timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(20),
        save_dir: None,
        preview_lines: 200,
        keepalive: None,
        plaintext_by: None,
        cache: popdoc::account::CacheSetting::Off,
    };
    let mut p = popdoc::app::picker::Picker::new(&[
        account("work", "pop.example.com", Security::Implicit),
        account("shop", "mail.example.net", Security::StartTls),
    ]);
    p.key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| popdoc::ui::picker::render(f, &p, false))
            .unwrap();
        let text: String = t
            .backend()
            .buffer()
            .content()
            .chunks(w as usize)
            .map(|row| {
                row.iter()
                    .map(|c| c.symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
                    + "\n"
            })
            .collect();
        insta::assert_snapshot!(format!("picker_{w}x{h}"), text);
    }
}
