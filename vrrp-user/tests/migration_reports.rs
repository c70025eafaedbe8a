//! `vrrpd -t --report` on every keepalived sample file (vrrp-user/tests/fixtures/
//! keepalived-samples, from acassen/keepalived doc/samples): the report is compared with the one
//! committed in fixtures/migration-reports. After an intended change, `VRRPD_BLESS=1 cargo test
//! -p vrrp-user --test migration_reports` rewrites them; review the diff.

use std::path::Path;

use vrrp_user::config::{LexOptions, migration_report};

#[test]
fn the_migration_report_of_every_keepalived_sample_is_as_committed() {
    let samples = Path::new("tests/fixtures/keepalived-samples");
    let reports = Path::new("tests/fixtures/migration-reports");
    let bless = std::env::var_os("VRRPD_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(samples)
        .expect("the samples")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("keepalived.conf"))
        .collect();
    names.sort();
    assert!(names.len() > 20, "{names:?}");
    let options = LexOptions {
        config_id: Some("vrrpd-test".into()),
    };
    let mut differing = Vec::new();
    for name in &names {
        let (report, runs) = migration_report(&samples.join(name), &options);
        let text = format!("{report}exit: {}\n", if runs { 0 } else { 4 });
        let committed = reports.join(format!("{name}.report"));
        if bless {
            std::fs::create_dir_all(reports).expect("reports directory");
            std::fs::write(&committed, &text).expect("write");
            continue;
        }
        match std::fs::read_to_string(&committed) {
            Ok(expected) if expected == text => {}
            _ => differing.push(name.clone()),
        }
    }
    assert!(
        differing.is_empty(),
        "reports differ from fixtures/migration-reports (VRRPD_BLESS=1 rewrites them): {differing:?}"
    );
}
