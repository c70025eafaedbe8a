//! Prometheus text exposition (`--metrics ADDR`), served by `http`.

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

/// Renders the metrics for one scrape.
pub fn render(status: &Status, stats: &Stats) -> String {
    let mut out = String::new();
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

/// Serves `GET /metrics` on `address` until the daemon stops.
pub async fn serve(address: SocketAddr, reporter: Arc<dyn Reporter>) {
    match TcpListener::bind(address).await {
        Ok(listener) => http::serve(Listener::Tcp(listener), Routes::Metrics, reporter).await,
        Err(error) => warn!("metrics listener {address}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn label_values_are_escaped_as_the_exposition_format_requires() {
        assert_eq!(label("VI_1"), "VI_1");
        assert_eq!(label("a\"b"), "a\\\"b");
        assert_eq!(label("a\\b"), "a\\\\b");
        assert_eq!(label("a\nb"), "a\\nb");
    }
}
