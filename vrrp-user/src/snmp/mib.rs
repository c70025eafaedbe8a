//! The objects vrrpd serves over AgentX, sans-IO: [`build`] lays the running configuration and
//! the instances' state out as keepalived's three MIBs do ([`super::keepalived_mib`] and
//! [`super::vrrp_mib`]), into a [`View`] that answers Get, GetNext and GetBulk.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use std::net::IpAddr;

use vrrp_common::wire::Family;

use super::agentx::{Oid, SearchRange, Value, VarBind};
use crate::config::Config;
use crate::config::model::Instance;
use crate::control::model::InstanceSnapshot;
use crate::track::{Observation, Source};

/// KEEPALIVED-MIB::keepalived (doc/KEEPALIVED-MIB.txt).
pub const KEEPALIVED: [u32; 9] = [1, 3, 6, 1, 4, 1, 9586, 100, 5];
/// VRRP-MIB::vrrpMIB (RFC 2787).
pub const VRRP_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 68];
/// VRRPV3-MIB::vrrpv3MIB (RFC 6527).
pub const VRRPV3_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 207];

/// `base` followed by `suffix`.
pub fn oid(base: &[u32], suffix: &[u32]) -> Oid {
    let mut oid = Vec::with_capacity(base.len() + suffix.len());
    oid.extend_from_slice(base);
    oid.extend_from_slice(suffix);
    oid
}

/// The objects of the registered subtrees, in OID order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct View {
    objects: BTreeMap<Oid, Value>,
}

impl View {
    pub fn put(&mut self, oid: Oid, value: Value) {
        self.objects.insert(oid, value);
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn objects(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.objects.iter()
    }

    /// RFC 2741 7.2.3.1: the object itself, or noSuchObject.
    pub fn get(&self, oid: &[u32]) -> VarBind {
        VarBind {
            name: oid.to_vec(),
            value: self
                .objects
                .get(oid)
                .cloned()
                .unwrap_or(Value::NoSuchObject),
        }
    }

    /// RFC 2741 7.2.3.2: the first object after the range's start (or at it, when included)
    /// and before its end; endOfMibView, named by the start, when there is none.
    pub fn next(&self, range: &SearchRange) -> VarBind {
        let lower = if range.include {
            Bound::Included(range.start.clone())
        } else {
            Bound::Excluded(range.start.clone())
        };
        self.objects
            .range((lower, Bound::Unbounded))
            .next()
            .filter(|(oid, _)| range.end.is_empty() || **oid < range.end)
            .map(|(oid, value)| VarBind {
                name: oid.clone(),
                value: value.clone(),
            })
            .unwrap_or(VarBind {
                name: range.start.clone(),
                value: Value::EndOfMibView,
            })
    }

    /// RFC 2741 7.2.3.3: the first `non_repeaters` ranges once, then the others
    /// `max_repetitions` times, each repetition going on from the last.
    pub fn bulk(
        &self,
        non_repeaters: usize,
        max_repetitions: usize,
        ranges: &[SearchRange],
    ) -> Vec<VarBind> {
        let split = non_repeaters.min(ranges.len());
        let mut answer: Vec<VarBind> = ranges[..split].iter().map(|r| self.next(r)).collect();
        let mut repeaters: Vec<SearchRange> = ranges[split..].to_vec();
        // A bound on the answer's size whatever the request says (net-snmp asks for at most
        // what fits one SNMP message anyway).
        let repetitions = max_repetitions.min(1024 / repeaters.len().max(1));
        for _ in 0..repetitions {
            if repeaters.is_empty() {
                break;
            }
            let mut all_ended = true;
            for range in &mut repeaters {
                let found = self.next(range);
                if found.value != Value::EndOfMibView {
                    all_ended = false;
                    range.start = found.name.clone();
                    range.include = false;
                }
                answer.push(found);
            }
            if all_ended {
                break;
            }
        }
        answer
    }
}

/// Which MIBs the configuration enables (keepalived's `enable_snmp_vrrp`,
/// `enable_snmp_rfcv2`, `enable_snmp_rfcv3`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub keepalived: bool,
    pub rfcv2: bool,
    pub rfcv3: bool,
}

impl Enabled {
    /// The subtrees to register with the master agent.
    pub fn subtrees(self) -> Vec<Oid> {
        let mut subtrees = Vec::new();
        if self.keepalived {
            // keepalived's VRRP process registers the global scalars and the vrrp tree.
            subtrees.push(oid(&KEEPALIVED, &[1]));
            subtrees.push(oid(&KEEPALIVED, &[2]));
        }
        if self.rfcv2 {
            subtrees.push(VRRP_MIB.to_vec());
        }
        if self.rfcv3 {
            subtrees.push(VRRPV3_MIB.to_vec());
        }
        subtrees
    }
}

