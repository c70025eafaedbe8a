//! Prometheus text exposition (`--metrics ADDR`), on a minimal HTTP/1.1 listener.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::warn;

use super::Reporter;
use super::model::{InstanceStats, Stats, Status, state_value};

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
            i.name,
            i.interface,
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
            i.name, i.effective_priority
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
            let _ = writeln!(out, "{name}{{instance=\"{}\"}} {}", i.name, value(i));
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

pub async fn serve(address: SocketAddr, reporter: Arc<dyn Reporter>) {
    let listener = match TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            warn!("metrics listener {address}: {error}");
            return;
        }
    };
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let body =
                tokio::task::spawn_blocking(move || render(&reporter.status(), &reporter.stats()))
                    .await
                    .unwrap_or_default();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
