//! Prometheus exposition (`--metrics ADDR`), served by `http` in the OpenMetrics text format of
//! the prometheus-client crate: vrrpd's own families, and the series mehdy/keepalived-exporter
//! publishes for keepalived (derived, as that exporter derives them, from keepalived's JSON
//! dump), so that its dashboards show vrrpd unchanged. Each scrape builds a registry from the
//! daemon's snapshots; nothing is kept between scrapes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::warn;

use super::Reporter;
use super::http::{self, Listener, Routes};
use super::model::{InstanceStats, Stats, Status, state_value};

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label pairs in the order they are written (the crate escapes the values).
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A counter family registered as `name` (the exposition adds `_total`).
fn counters(
    registry: &mut Registry,
    name: &str,
    help: &str,
) -> Family<Labels, Counter<f64, AtomicU64>> {
    let family = Family::<Labels, Counter<f64, AtomicU64>>::default();
    registry.register(name, help, family.clone());
    family
}

fn gauges(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

/// Renders the metrics for one scrape; `keepalived` is keepalived's JSON dump of the instances.
pub fn render(status: &Status, stats: &Stats, keepalived: &serde_json::Value) -> String {
    let mut registry = Registry::default();
    keepalived_exporter_series(keepalived, &mut registry);
    vrrpd_series(status, stats, &mut registry);
    let mut out = String::new();
    if let Err(error) = encode(&mut out, &registry) {
        warn!("metrics: {error}");
    }
    out
}

/// vrrpd's own families.
fn vrrpd_series(status: &Status, stats: &Stats, registry: &mut Registry) {
    let state = gauges(
        registry,
        "vrrp_instance_state",
        "VRRP state: 0 init, 1 backup, 2 master, 3 fault.",
    );
    let priority = gauges(registry, "vrrp_instance_priority", "Effective priority.");
    for i in &status.instances {
        let vrid = i.vrid.to_string();
        state
            .get_or_create(&labels(&[
                ("instance", &i.name),
                ("interface", &i.interface),
                ("vrid", &vrid),
            ]))
            .set(i64::from(state_value(&i.state)));
        priority
            .get_or_create(&labels(&[("instance", &i.name)]))
            .set(i64::from(i.effective_priority));
    }
    type PerInstance = (&'static str, &'static str, fn(&InstanceStats) -> u64);
    let per_instance: [PerInstance; 5] = [
        ("vrrp_transitions", "State transitions.", |s| s.transitions),
        ("vrrp_adverts_sent", "Adverts sent.", |s| s.adverts_sent),
        (
            "vrrp_adverts_processed",
            "Adverts the state machine processed.",
            |s| s.adverts_received,
        ),
        (
            "vrrp_gratuitous_sent",
            "Gratuitous ARPs and unsolicited NAs sent.",
            |s| s.gratuitous_sent,
        ),
        ("vrrp_priority_zero_sent", "Priority-0 adverts sent.", |s| {
            s.priority_zero_sent
        }),
    ];
    for (name, help, value) in per_instance {
        let family = counters(registry, name, help);
        for i in &stats.instances {
            family
                .get_or_create(&labels(&[("instance", &i.name)]))
                .inc_by(value(i) as f64);
        }
    }
    let received = counters(
        registry,
        "vrrp_adverts_received",
        "Adverts received by the datapath, by outcome.",
    );
    let valid = stats
        .datapath
        .counters
        .get("adverts_valid")
        .copied()
        .unwrap_or(0);
    received
        .get_or_create(&labels(&[("reason", "valid")]))
        .inc_by(valid as f64);
    for (reason, value) in &stats.datapath.drops {
        received
            .get_or_create(&labels(&[("reason", reason)]))
            .inc_by(*value as f64);
    }
    let drops = counters(
        registry,
        "vrrp_xdp_drops",
        "Frames the datapath dropped, by reason.",
    );
    for (reason, value) in &stats.datapath.drops {
        drops
            .get_or_create(&labels(&[
                ("reason", reason),
                ("mode", &stats.datapath.mode),
            ]))
            .inc_by(*value as f64);
    }
    let events = counters(registry, "vrrp_datapath_events", "Datapath counters.");
    for (name, value) in &stats.datapath.counters {
        events
            .get_or_create(&labels(&[("counter", name)]))
            .inc_by(*value as f64);
    }
}

/// keepalived-exporter's per-instance counters: (series without its `_total`, help, the dump's
/// stats or data key).
const EXPORTER_COUNTERS: [(&str, &str, &str); 15] = [
    (
        "keepalived_advertisements_received",
        "Advertisements received",
        "advert_rcvd",
    ),
    (
        "keepalived_advertisements_sent",
        "Advertisements sent",
        "advert_sent",
    ),
    ("keepalived_become_master", "Became master", "become_master"),
    (
        "keepalived_release_master",
        "Released master",
        "release_master",
    ),
    (
        "keepalived_packet_length_errors",
        "Packet length errors",
        "packet_len_err",
    ),
    (
        "keepalived_advertisements_interval_errors",
        "Advertisement interval errors",
        "advert_interval_err",
    ),
    ("keepalived_ip_ttl_errors", "TTL errors", "ip_ttl_err"),
    (
        "keepalived_invalid_type_received",
        "Invalid type errors",
        "invalid_type_rcvd",
    ),
    (
        "keepalived_address_list_errors",
        "Address list errors",
        "addr_list_err",
    ),
    (
        "keepalived_authentication_invalid",
        "Authentication invalid",
        "invalid_authtype",
    ),
    (
        "keepalived_authentication_mismatch",
        "Authentication mismatch",
        "authtype_mismatch",
    ),
    (
        "keepalived_authentication_failure",
        "Authentication failure",
        "auth_failure",
    ),
    (
        "keepalived_priority_zero_received",
        "Priority zero received",
        "pri_zero_rcvd",
    ),
    (
        "keepalived_priority_zero_sent",
        "Priority zero sent",
        "pri_zero_sent",
    ),
    (
        "keepalived_gratuitous_arp_delay",
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
fn keepalived_exporter_series(dump: &serde_json::Value, registry: &mut Registry) {
    let instances = dump.as_array().map(Vec::as_slice).unwrap_or_default();
    let up = Gauge::<i64>::default();
    up.set(1);
    registry.register("keepalived_up", "Status", up);
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    let common = |instance: &serde_json::Value| {
        let data = &instance["data"];
        let vrid = data["vrid"].as_u64().unwrap_or(0).to_string();
        let state = exporter_state(data["state"].as_u64().unwrap_or(0));
        labels(&[
            ("iname", &text(&data["iname"])),
            ("intf", &text(&data["ifp_ifname"])),
            ("vrid", &vrid),
            ("state", state),
        ])
    };
    for (name, help, key) in EXPORTER_COUNTERS {
        let family = counters(registry, name, help);
        for instance in instances {
            let value = instance["stats"][key]
                .as_f64()
                .or(instance["data"][key].as_f64())
                .unwrap_or(0.0);
            family.get_or_create(&common(instance)).inc_by(value);
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
        let family = gauges(registry, name, help);
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
                let vrid = data["vrid"].as_u64().unwrap_or(0).to_string();
                family
                    .get_or_create(&labels(&[
                        ("iname", &text(&data["iname"])),
                        ("intf", interface),
                        ("vrid", &vrid),
                        ("ip_address", ip),
                    ]))
                    .set(data["state"].as_i64().unwrap_or(0));
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

    /// The samples of `text`: (series name with its labels as written, value).
    fn samples(text: &str) -> Vec<(String, f64)> {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                Some((series.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn keepalived_exporter_series_have_its_names_and_labels() {
        let dump = serde_json::json!([{
            "data": {"iname": "VI_1", "ifp_ifname": "eth0", "vrid": 51, "state": 2,
                     "garp_delay": 5,
                     "vips": ["192.0.2.99/24 dev eth0 scope global set"],
                     "evips": ["192.0.2.98/24 dev eth0 scope global set"]},
            "stats": {"advert_rcvd": 3, "advert_sent": 7, "become_master": 1}
        }]);
        let mut registry = Registry::default();
        keepalived_exporter_series(&dump, &mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).expect("encode");
        let found = samples(&out);
        for (name, labels) in EXPORTER_GOLDEN {
            let (series, _) = found
                .iter()
                .find(|(series, _)| series.starts_with(&format!("{name}{{")) || series == name)
                .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
            let names: Vec<&str> = series
                .split_once('{')
                .map(|(_, rest)| rest.split('}').next().unwrap_or_default())
                .unwrap_or_default()
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| pair.split_once('=').map(|(key, _)| key))
                .collect();
            assert_eq!(names, labels, "{series}");
            let family = name.strip_suffix("_total").unwrap_or(name);
            assert!(
                out.contains(&format!("# TYPE {family} ")),
                "{name} has its TYPE"
            );
        }
        let value = |series: &str| {
            found
                .iter()
                .find(|(s, _)| s == series)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{series} missing:\n{out}"))
        };
        assert_eq!(
            value(
                "keepalived_advertisements_sent_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"}"
            ),
            7.0
        );
        assert_eq!(
            value(
                "keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.99/24\"}"
            ),
            2.0
        );
        assert_eq!(
            value(
                "keepalived_gratuitous_arp_delay_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",state=\"MASTER\"}"
            ),
            5.0
        );
    }

    #[test]
    fn label_values_are_escaped_as_the_exposition_format_requires() {
        let dump = serde_json::json!([{
            "data": {"iname": "a\"b\\c\nd", "ifp_ifname": "eth0", "vrid": 51, "state": 1},
            "stats": {}
        }]);
        let mut registry = Registry::default();
        keepalived_exporter_series(&dump, &mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).expect("encode");
        assert!(out.contains(r#"iname="a\"b\\c\nd""#), "{out}");
    }
}
