//! VRRPv3 Accept_Mode (RFC 5798 section 6.1): with `no_accept`, a master that is not the
//! address owner must not accept packets addressed to the virtual addresses. As keepalived does
//! with iptables, vrrpd drops them in the firewall — an nftables table of its own, `inet
//! vrrpd`, whose sets hold the blocked addresses.

use std::net::IpAddr;
use std::process::{Command, Stdio};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AcceptError {
    #[error("running nft: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("nft refused: {0}")]
    Refused(String),
}

const TABLE: &str = "inet vrrpd";

fn nft(script: &str) -> Result<(), AcceptError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(script.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(AcceptError::Refused(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ))
    }
}

/// Creates the table afresh (dropping one a previous run left).
pub fn reset() -> Result<(), AcceptError> {
    let _ = nft(&format!("delete table {TABLE}\n"));
    nft(&format!(
        "table {TABLE} {{\n  set vips4 {{ type ipv4_addr; }}\n  set vips6 {{ type ipv6_addr; }}\n  chain input {{\n    type filter hook input priority filter; policy accept;\n    ip daddr @vips4 drop\n    ip6 daddr @vips6 drop\n  }}\n}}\n"
    ))
}

/// Removes the table (at exit).
pub fn remove() {
    let _ = nft(&format!("delete table {TABLE}\n"));
}

fn element(address: &IpAddr) -> (&'static str, String) {
    match address {
        IpAddr::V4(v4) => ("vips4", v4.to_string()),
        IpAddr::V6(v6) => ("vips6", v6.to_string()),
    }
}

/// Starts dropping traffic to `addresses`.
pub fn block(addresses: &[IpAddr]) -> Result<(), AcceptError> {
    let script: String = addresses
        .iter()
        .map(|a| {
            let (set, value) = element(a);
            format!("add element {TABLE} {set} {{ {value} }}\n")
        })
        .collect();
    if script.is_empty() {
        Ok(())
    } else {
        nft(&script)
    }
}

/// Stops dropping traffic to `addresses`.
pub fn unblock(addresses: &[IpAddr]) {
    for address in addresses {
        let (set, value) = element(address);
        let _ = nft(&format!("delete element {TABLE} {set} {{ {value} }}\n"));
    }
}
