//! The standard VRRP MIBs as keepalived 2.2.7 serves them (keepalived/vrrp/vrrp_snmp.c):
//! VRRP-MIB (RFC 2787) for the VRRPv2 IPv4 instances, VRRPV3-MIB (RFC 6527) for every
//! instance (Debian's keepalived is built with SNMP_V3_FOR_V2, so its VRRPv2 instances appear
//! there too). Like keepalived, an instance without a virtual address is in neither.
//!
//! keepalived's quirks are kept where a manager would see them: vrrpOperMasterIpAddr is the
//! last master heard (0.0.0.0 on a master that never heard one), and the RFC 6527 address
//! index carries no length octet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_common::maps::State;
use vrrp_common::stats::{ReceiveError, ReceiveErrors};
use vrrp_common::wire::Family;

use super::agentx::Value;
use super::mib::{Inputs, Running, VRRP_MIB, VRRPV3_MIB, View, oid};
use crate::config::model::Authentication;
use crate::control::model::InstanceSnapshot;
use vrrp_common::wire::vrrp::Version;

/// The RFCs' states: initialize(1), backup(2), master(3); FAULT shows as initialize.
fn rfc_state(state: State) -> Value {
    Value::Integer(match state {
        State::Backup => 2,
        State::Master => 3,
        State::Initialize | State::Fault => 1,
    })
}

/// vrrpv3StatisticsNewMasterReason of a takeover the state machine described as `reason`:
/// priority(1) for the address owner and, as keepalived counts it, for a master that resigned
/// (priority 0); masterNoResponse(3) when the Master_Down_Timer fired (a preempting backup
/// lets it fire, RFC 5798 6.4.2). preempted(2) never applies.
pub fn master_reason_of(reason: &str) -> i32 {
    if reason.starts_with("address owner") || reason.starts_with("master resigned") {
        1
    } else {
        3
    }
}

/// The reason of the instance's current mastership, notMaster(0) when it is not master.
fn master_reason(snapshot: &InstanceSnapshot) -> i32 {
    match (&snapshot.state, &snapshot.last_transition) {
        (State::Master, Some((_, reason))) => master_reason_of(reason),
        (State::Master, None) => 3,
        _ => 0,
    }
}

