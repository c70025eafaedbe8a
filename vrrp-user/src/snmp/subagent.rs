//! The AgentX session with the master agent (net-snmp's snmpd), on a task of its own so that
//! nothing snmpd does (down at start, restarted, slow, hung) reaches the protocol thread:
//! requests are answered from a [`View`] built on demand, notifications go through a bounded
//! queue that drops rather than waits, and a lost session is opened again every second until
//! the master is back, its subtrees registered anew.

use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::agentx::{self, Received, VarBind};
use super::mib::{Enabled, View};

/// keepalived's default master agent socket (net-snmp's AGENTX_MASTER_PATH).
pub const DEFAULT_SOCKET: &str = "unix:/var/agentx/master";
/// KEEPALIVED-MIB::keepalived, the subagent's identity in its Open.
const IDENTITY: [u32; 9] = super::mib::KEEPALIVED;
/// How long snmpd may take over one of our PDUs before the session is given up.
const MASTER_TIMEOUT: Duration = Duration::from_secs(5);
const RECONNECT_EVERY: Duration = Duration::from_secs(1);
const PING_EVERY: Duration = Duration::from_secs(15);
/// A larger PDU from the master is not AgentX as snmpd speaks it.
const MAX_PDU: usize = 1 << 20;
/// Notifications waiting for the session; beyond this they are dropped (and counted in the log).
const QUEUE: usize = 256;
/// How long a built view answers requests: a walk is many GetNexts, and 1000 instances make
/// tens of thousands of objects.
const VIEW_LIFETIME: Duration = Duration::from_millis(100);

/// Where the master agent listens: `unix:PATH` (or a bare path) or `tcp:HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(std::path::PathBuf),
    Tcp(String),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("snmp_socket '{0}': vrrpd speaks AgentX over unix and tcp sockets only")]
    Unsupported(String),
}

impl Endpoint {
    /// net-snmp's transport specifications, as keepalived's `snmp_socket` takes them.
    pub fn parse(text: &str) -> Result<Endpoint, EndpointError> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Endpoint::Unix(path.into()));
        }
        if text.starts_with('/') {
            return Ok(Endpoint::Unix(text.into()));
        }
        if let Some(address) = text.strip_prefix("tcp:") {
            return Ok(Endpoint::Tcp(address.to_string()));
        }
        Err(EndpointError::Unsupported(text.to_string()))
    }
}

#[derive(Debug, Error)]
enum SessionError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the master agent did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the master agent closed the session (reason {0})")]
    Closed(u8),
    #[error("the master agent refused {what} (error {code})")]
    Refused { what: String, code: u16 },
    #[error("malformed PDU from the master agent: {0}")]
    Malformed(#[from] agentx::DecodeError),
}

/// The daemon's side: notifications in, the session's task behind.
pub struct Subagent {
    notifications: Notifier,
    task: tokio::task::JoinHandle<()>,
    /// Tasks that feed the session and end with it.
    companions: Vec<tokio::task::JoinHandle<()>>,
    /// What it was started with, to tell whether a reload changes it.
    pub endpoint: Endpoint,
    pub enabled: Enabled,
}

impl Subagent {
    /// Starts the session task; `view` builds the objects served (from the daemon's state).
    pub fn start(
        endpoint: Endpoint,
        enabled: Enabled,
        view: Arc<dyn Fn() -> View + Send + Sync>,
    ) -> Subagent {
        let (notifications, queue) = mpsc::channel(QUEUE);
        info!("Starting SNMP subagent");
        let task = tokio::spawn(run(endpoint.clone(), enabled, view, queue));
        Subagent {
            notifications: Notifier(notifications),
            task,
            companions: Vec::new(),
            endpoint,
            enabled,
        }
    }

    /// Queues a notification (snmpTrapOID.0 first); dropped when the queue is full.
    pub fn notify(&self, varbinds: Vec<VarBind>) {
        self.notifications.notify(varbinds);
    }

    /// A handle that queues notifications, for a task of its own.
    pub fn notifier(&self) -> Notifier {
        self.notifications.clone()
    }

    /// Ends `task` with the session.
    pub fn accompany(&mut self, task: tokio::task::JoinHandle<()>) {
        self.companions.push(task);
    }
}

impl Drop for Subagent {
    fn drop(&mut self) {
        self.task.abort();
        for task in &self.companions {
            task.abort();
        }
    }
}

