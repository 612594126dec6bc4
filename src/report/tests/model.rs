//! Tests of the report model: exit statuses, the JSON fields documented in
//! docs/check-json.md, the step classes.

use super::*;

#[test]
fn first_failure_decides_the_exit_status() {
    let mut r = Report::new(Protocol::Pop3, Source::Check, "pop3s://a@h", "x".into());
    assert!(r.ok);
    r.fail(Some(Step::Login), "login failed");
    r.fail(Some(Step::Retr), "later");
    assert_eq!(r.exit_code, EXIT_LOGIN);
    assert_eq!(r.failed_stage, Some(Step::Login));
    assert_eq!(r.error.as_deref(), Some("login failed"));
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(v["failed_stage"], "login");
    assert_eq!(v["protocol"], "pop3");
    assert_eq!(v["exit_code"], 4);
}

/// Every key of a fully filled report is documented.
#[test]
fn docs_name_every_field() {
    let spread = Spread {
        min: 1.0,
        median: 2.0,
        max: 3.0,
    };
    let mut r = Report::new(Protocol::Smtp, Source::Check, "t", "x".into());
    r.connection.address = Some("127.0.0.1:1".into());
    r.connection.user = Some("u".into());
    r.tls = Some(TlsReport {
        certificate: Some(CertSummary {
            subject: "s".into(),
            issuer: "i".into(),
            names: vec![],
            not_before: "a".into(),
            not_after: "b".into(),
            days_left: 1,
            self_signed: false,
        }),
        ..Default::default()
    });
    r.server.login_delay = Some(LoginDelay {
        seconds: 1,
        per_user: false,
        words: "w".into(),
    });
    r.server.expire = Some(ExpireInfo {
        days: None,
        per_user: false,
        words: "w".into(),
    });
    r.login = Some(LoginInfo::default());
    r.mailbox = Some(MailboxInfo {
        largest: vec![MessageInfo {
            number: 1,
            size: 1,
            uidl: None,
        }],
        uidl: Some(UidlReport {
            duplicates: vec![DuplicateUidl {
                uidl: "x".into(),
                messages: vec![1],
            }],
            ..Default::default()
        }),
        top: Some(TopInfo {
            message: 1,
            header_bytes: 1,
        }),
        retr: Some(RetrInfo {
            message: 1,
            list_size: 1,
            bytes_received: 1,
            size_matches: true,
            first_byte_ms: spread,
            transfer_ms: spread,
            bytes_per_second: Some(spread),
            scratch_deleted: true,
        }),
        ..Default::default()
    });
    r.smtp = Some(SmtpInfo {
        send_test: Some(SendTest::default()),
        ..Default::default()
    });
    r.timings.push(TimingRow {
        stage: Step::Dns,
        label: "l".into(),
        samples: 1,
        min_ms: 0.0,
        median_ms: 0.0,
        max_ms: 0.0,
    });
    r.problem(Problem::new(Severity::Note, None, "m"));
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    keys(&serde_json::to_value(&r).unwrap(), &mut all);
    assert!(all.len() > 80, "{}", all.len());
    let doc = include_str!("../../../docs/check-json.md");
    for k in all {
        assert!(
            doc.contains(&format!("`{k}`")),
            "docs/check-json.md lacks `{k}`"
        );
    }
}

#[test]
fn every_step_has_a_distinct_nonzero_class() {
    assert_eq!(Step::Dns.exit_code(), 3);
    assert_eq!(Step::Starttls.exit_code(), 3);
    assert_eq!(Step::Auth.exit_code(), 4);
    assert_eq!(Step::Top.exit_code(), 5);
    assert_eq!(Step::Retr.exit_code(), 6);
    assert_eq!(Step::Data.exit_code(), 7);
    assert_eq!(
        serde_json::to_value(Step::CapaAfterLogin).unwrap(),
        "capa_after_login"
    );
    assert_eq!(
        serde_json::to_value(Step::RetrFirstByte).unwrap(),
        "retr_first_byte"
    );
}
