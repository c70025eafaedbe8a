//! SNMP: vrrpd as an AgentX subagent (RFC 2741) of net-snmp's snmpd, serving what keepalived's
//! VRRP process serves (KEEPALIVED-MIB's global scalars and VRRP tree, VRRP-MIB of RFC 2787,
//! VRRPV3-MIB of RFC 6527) and sending its notifications.
//!
//! - [`agentx`]: the protocol's PDUs (sans-IO).
//! - [`mib`]: the served objects as a sorted view answering Get/GetNext/GetBulk (sans-IO),
//!   filled by [`keepalived_mib`] and [`vrrp_mib`].
//! - [`traps`]: the notifications of a transition (sans-IO).
//! - [`subagent`]: the session with snmpd, on its own task.

pub mod agentx;
pub mod keepalived_mib;
pub mod mib;
pub mod subagent;
pub mod traps;
pub mod vrrp_mib;