/// Queues notifications for the session.
#[derive(Clone)]
pub struct Notifier(mpsc::Sender<Vec<VarBind>>);

impl Notifier {
    /// Queues a notification (snmpTrapOID.0 first); dropped when the queue is full.
    pub fn notify(&self, varbinds: Vec<VarBind>) {
        if self.0.try_send(varbinds).is_err() {
            warn!("SNMP: the notification queue is full; a notification is dropped");
        }
    }
}

/// A stream to the master agent, whichever transport.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

async fn connect(endpoint: &Endpoint) -> std::io::Result<Box<dyn Transport>> {
    Ok(match endpoint {
        Endpoint::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
        Endpoint::Tcp(address) => Box::new(tokio::net::TcpStream::connect(address).await?),
    })
}

async fn run(
    endpoint: Endpoint,
    enabled: Enabled,
    view: Arc<dyn Fn() -> View + Send + Sync>,
    mut queue: mpsc::Receiver<Vec<VarBind>>,
) {
    let mut reported_down = false;
    loop {
        match connect(&endpoint).await {
            Ok(stream) => {
                reported_down = false;
                if let Err(error) = session(stream, &endpoint, enabled, &view, &mut queue).await {
                    warn!("SNMP: AgentX session ended: {error}; reconnecting");
                }
            }
            Err(error) => {
                if !reported_down {
                    warn!(
                        "SNMP: no AgentX master at {endpoint:?} ({error}); trying again every {RECONNECT_EVERY:?}"
                    );
                    reported_down = true;
                }
            }
        }
        // Notifications raised while there is no session are lost, as keepalived's are.
        while queue.try_recv().is_ok() {}
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
}

/// Reads one whole PDU.
async fn read_pdu<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, SessionError> {
    let mut bytes = vec![0u8; agentx::HEADER_LEN];
    stream.read_exact(&mut bytes).await?;
    let length = agentx::pdu_length(&bytes).ok_or(agentx::DecodeError::Truncated)?;
    if length > MAX_PDU {
        return Err(agentx::DecodeError::Truncated.into());
    }
    bytes.resize(length, 0);
    stream.read_exact(&mut bytes[agentx::HEADER_LEN..]).await?;
    Ok(bytes)
}

async fn write_pdu<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
) -> Result<(), SessionError> {
    tokio::time::timeout(MASTER_TIMEOUT, stream.write_all(bytes))
        .await
        .map_err(|_| SessionError::Timeout(MASTER_TIMEOUT))??;
    Ok(())
}

/// Sends a request and waits for its Response (the session is still being set up, so nothing
/// else arrives meanwhile).
async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    what: &str,
) -> Result<agentx::Header, SessionError> {
    write_pdu(stream, bytes).await?;
    let answer = tokio::time::timeout(MASTER_TIMEOUT, read_pdu(stream))
        .await
        .map_err(|_| SessionError::Timeout(MASTER_TIMEOUT))??;
    match agentx::decode(&answer)? {
        Received::Response { header, error, .. } if error == agentx::error::NO_ERROR => Ok(header),
        Received::Response { error, .. } => Err(SessionError::Refused {
            what: what.to_string(),
            code: error,
        }),
        Received::Close { reason, .. } => Err(SessionError::Closed(reason)),
        _ => Err(agentx::DecodeError::Truncated.into()),
    }
}

/// A view built at most [`VIEW_LIFETIME`] ago.
struct CachedView {
    built: Option<(Instant, View)>,
}