/// The master this router last heard (keepalived's master_saddr), or the family's zero.
fn heard_master(snapshot: &InstanceSnapshot) -> IpAddr {
    if snapshot.liveness.last_reset_ns != 0 {
        vrrp_common::wire::raw_to_ip(snapshot.family, &snapshot.liveness.master)
    } else {
        match snapshot.family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

fn octets(address: IpAddr) -> Vec<u8> {
    match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn ipv4(address: IpAddr) -> [u8; 4] {
    match address {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

fn uptime(inputs: &Inputs, state: State) -> Value {
    Value::TimeTicks(match state {
        State::Backup | State::Master => inputs.uptime_cs,
        _ => 0,
    })
}

/// Adverts received: in XDP mode the kernel's record counts every valid one.
fn adverts_received(snapshot: &InstanceSnapshot) -> u64 {
    snapshot
        .counters
        .adverts_received
        .max(snapshot.adverts_seen())
}

fn family_index(family: Family) -> u32 {
    match family {
        Family::Ipv4 => 1,
        Family::Ipv6 => 2,
    }
}

/// The instances RFC 2787 describes: VRRPv2 over IPv4 with a virtual address.
fn rfc2787_instances<'a>(
    inputs: &'a Inputs<'a>,
) -> impl Iterator<Item = (&'a Running<'a>, &'a InstanceSnapshot)> {
    inputs
        .instances
        .iter()
        .map(|(plan, snapshot)| (plan, *snapshot))
        .filter(|(plan, _)| {
            plan.config.version == Version::V2
                && plan.family == Family::Ipv4
                && !plan.config.addresses.is_empty()
        })
}

pub fn fill_rfc2787(view: &mut View, inputs: &Inputs) {
    let at = |suffix: &[u32]| oid(&VRRP_MIB, suffix);
    // vrrpNodeVersion 2; vrrpNotificationCntl enabled(1) with enable_traps, else disabled(2).
    view.put(at(&[1, 1, 0]), Value::Integer(2));
    view.put(
        at(&[1, 2, 0]),
        Value::Integer(if inputs.config.global.snmp.traps {
            1
        } else {
            2
        }),
    );
    for (plan, snapshot) in rfc2787_instances(inputs) {
        let instance = &plan.config;
        let row = [plan.ifindex, u32::from(instance.vrid)];
        let column = |c: u32| at(&[1, 3, 1, c, row[0], row[1]]);
        view.put(column(2), Value::OctetString(plan.mac.to_vec()));
        view.put(column(3), rfc_state(snapshot.state));
        // vrrpOperAdminState: up(1).
        view.put(column(4), Value::Integer(1));
        view.put(column(5), Value::Integer(i32::from(instance.priority)));
        view.put(column(6), Value::Integer(instance.addresses.len() as i32));
        view.put(column(7), Value::IpAddress(ipv4(heard_master(snapshot))));
        view.put(column(8), Value::IpAddress(ipv4(plan.source)));
        // vrrpOperAuthType: noAuthentication(1), simpleTextPassword(2), ipAuthenticationHeader(3).
        let auth = match instance.authentication {
            None => 1,
            Some(Authentication::Pass(_)) => 2,
            Some(Authentication::Ah(_)) => 3,
        };
        view.put(column(9), Value::Integer(auth));
        // vrrpOperAuthKey (10) reads as nothing, as the RFC asks.
        view.put(
            column(11),
            Value::Integer(i32::from(instance.advert_interval_cs / 100)),
        );
        view.put(
            column(12),
            Value::Integer(if instance.preempt { 1 } else { 2 }),
        );
        view.put(column(13), uptime(inputs, snapshot.state));
        // vrrpOperProtocol ip(1); vrrpOperRowStatus active(1).
        view.put(column(14), Value::Integer(1));
        view.put(column(15), Value::Integer(1));
        for vip in &instance.addresses {
            let mut index = vec![1, 4, 1, 2, row[0], row[1]];
            index.extend(ipv4(vip.address).map(u32::from));
            view.put(at(&index), Value::Integer(1));
        }
        let counters = &snapshot.counters;
        let errors = &snapshot.receive_errors;
        let stats = |c: u32| at(&[2, 4, 1, c, row[0], row[1]]);
        // vrrpStatsAdvertiseIntervalErrors (3) and InvalidAuthType (10) stay 0, as in the
        // JSON dump (see keepalived_json::stats).
        let counted = [
            (1, counters.became_master),
            (2, adverts_received(snapshot)),
            (4, errors.get(ReceiveError::AuthFailure)),
            (5, errors.get(ReceiveError::IpTtl)),
            (6, counters.priority_zero_received),
            (7, counters.priority_zero_sent),
            (8, errors.get(ReceiveError::InvalidType)),
            (9, errors.get(ReceiveError::AddressList)),
            (11, errors.get(ReceiveError::AuthTypeMismatch)),
            (12, errors.get(ReceiveError::PacketLength)),
        ];
        for c in 1..=12 {
            let value = counted
                .iter()
                .find(|(column, _)| *column == c)
                .map_or(0, |(_, v)| *v);
            view.put(stats(c), Value::Counter32(value as u32));
        }
    }
    // vrrpRouterChecksumErrors and VersionErrors: the sums over the RFC 2787 instances, as
    // keepalived serves them; VrIdErrors stays 0 (keepalived never counts it).
    let (checksum, version) = router_errors(rfc2787_instances(inputs).map(|(_, s)| s));
    view.put(at(&[2, 1, 0]), Value::Counter32(checksum as u32));
    view.put(at(&[2, 2, 0]), Value::Counter32(version as u32));
    view.put(at(&[2, 3, 0]), Value::Counter32(0));
}

pub fn fill_rfc6527(view: &mut View, inputs: &Inputs) {
    let at = |suffix: &[u32]| oid(&VRRPV3_MIB, suffix);
    for (plan, snapshot) in inputs
        .instances
        .iter()
        .filter(|(plan, _)| !plan.config.addresses.is_empty())
    {
        let instance = &plan.config;
        let family = plan.family;
        let row = [plan.ifindex, u32::from(instance.vrid), family_index(family)];
        let column = |c: u32| at(&[1, 1, 1, 1, c, row[0], row[1], row[2]]);
        let master = if snapshot.state == State::Master {
            plan.source
        } else {
            heard_master(snapshot)
        };
        view.put(column(3), Value::OctetString(octets(master)));
        view.put(column(4), Value::OctetString(octets(plan.source)));
        view.put(column(5), Value::OctetString(plan.mac.to_vec()));
        view.put(column(6), rfc_state(snapshot.state));
        view.put(column(7), Value::Gauge32(u32::from(instance.priority)));
        view.put(column(8), Value::Integer(instance.addresses.len() as i32));
        view.put(
            column(9),
            Value::Integer(i32::from(instance.advert_interval_cs)),
        );
        view.put(
            column(10),
            Value::Integer(if instance.preempt { 1 } else { 2 }),
        );
        view.put(column(11), Value::Integer(if plan.accept { 1 } else { 2 }));
        view.put(column(12), uptime(inputs, snapshot.state));
        view.put(column(13), Value::Integer(1));
        for vip in &instance.addresses {
            let mut index = vec![1, 1, 2, 1, 2, row[0], row[1], row[2]];
            index.extend(octets(vip.address).into_iter().map(u32::from));
            view.put(at(&index), Value::Integer(1));
        }
        let counters = &snapshot.counters;
        let errors = &snapshot.receive_errors;
        let stats = |c: u32| at(&[1, 2, 5, 1, c, row[0], row[1], row[2]]);
        view.put(stats(1), Value::Counter32(counters.became_master as u32));
        view.put(stats(2), Value::Integer(master_reason(snapshot)));
        view.put(stats(3), Value::Counter64(adverts_received(snapshot)));
        // vrrpv3StatisticsAdvIntervalErrors: 0, as keepalived (see keepalived_json::stats).
        view.put(stats(4), Value::Counter64(0));
        view.put(stats(5), Value::Counter64(errors.get(ReceiveError::IpTtl)));
        let latest = inputs.proto_errors.get(plan.name()).copied().unwrap_or(0);
        view.put(stats(6), Value::Integer(latest));
        view.put(stats(7), Value::Counter64(counters.priority_zero_received));
        view.put(stats(8), Value::Counter64(counters.priority_zero_sent));
        view.put(
            stats(9),
            Value::Counter64(errors.get(ReceiveError::InvalidType)),
        );
        view.put(
            stats(10),
            Value::Counter64(errors.get(ReceiveError::AddressList)),
        );
        view.put(
            stats(11),
            Value::Counter64(errors.get(ReceiveError::PacketLength)),
        );
        view.put(stats(12), Value::TimeTicks(0));
        // vrrpv3StatisticsRefreshRate: the advert interval in milliseconds.
        view.put(
            stats(13),
            Value::Gauge32(u32::from(instance.advert_interval_cs) * 10),
        );
    }
    let (checksum, version) = router_errors(
        inputs
            .instances
            .iter()
            .filter(|(plan, _)| !plan.config.addresses.is_empty())
            .map(|(_, snapshot)| *snapshot),
    );
    view.put(at(&[1, 2, 1, 0]), Value::Counter64(checksum));
    view.put(at(&[1, 2, 2, 0]), Value::Counter64(version));
    view.put(at(&[1, 2, 3, 0]), Value::Counter64(0));
    view.put(at(&[1, 2, 4, 0]), Value::TimeTicks(0));
}

/// RFC 6527's vrrpv3StatisticsProtoErrReason for the protocol errors counted between `before`
/// and `now`: ipTtlError(1), versionError(2) or checksumError(3), in the order keepalived checks
/// an advert (the counters do not say which came last); `None` when none was counted.
pub fn proto_error_reason(before: &ReceiveErrors, now: &ReceiveErrors) -> Option<i32> {
    [
        (ReceiveError::IpTtl, 1),
        (ReceiveError::Version, 2),
        (ReceiveError::Checksum, 3),
    ]
    .into_iter()
    .find(|(error, _)| now.get(*error) > before.get(*error))
    .map(|(_, reason)| reason)
}

/// The router-wide checksum and version errors: the sums over the instances a MIB serves.
fn router_errors<'a>(served: impl Iterator<Item = &'a InstanceSnapshot>) -> (u64, u64) {
    served.fold((0, 0), |(checksum, version), snapshot| {
        let errors = &snapshot.receive_errors;
        (
            checksum + errors.get(ReceiveError::Checksum),
            version + errors.get(ReceiveError::Version),
        )
    })
}
