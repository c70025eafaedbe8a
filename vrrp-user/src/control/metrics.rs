//! Prometheus text exposition (`--metrics ADDR`), served by `http`: vrrpd's own families, and
//! the series mehdy/keepalived-exporter publishes for keepalived (derived, as that exporter
//! derives them, from keepalived's JSON dump), so that its dashboards show vrrpd unchanged.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::warn;

use super::Reporter;
use super::http::{self, Listener, Routes};
use super::model::{InstanceStats, Stats, Status, state_value};

/// A label value as the text exposition format requires it: backslash, double quote and line
/// feed escaped (instance and interface names come from the configuration file).
pub fn label(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    let mut escaped = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped.into()
}

/// Renders the metrics for one scrape; `keepalived` is keepalived's JSON dump of the instances.
pub fn render(status: &Status, stats: &Stats, keepalived: &serde_json::Value) -> String {
    let mut out = String::new();
    keepalived_exporter_series(keepalived, &mut out);
    let _ = writeln!(
        out,
        "# HELP vrrp_instance_state VRRP state: 0 init, 1 backup, 2 master, 3 fault."
    );
    let _ = writeln!(out, "# TYPE vrrp_instance_state gauge");
    for i in &status.instances {
        let _ = writeln!(
            out,
            "vrrp_instance_state{{instance=\"{}\",interface=\"{}\",vrid=\"{}\"}} {}",
            label(&i.name),
            label(&i.interface),
            i.vrid,
            state_value(&i.state)
        );
    }
    let _ = writeln!(out, "# HELP vrrp_instance_priority Effective priority.");
    let _ = writeln!(out, "# TYPE vrrp_instance_priority gauge");
    for i in &status.instances {
        let _ = writeln!(
            out,
            "vrrp_instance_priority{{instance=\"{}\"}} {}",
            label(&i.name),
            i.effective_priority
        );
    }
    type Family = (&'static str, &'static str, fn(&InstanceStats) -> u64);
    let families: [Family; 5] = [
        ("vrrp_transitions_total", "State transitions.", |s| {
            s.transitions
        }),
        ("vrrp_adverts_sent_total", "Adverts sent.", |s| {
            s.adverts_sent
        }),
        (
            "vrrp_adverts_processed_total",
            "Adverts the state machine processed.",
            |s| s.adverts_received,
        ),
        (
            "vrrp_gratuitous_sent_total",
            "Gratuitous ARPs and unsolicited NAs sent.",
            |s| s.gratuitous_sent,
        ),
        (
            "vrrp_priority_zero_sent_total",
            "Priority-0 adverts sent.",
            |s| s.priority_zero_sent,
        ),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for i in &stats.instances {
            let _ = writeln!(
                out,
                "{name}{{instance=\"{}\"}} {}",
                label(&i.name),
                value(i)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP vrrp_adverts_received_total Adverts received by the datapath, by outcome."
    );
    let _ = writeln!(out, "# TYPE vrrp_adverts_received_total counter");
    let valid = stats
        .datapath
        .counters
        .get("adverts_valid")
        .copied()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "vrrp_adverts_received_total{{reason=\"valid\"}} {valid}"
    );
    for (reason, value) in &stats.datapath.drops {
        let _ = writeln!(
            out,
            "vrrp_adverts_received_total{{reason=\"{reason}\"}} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP vrrp_xdp_drops_total Frames the datapath dropped, by reason."
    );
    let _ = writeln!(out, "# TYPE vrrp_xdp_drops_total counter");
    for (reason, value) in &stats.datapath.drops {
        let _ = writeln!(
            out,
            "vrrp_xdp_drops_total{{reason=\"{reason}\",mode=\"{}\"}} {value}",
            stats.datapath.mode
        );
    }
    let _ = writeln!(out, "# HELP vrrp_datapath_events_total Datapath counters.");
    let _ = writeln!(out, "# TYPE vrrp_datapath_events_total counter");
    for (name, value) in &stats.datapath.counters {
        let _ = writeln!(
            out,
            "vrrp_datapath_events_total{{counter=\"{name}\"}} {value}"
        );
    }
    out
}

/// keepalived-exporter's per-instance counters: (series, help, the dump's stats or data key).
const EXPORTER_COUNTERS: [(&str, &str, &str); 15] = [
    (
        "keepalived_advertisements_received_total",
        "Advertisements received",
        "advert_rcvd",
    ),
    (
        "keepalived_advertisements_sent_total",
        "Advertisements sent",
        "advert_sent",
    ),
    (
        "keepalived_become_master_total",
        "Became master",
        "become_master",
    ),
    (
        "keepalived_release_master_total",
        "Released master",
        "release_master",
    ),
    (
        "keepalived_packet_length_errors_total",
        "Packet length errors",
        "packet_len_err",
    ),
    (
        "keepalived_advertisements_interval_errors_total",
        "Advertisement interval errors",
        "advert_interval_err",
    ),
    ("keepalived_ip_ttl_errors_total", "TTL errors", "ip_ttl_err"),
    (
        "keepalived_invalid_type_received_total",
        "Invalid type errors",
        "invalid_type_rcvd",
    ),
    (
        "keepalived_address_list_errors_total",
        "Address list errors",
        "addr_list_err",
    ),
    (
        "keepalived_authentication_invalid_total",
        "Authentication invalid",
        "invalid_authtype",
    ),
    (
        "keepalived_authentication_mismatch_total",
        "Authentication mismatch",
        "authtype_mismatch",
    ),
    (
        "keepalived_authentication_failure_total",
        "Authentication failure",
        "auth_failure",
    ),
    (
        "keepalived_priority_zero_received_total",
        "Priority zero received",
        "pri_zero_rcvd",
    ),
    (
        "keepalived_priority_zero_sent_total",
        "Priority zero sent",
        "pri_zero_sent",
    ),
    (
        "keepalived_gratuitous_arp_delay_total",
        "Gratuitous ARP delay",
        "garp_delay",
    ),
];

/// keepalived-exporter's word for a state number (its `getStringState`).
fn exporter_state(state: u64) -> &'static str {
    match state {
        0 => "INIT",
        1 => "BACKUP",
        2 => "MASTER",
        3 => "FAULT",
        _ => "UNKNOWN",
    }
}

/// The series keepalived-exporter publishes, with its names, help texts and labels: `keepalived_up`,
/// the per-instance counters (labels iname, intf, vrid, state), and `keepalived_vrrp_state` /
/// `keepalived_vrrp_excluded_state` per address (iname, intf, vrid, ip_address; the address and
/// interface read from the dump's address strings as the exporter reads them).
fn keepalived_exporter_series(dump: &serde_json::Value, out: &mut String) {
    let instances = dump.as_array().map(Vec::as_slice).unwrap_or_default();
    let _ = writeln!(out, "# HELP keepalived_up Status");
    let _ = writeln!(out, "# TYPE keepalived_up gauge");
    let _ = writeln!(out, "keepalived_up 1");
    let common = |instance: &serde_json::Value| {
        let data = &instance["data"];
        format!(
            "iname=\"{}\",intf=\"{}\",vrid=\"{}\",state=\"{}\"",
            label(data["iname"].as_str().unwrap_or_default()),
            label(data["ifp_ifname"].as_str().unwrap_or_default()),
            data["vrid"].as_u64().unwrap_or(0),
            exporter_state(data["state"].as_u64().unwrap_or(0))
        )
    };
    for (name, help, key) in EXPORTER_COUNTERS {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for instance in instances {
            let value = instance["stats"][key]
                .as_f64()
                .or(instance["data"][key].as_f64())
                .unwrap_or(0.0);
            let _ = writeln!(out, "{name}{{{}}} {value}", common(instance));
        }
    }
    for (name, help, key) in [
        ("keepalived_vrrp_state", "State of vrrp", "vips"),
        (
            "keepalived_vrrp_excluded_state",
            "State of vrrp with excluded VIP",
            "evips",
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for instance in instances {
            let data = &instance["data"];
            let addresses = data[key].as_array().map(Vec::as_slice).unwrap_or_default();
            for address in addresses.iter().filter_map(|a| a.as_str()) {
                // The exporter's ParseVIP: the first word is the address, the third the
                // interface ("192.0.2.99/24 dev eth0 scope global ...").
                let words: Vec<&str> = address.split(' ').collect();
                let (Some(ip), Some(interface)) = (words.first(), words.get(2)) else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "{name}{{iname=\"{}\",intf=\"{}\",vrid=\"{}\",ip_address=\"{}\"}} {}",
                    label(data["iname"].as_str().unwrap_or_default()),
                    label(interface),
                    data["vrid"].as_u64().unwrap_or(0),
                    label(ip),
                    data["state"].as_u64().unwrap_or(0)
                );
            }
        }
    }
}

/// Serves `GET /metrics` on `address` until the daemon stops.
pub async fn serve(address: SocketAddr, reporter: Arc<dyn Reporter>) {
    match TcpListener::bind(address).await {
        Ok(listener) => http::serve(Listener::Tcp(listener), Routes::Metrics, reporter).await,
        Err(error) => warn!("metrics listener {address}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived-exporter's series and label names, from its source
    /// (mehdy/keepalived-exporter, internal/collector/collector.go, `fillMetrics`), and
    /// `keepalived_vrrp_excluded_state`, which its later versions publish for excluded VIPs.
    const EXPORTER_GOLDEN: [(&str, &[&str]); 18] = [
        ("keepalived_up", &[]),
        (
            "keepalived_vrrp_state",
            &["iname", "intf", "vrid", "ip_address"],
        ),
        (
            "keepalived_vrrp_excluded_state",
            &["iname", "intf", "vrid", "ip_address"],
        ),
        (
            "keepalived_gratuitous_arp_delay_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_advertisements_received_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_advertisements_sent_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_become_master_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_release_master_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_packet_length_errors_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_advertisements_interval_errors_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_ip_ttl_errors_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_invalid_type_received_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_address_list_errors_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_authentication_invalid_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_authentication_mismatch_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_authentication_failure_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_priority_zero_received_total",
            &["iname", "intf", "vrid", "state"],
        ),
        (
            "keepalived_priority_zero_sent_total",
            &["iname", "intf", "vrid", "state"],
        ),
    ];

    #[test]
    fn keepalived_exporter_series_have_its_names_and_labels() {
        let dump = serde_json::json!([{
            "data": {"iname": "VI_1", "ifp_ifname": "eth0", "vrid": 51, "state": 2,
                     "garp_delay": 5,
                     "vips": ["192.0.2.99/24 dev eth0 scope global set"],
                     "evips": ["192.0.2.98/24 dev eth0 scope global set"]},
            "stats": {"advert_rcvd": 3, "advert_sent": 7, "become_master": 1}
        }]);
        let mut out = String::new();
        keepalived_exporter_series(&dump, &mut out);
        for (name, labels) in EXPORTER_GOLDEN {
            let line = out
                .lines()
                .find(|line| {
                    line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
                })
                .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
            let names: Vec<&str> = line
                .split_once('{')
                .map(|(_, rest)| rest.split('}').next().unwrap_or_default())
                .unwrap_or_default()
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| pair.split_once('=').map(|(key, _)| key))
                .collect();
            assert_eq!(names, labels, "{line}");
            assert!(
                out.contains(&format!("# TYPE {name} ")),
                "{name} has its TYPE"
            );
        }
        assert!(out.contains(
            "keepalived_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"} 7"
        ));
        assert!(out.contains(
            "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.99/24\"} 2"
        ));
        assert!(out.contains("keepalived_gratuitous_arp_delay_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"} 5"));
    }

    #[test]
    fn label_values_are_escaped_as_the_exposition_format_requires() {
        assert_eq!(label("VI_1"), "VI_1");
        assert_eq!(label("a\"b"), "a\\\"b");
        assert_eq!(label("a\\b"), "a\\\\b");
        assert_eq!(label("a\nb"), "a\\nb");
    }
}