impl CachedView {
    fn get(&mut self, build: &(dyn Fn() -> View + Send + Sync)) -> &View {
        let stale = self
            .built
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() >= VIEW_LIFETIME);
        if stale {
            self.built = None;
        }
        &self
            .built
            .get_or_insert_with(|| (Instant::now(), build()))
            .1
    }
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    endpoint: &Endpoint,
    enabled: Enabled,
    build: &Arc<dyn Fn() -> View + Send + Sync>,
    queue: &mut mpsc::Receiver<Vec<VarBind>>,
) -> Result<(), SessionError> {
    let mut packet_id = 1u32;
    let opened = request(
        &mut stream,
        &agentx::open(
            packet_id,
            MASTER_TIMEOUT.as_secs() as u8,
            &IDENTITY,
            "vrrpd",
        ),
        "the session",
    )
    .await?;
    let session_id = opened.session_id;
    for subtree in enabled.subtrees() {
        packet_id += 1;
        let dotted = subtree
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".");
        request(
            &mut stream,
            &agentx::register(session_id, packet_id, &subtree),
            &format!("the registration of {dotted}"),
        )
        .await?;
    }
    info!("SNMP: AgentX subagent connected to {endpoint:?}, session {session_id}");
    let started = Instant::now();
    let mut views = CachedView { built: None };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // Requests of ours (pings, notifications) not answered yet, with when they were sent.
    let mut outstanding: Option<Instant> = None;
    let (mut reader, mut writer) = tokio::io::split(stream);
    loop {
        tokio::select! {
            pdu = read_pdu(&mut reader) => {
                let received = agentx::decode(&pdu?);
                if matches!(received, Ok(Received::Response { .. })) {
                    outstanding = None;
                }
                let answer = match received {
                    Ok(received) => answer(received, &mut views, build.as_ref(), started)?,
                    Err(error) => {
                        warn!("SNMP: {error}");
                        None
                    }
                };
                if let Some(answer) = answer {
                    write_pdu(&mut writer, &answer).await?;
                }
            }
            varbinds = queue.recv() => {
                let Some(varbinds) = varbinds else { return Ok(()) };
                packet_id = packet_id.wrapping_add(1);
                write_pdu(&mut writer, &agentx::notify(session_id, packet_id, &varbinds)).await?;
                outstanding.get_or_insert_with(Instant::now);
            }
            _ = ping.tick() => {
                if outstanding.is_some_and(|sent| sent.elapsed() > MASTER_TIMEOUT) {
                    return Err(SessionError::Timeout(MASTER_TIMEOUT));
                }
                packet_id = packet_id.wrapping_add(1);
                write_pdu(&mut writer, &agentx::ping(session_id, packet_id)).await?;
                outstanding.get_or_insert_with(Instant::now);
            }
        }
    }
}

/// The answer to one PDU from the master, if it wants one.
fn answer(
    received: Received,
    views: &mut CachedView,
    build: &(dyn Fn() -> View + Send + Sync),
    started: Instant,
) -> Result<Option<Vec<u8>>, SessionError> {
    let uptime = (started.elapsed().as_millis() / 10) as u32;
    let reply = |header: &agentx::Header, error: u16, varbinds: &[VarBind]| {
        Some(agentx::response(header, uptime, error, 0, varbinds))
    };
    Ok(match received {
        Received::Get { header, ranges } => {
            let view = views.get(build);
            let varbinds: Vec<VarBind> = ranges.iter().map(|r| view.get(&r.start)).collect();
            reply(&header, agentx::error::NO_ERROR, &varbinds)
        }
        Received::GetNext { header, ranges } => {
            let view = views.get(build);
            let varbinds: Vec<VarBind> = ranges.iter().map(|r| view.next(r)).collect();
            reply(&header, agentx::error::NO_ERROR, &varbinds)
        }
        Received::GetBulk {
            header,
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            let view = views.get(build);
            let varbinds = view.bulk(
                usize::from(non_repeaters),
                usize::from(max_repetitions),
                &ranges,
            );
            reply(&header, agentx::error::NO_ERROR, &varbinds)
        }
        // The objects are read-only (keepalived's few writable ones are not offered).
        Received::Set { header } => match header.kind {
            agentx::PduType::TestSet => reply(&header, agentx::error::NOT_WRITABLE, &[]),
            _ => reply(&header, agentx::error::NO_ERROR, &[]),
        },
        Received::Close { reason, .. } => return Err(SessionError::Closed(reason)),
        Received::Response { error, .. } => {
            if error != agentx::error::NO_ERROR {
                warn!("SNMP: the master agent answered error {error}");
            }
            None
        }
        Received::Other { header } => reply(&header, agentx::error::PARSE_ERROR, &[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_net_snmp_transport_specifications() {
        assert_eq!(
            Endpoint::parse("unix:/var/agentx/master"),
            Ok(Endpoint::Unix("/var/agentx/master".into()))
        );
        assert_eq!(
            Endpoint::parse("/run/agentx"),
            Ok(Endpoint::Unix("/run/agentx".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp:192.0.2.1:705"),
            Ok(Endpoint::Tcp("192.0.2.1:705".into()))
        );
        assert!(Endpoint::parse("udp:192.0.2.1:705").is_err());
    }
}
