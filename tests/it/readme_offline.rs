//! The README's key table is the app's key table.

#[test]
fn readme_key_table_matches_the_app() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- keys:start -->")
        .expect("keys:start marker");
    let end = readme.find("<!-- keys:end -->").expect("keys:end marker");
    let table: Vec<&str> = readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .collect();
    let want: Vec<String> = popdoc::app::keys::help_rows()
        .into_iter()
        .map(|(keys, what)| {
            let keys: Vec<String> = keys.split(' ').map(|k| format!("`{k}`")).collect();
            format!("| {} | {what} |", keys.join(" "))
        })
        .collect();
    assert_eq!(
        table, want,
        "update the table in README.md from src/app/keys.rs"
    );
}

#[test]
fn readme_shows_the_example_config_as_it_is() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/config/popdoc.example.toml")).unwrap();
    assert!(
        readme.contains(example.trim_end()),
        "copy config/popdoc.example.toml into the README's example block"
    );
}
