//! systemd's readiness protocol (sd_notify), without a library: one datagram to
//! `$NOTIFY_SOCKET` per state (READY=1, STATUS=..., STOPPING=1). Nothing happens outside systemd.

use std::os::unix::net::UnixDatagram;

/// Sends `message` if vrrpd runs under systemd with Type=notify.
pub fn notify(message: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    // An abstract socket is written with a leading '@'.
    let _ = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|address| socket.send_to_addr(message.as_bytes(), &address))
    } else {
        socket.send_to(message.as_bytes(), std::path::Path::new(&path))
    };
}
