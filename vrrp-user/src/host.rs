//! Facts about the host vrrpd runs on, read where keepalived reads them.

/// The host name: keepalived's default `config_id`, `router_id` and SMTP HELO name.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}
