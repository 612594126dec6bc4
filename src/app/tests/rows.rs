//! How the list holds its rows: compact (a mailbox may have 100,000) and
//! each message's headers held once, shared with what a reconnect keeps.

use super::*;

#[test]
fn a_row_is_compact() {
    // A row holds the number, size, UIDL, a shared summary and an error:
    // not the summary's seven fields inline.
    assert!(
        std::mem::size_of::<Row>() <= 64,
        "a row takes {} bytes",
        std::mem::size_of::<Row>()
    );
}

#[test]
fn headers_are_held_once_and_a_new_listing_reuses_them_without_a_copy() {
    let mut a = app(3);
    let before: Vec<Arc<Summary>> = a
        .list
        .rows
        .iter()
        .map(|r| r.summary.clone().unwrap())
        .collect();
    for s in &before {
        // This test's copy, the row's, and the one kept for a reconnect.
        assert_eq!(Arc::strong_count(s), 3, "{}", s.subject);
    }
    update(&mut a, Msg::Worker(Event::Listing(listing(3))));
    for (row, s) in a.list.rows.iter().zip(&before) {
        assert!(
            Arc::ptr_eq(row.summary.as_ref().unwrap(), s),
            "row {} shares its summary",
            row.number
        );
    }
    assert_eq!(
        a.list.rows[2].summary.as_ref().unwrap().subject,
        "Subject 003"
    );
}
