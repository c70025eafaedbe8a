//! The notifications keepalived sends on a transition (with `enable_traps`), varbind for
//! varbind as keepalived 2.2.7's vrrp_snmp.c builds them, sans-IO.
//!
//! keepalived names vrrpInstanceName, vrrpInstanceState and vrrpInstanceInitialState (and the
//! sync group's columns) without an instance index; kept, since trap handlers match on it.

use std::net::IpAddr;

use vrrp_common::maps::State;
use vrrp_common::wire::Family;

use super::agentx::{Oid, Value, VarBind};
use super::mib::{Enabled, KEEPALIVED, Running, VRRP_MIB, VRRPV3_MIB, oid};
use crate::fsm::keepalived_state_number;

/// SNMPv2-MIB::snmpTrapOID.0.
const SNMP_TRAP_OID: [u32; 11] = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

fn trap(notification: Oid, mut objects: Vec<VarBind>) -> Vec<VarBind> {
    objects.insert(
        0,
        VarBind {
            name: SNMP_TRAP_OID.to_vec(),
            value: Value::ObjectIdentifier(notification),
        },
    );
    objects
}

fn object(name: Oid, value: Value) -> VarBind {
    VarBind { name, value }
}

fn state(value: State) -> Value {
    Value::Integer(i32::from(keepalived_state_number(value)))
}

/// KEEPALIVED-MIB::vrrpInstanceStateChange.
pub fn instance_state_change(
    name: &str,
    to: State,
    initial: State,
    router_id: &str,
) -> Vec<VarBind> {
    let vrrp = |suffix: &[u32]| oid(&KEEPALIVED, &oid(&[2], suffix));
    trap(
        vrrp(&[10, 0, 2]),
        vec![
            object(vrrp(&[3, 1, 2]), Value::string(name)),
            object(vrrp(&[3, 1, 4]), state(to)),
            object(vrrp(&[3, 1, 5]), state(initial)),
            object(oid(&KEEPALIVED, &[1, 2, 0]), Value::string(router_id)),
        ],
    )
}

/// KEEPALIVED-MIB::vrrpSyncGroupStateChange.
pub fn group_state_change(name: &str, to: State, router_id: &str) -> Vec<VarBind> {
    let vrrp = |suffix: &[u32]| oid(&KEEPALIVED, &oid(&[2], suffix));
    trap(
        vrrp(&[10, 0, 1]),
        vec![
            object(vrrp(&[1, 1, 2]), Value::string(name)),
            object(vrrp(&[1, 1, 3]), state(to)),
            object(oid(&KEEPALIVED, &[1, 2, 0]), Value::string(router_id)),
        ],
    )
}

/// VRRP-MIB::vrrpTrapNewMaster: vrrpOperMasterIpAddr is the new master's (our) address.
fn rfc2787_new_master(plan: &Running) -> Option<Vec<VarBind>> {
    let IpAddr::V4(source) = plan.source else {
        return None;
    };
    Some(trap(
        oid(&VRRP_MIB, &[0, 1]),
        vec![object(
            oid(
                &VRRP_MIB,
                &[1, 3, 1, 7, plan.ifindex, u32::from(plan.config.vrid)],
            ),
            Value::IpAddress(source.octets()),
        )],
    ))
}

/// VRRP-MIB::vrrpTrapAuthFailure for adverts from `source` with the wrong password:
/// vrrpTrapPacketSrc and vrrpTrapAuthErrorType authFailure(3), or authTypeMismatch(2) for
/// another authentication type. Like keepalived, for the instances RFC 2787 describes only
/// (VRRPv2 over IPv4 with a virtual address).
pub fn auth_failure(plan: &Running, source: IpAddr, type_mismatch: bool) -> Option<Vec<VarBind>> {
    let IpAddr::V4(source) = source else {
        return None;
    };
    if plan.config.version != vrrp_common::wire::vrrp::Version::V2
        || plan.config.addresses.is_empty()
    {
        return None;
    }
    let row = [plan.ifindex, u32::from(plan.config.vrid)];
    Some(trap(
        oid(&VRRP_MIB, &[0, 2]),
        vec![
            object(
                oid(&VRRP_MIB, &oid(&[1, 5], &row)),
                Value::IpAddress(source.octets()),
            ),
            object(
                oid(&VRRP_MIB, &oid(&[1, 6], &row)),
                Value::Integer(if type_mismatch { 2 } else { 3 }),
            ),
        ],
    ))
}

/// An instance's row in VRRPV3-MIB's tables: interface, VRID, address type.
fn rfc6527_row(plan: &Running) -> [u32; 3] {
    let family = match plan.family {
        Family::Ipv4 => 1,
        Family::Ipv6 => 2,
    };
    [plan.ifindex, u32::from(plan.config.vrid), family]
}

/// VRRPV3-MIB::vrrpv3ProtoError, with vrrpv3StatisticsProtoErrReason (keepalived's
/// vrrp_rfcv3_snmp_proto_err_notify).
pub fn proto_error(plan: &Running, reason: i32) -> Vec<VarBind> {
    trap(
        oid(&VRRPV3_MIB, &[0, 2]),
        vec![object(
            oid(&VRRPV3_MIB, &oid(&[1, 2, 5, 1, 6], &rfc6527_row(plan))),
            Value::Integer(reason),
        )],
    )
}

/// VRRPV3-MIB::vrrpv3NewMaster, with vrrpv3OperationsMasterIpAddr and the reason.
fn rfc6527_new_master(plan: &Running, reason: i32) -> Vec<VarBind> {
    let row = rfc6527_row(plan);
    let master = match plan.source {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    trap(
        oid(&VRRPV3_MIB, &[0, 1]),
        vec![
            object(
                oid(&VRRPV3_MIB, &oid(&[1, 1, 1, 1, 3], &row)),
                Value::OctetString(master),
            ),
            object(
                oid(&VRRPV3_MIB, &oid(&[1, 2, 5, 1, 2], &row)),
                Value::Integer(reason),
            ),
        ],
    )
}

/// What keepalived sends when `plan`'s instance enters `to` (`reason` as the state machine
/// describes it), in keepalived's order: its own trap, then the standard MIBs' new-master
/// notifications (for the instances those MIBs list).
pub fn on_transition(
    enabled: Enabled,
    plan: &Running,
    to: State,
    initial: State,
    reason: &str,
    router_id: &str,
) -> Vec<Vec<VarBind>> {
    let mut traps = Vec::new();
    if enabled.keepalived {
        traps.push(instance_state_change(plan.name(), to, initial, router_id));
    }
    let has_vips = !plan.config.addresses.is_empty();
    if to == State::Master && has_vips {
        let v2 = plan.config.version == vrrp_common::wire::vrrp::Version::V2;
        if enabled.rfcv2
            && v2
            && let Some(notification) = rfc2787_new_master(plan)
        {
            traps.push(notification);
        }
        if enabled.rfcv3 {
            traps.push(rfc6527_new_master(
                plan,
                super::vrrp_mib::master_reason_of(reason),
            ));
        }
    }
    traps
}
