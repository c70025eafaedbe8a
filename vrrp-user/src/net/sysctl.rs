//! Interface sysctls vrrpd changes (`use_vmac`'s ARP settings on the base interface), with the
//! values it found, so that they are put back at exit as keepalived does. The first value seen
//! for a setting is the original: a reload that applies the same setting again does not
//! overwrite it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn originals() -> &'static Mutex<HashMap<String, String>> {
    static ORIGINALS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    ORIGINALS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn path(interface: &str, key: &str) -> String {
    format!("/proc/sys/net/ipv4/conf/{interface}/{key}")
}

/// Sets `net.ipv4.conf.<interface>.<key>`, remembering the value it replaces.
pub fn set_ipv4(interface: &str, key: &str, value: &str) -> std::io::Result<()> {
    let path = path(interface, key);
    let current = std::fs::read_to_string(&path)?;
    if let Ok(mut originals) = originals().lock() {
        originals
            .entry(path.clone())
            .or_insert_with(|| current.trim().to_string());
    }
    std::fs::write(&path, value)
}

/// Puts back every value [`set_ipv4`] replaced (an interface that is gone is skipped).
pub fn restore_all() {
    let Ok(mut originals) = originals().lock() else {
        return;
    };
    for (path, value) in originals.drain() {
        let _ = std::fs::write(&path, value);
    }
}

/// The values [`set_ipv4`] replaced, for `vrrpd upgrade` to carry into the next image.
pub fn replaced() -> Vec<(String, String)> {
    originals()
        .lock()
        .map(|originals| {
            originals
                .iter()
                .map(|(p, v)| (p.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The values a previous image replaced: they, not what this image finds, are put back at exit.
pub fn remember(replaced: Vec<(String, String)>) {
    if let Ok(mut originals) = originals().lock() {
        for (path, value) in replaced {
            originals.entry(path).or_insert(value);
        }
    }
}