/// One running instance as the daemon resolved it against the interfaces.
#[derive(Clone, Copy, Debug)]
pub struct Running<'a> {
    pub config: &'a Instance,
    /// The interface its adverts arrive on (keepalived's IF_BASE_INDEX).
    pub ifindex: u32,
    /// The MAC its addresses answer with: the interface's, or the virtual MAC.
    pub mac: [u8; 6],
    /// The macvlan's name under `use_vmac`.
    pub vmac: Option<&'a str>,
    /// The address its adverts carry.
    pub source: IpAddr,
    pub family: Family,
    /// Accept_Mode as it runs.
    pub accept: bool,
    pub sync_group: Option<&'a str>,
}

impl Running<'_> {
    pub fn name(&self) -> &str {
        &self.config.name
    }
}

/// Everything the MIBs are made of, gathered at the edge.
pub struct Inputs<'a> {
    pub config: &'a Config,
    /// The running instances in the configuration's order (keepalived's instance index is the
    /// position in that list, from 1), with what the protocol thread last published of each.
    pub instances: &'a [(Running<'a>, &'a InstanceSnapshot)],
    pub observations: &'a HashMap<Source, Observation>,
    /// Each instance's latest RFC 6527 protocol error (vrrpv3StatisticsProtoErrReason), by
    /// name; absent: noError.
    pub proto_errors: &'a HashMap<String, i32>,
    /// An interface's index by its name (0 when there is none).
    pub interface_index: &'a dyn Fn(&str) -> u32,
    /// keepalived's routerId default: the host's name.
    pub hostname: &'a str,
    /// The daemon's up time in hundredths of a second (the VRRP MIBs' uptimes).
    pub uptime_cs: u32,
}

impl Inputs<'_> {
    pub fn router_id(&self) -> &str {
        self.config.global.router_id_or(self.hostname)
    }
}

/// The objects of every enabled MIB.
pub fn build(inputs: &Inputs, enabled: Enabled) -> View {
    let mut view = View::default();
    if enabled.keepalived {
        super::keepalived_mib::fill(&mut view, inputs);
    }
    if enabled.rfcv2 {
        super::vrrp_mib::fill_rfc2787(&mut view, inputs);
    }
    if enabled.rfcv3 {
        super::vrrp_mib::fill_rfc6527(&mut view, inputs);
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        let mut view = View::default();
        for (last, value) in [(1, 10), (2, 20), (3, 30)] {
            view.put(vec![1, 3, 6, 1, 2, 1, 68, 1, last], Value::Integer(value));
        }
        view.put(vec![1, 3, 6, 1, 2, 1, 68, 2, 1], Value::Integer(40));
        view
    }

    fn range(start: &[u32], include: bool, end: &[u32]) -> SearchRange {
        SearchRange {
            start: start.to_vec(),
            include,
            end: end.to_vec(),
        }
    }

    #[test]
    fn get_answers_the_object_or_no_such_object() {
        let view = view();
        assert_eq!(
            view.get(&[1, 3, 6, 1, 2, 1, 68, 1, 2]).value,
            Value::Integer(20)
        );
        assert_eq!(
            view.get(&[1, 3, 6, 1, 2, 1, 68, 1]).value,
            Value::NoSuchObject
        );
    }

    #[test]
    fn getnext_honours_include_and_the_upper_bound() {
        let view = view();
        let found = view.next(&range(&[1, 3, 6, 1, 2, 1, 68, 1, 1], false, &[]));
        assert_eq!(found.name, vec![1, 3, 6, 1, 2, 1, 68, 1, 2]);
        let found = view.next(&range(&[1, 3, 6, 1, 2, 1, 68, 1, 1], true, &[]));
        assert_eq!(found.name, vec![1, 3, 6, 1, 2, 1, 68, 1, 1]);
        let found = view.next(&range(&[1, 3, 6, 1, 2, 1, 68], false, &[]));
        assert_eq!(found.value, Value::Integer(10));
        // The end bound excludes what lies at or after it.
        let found = view.next(&range(
            &[1, 3, 6, 1, 2, 1, 68, 1, 3],
            false,
            &[1, 3, 6, 1, 2, 1, 68, 2],
        ));
        assert_eq!(found.value, Value::EndOfMibView);
        assert_eq!(found.name, vec![1, 3, 6, 1, 2, 1, 68, 1, 3]);
    }

    #[test]
    fn getbulk_repeats_from_where_each_repetition_ended() {
        let view = view();
        let answer = view.bulk(
            1,
            3,
            &[
                range(&[1, 3, 6, 1, 2, 1, 68, 1, 3], false, &[]),
                range(&[1, 3, 6, 1, 2, 1, 68], false, &[]),
            ],
        );
        let values: Vec<_> = answer.iter().map(|v| v.value.clone()).collect();
        assert_eq!(
            values,
            vec![
                Value::Integer(40),
                Value::Integer(10),
                Value::Integer(20),
                Value::Integer(30)
            ]
        );
        let tail = view.bulk(0, 5, &[range(&[1, 3, 6, 1, 2, 1, 68, 1, 3], false, &[])]);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[1].value, Value::EndOfMibView);
    }
}
