//! The keepalived.conf reader on arbitrary bytes: lexer, includes, definitions, conditionals,
//! interpretation and validation. Nothing may panic; every error must carry a location.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_user::config::{self, LexOptions};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("vrrp-fuzz-config-{}.conf", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let options = LexOptions {
        config_id: Some("fuzz".into()),
    };
    if let Err(error) = config::load(&path, &options) {
        assert!(!error.diagnostics().is_empty());
        let _ = error.to_string();
    }
});
