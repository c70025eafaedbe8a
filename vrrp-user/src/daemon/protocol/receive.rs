//! The receive path: records of the XDP program's ring buffer, or adverts read from the raw
//! sockets and judged by the same shared rules.

use tracing::{debug, info, warn};
use vrrp_common::maps::{Event, EventKind, InstanceKey, flags};
use vrrp_common::rules;
use vrrp_common::stats::Counter;
use vrrp_common::time::Instant;
use vrrp_common::wire::ip::IpMeta;
use vrrp_common::wire::raw_from_ip;

use super::{Thread, Unpublished};
use crate::fsm::Input;
use crate::net::advert::AdvertTemplate;
use crate::net::ipsec_ah::Refused;
use crate::net::sys::monotonic_now;

impl Thread {
    /// XDP mode: records of changes the kernel saw.
    pub(super) fn ring_events(&mut self) {
        let mut batch: Vec<Event> = Vec::new();
        if let Some(events) = self.events.as_mut() {
            while let Some(item) = events.next() {
                if item.len() >= std::mem::size_of::<Event>() {
                    // SAFETY: the program writes whole Event records; read_unaligned copes with
                    // the ring buffer's alignment.
                    batch.push(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<Event>()) });
                }
            }
        }
        for event in batch {
            self.on_event(&event);
        }
    }

    pub(super) fn on_event(&mut self, event: &Event) {
        let Some(index) = self.instances.iter().position(|r| r.plan.key == event.key) else {
            return;
        };
        let kind = EventKind::from_u8(event.kind);
        let family = self.instances[index].plan.config.family;
        if kind == Some(EventKind::OldUnicastChecksum) {
            self.use_old_unicast_checksum(index);
            return;
        }
        let refusal = match kind {
            Some(EventKind::AuthFailure) => Some(Counter::DropAuthFailure),
            Some(EventKind::AuthTypeMismatch) => Some(Counter::DropAuthTypeMismatch),
            _ => None,
        };
        if let Some(refusal) = refusal {
            // The program wakes us at most once a second per instance.
            let source = vrrp_common::wire::raw_to_ip(family, &event.source);
            self.report_auth_failure(index, source, refusal);
            return;
        }
        debug!(
            "({}) datapath event {kind:?} priority {}",
            self.instances[index].plan.name(),
            event.priority
        );
        let advert = rules::Advert {
            source: event.source,
            priority: event.priority,
            interval_cs: event.interval_cs,
        };
        let seen = Instant::from_ns(event.timestamp_ns.max(1));
        self.input(index, Input::Advert(advert), seen);
    }

    /// Adverts from `source` with the wrong password or authentication type (`refusal`:
    /// DropAuthFailure or DropAuthTypeMismatch) reached instance `index`: logged, and
    /// keepalived's vrrpTrapAuthFailure sent.
    fn report_auth_failure(&mut self, index: usize, source: std::net::IpAddr, refusal: Counter) {
        let name = self.instances[index].plan.name();
        if refusal == Counter::DropAuthTypeMismatch {
            warn!(
                "({name}) received an advert with another authentication type (from {source}; further ones counted, logged once a second)"
            );
        } else {
            warn!(
                "({name}) received an invalid passwd! (from {source}; further failures counted, logged once a second)"
            );
        }
        let _ = self.outcomes.send(super::Outcome::AuthFailure {
            plan: std::sync::Arc::clone(&self.instances[index].plan),
            source,
            type_mismatch: refusal == Counter::DropAuthTypeMismatch,
        });
    }

    /// Socket mode: read every queued advert from the socket behind `fd` (or, under
    /// `auth_type AH`, from an AH socket in either mode).
    pub(super) fn socket_adverts(&mut self, fd: i32) {
        if let Some((&ifindex, _)) = self.ah_sockets.iter().find(|(_, s)| s.raw_fd() == fd) {
            self.read_adverts(ifindex, fd, true);
        } else if let Some((&(ifindex, _), _)) = self.sockets.iter().find(|(_, s)| s.raw_fd() == fd)
        {
            self.read_adverts(ifindex, fd, false);
        }
    }

    fn read_adverts(&mut self, ifindex: u32, fd: i32, behind_ah: bool) {
        let mut buffer = [0u8; 2048];
        loop {
            let sockets = if behind_ah {
                self.ah_sockets.get(&ifindex)
            } else {
                self.sockets.values().find(|s| s.raw_fd() == fd)
            };
            let received = match sockets.map(|s| s.receive(&mut buffer)) {
                Some(Ok(Some(received))) => received,
                _ => return,
            };
            let now = monotonic_now();
            let mut meta = received.meta;
            if behind_ah {
                let packet = buffer.get(..received.length).unwrap_or(&[]);
                match self.open_ah(ifindex, &meta, packet, now) {
                    Some(message_offset) => {
                        meta.payload_len = meta
                            .payload_len
                            .saturating_sub(message_offset - meta.payload_offset);
                        meta.payload_offset = message_offset;
                    }
                    None => continue,
                }
            }
            let payload = buffer
                .get(meta.payload_offset..meta.payload_offset + meta.payload_len)
                .unwrap_or(&[]);
            self.judge(ifindex, &meta, payload, now);
        }
    }

    /// `auth_type AH`: checks the Authentication Header of `packet` with the instance it is
    /// for, as keepalived does before anything else of the advert; says where the VRRP message
    /// starts, or counts and (at most once a second per instance) logs why it was refused. An
    /// AH packet for no AH instance goes on to the rules, which refuse it by their own reasons.
    fn open_ah(
        &mut self,
        ifindex: u32,
        meta: &IpMeta,
        packet: &[u8],
        now: Instant,
    ) -> Option<usize> {
        let vrid_at = meta.payload_offset + vrrp_common::wire::ah::HEADER_LEN + 1;
        let vrid = packet.get(vrid_at).copied().unwrap_or(0);
        let wanted = InstanceKey::new(ifindex, meta.family, vrid);
        let Some(running) = self
            .instances
            .iter_mut()
            .find(|r| r.plan.key == wanted && r.ah.is_some())
        else {
            return Some(meta.payload_offset + vrrp_common::wire::ah::HEADER_LEN);
        };
        let session = running.ah.as_mut()?;
        match session.open(packet) {
            Ok(opened) => Some(opened.message_offset),
            Err(refused) => {
                self.published.count(Counter::FramesSeen);
                if matches!(refused, Refused::NotVrrp(_)) {
                    // An Authentication Header over another protocol: not ours (keepalived
                    // drops it without a word).
                    self.published.count(Counter::AdvertsNotForUs);
                    return None;
                }
                self.published.count(Counter::DropAuthFailure);
                running.receive_errors.count(Counter::DropAuthFailure);
                if running
                    .refusal_logged_at
                    .is_none_or(|at| now - at >= std::time::Duration::from_secs(1))
                {
                    running.refusal_logged_at = Some(now);
                    warn!(
                        "({}) {refused} (from {}; further refusals counted, logged once a second)",
                        running.plan.name(),
                        vrrp_common::wire::raw_to_ip(meta.family, &meta.source)
                    );
                }
                self.changed(Unpublished::Counters);
                None
            }
        }
    }

    /// One VRRP message read from a socket, judged by the shared rules and handed to its
    /// instance.
    fn judge(&mut self, ifindex: u32, meta: &IpMeta, payload: &[u8], now: Instant) {
        // The instance this message would be for, looked up once, without allocating: the
        // socket path runs once per received frame.
        let vrid = payload.get(1).copied().unwrap_or(0);
        let wanted = InstanceKey::new(ifindex, meta.family, vrid);
        let found = self.instances.iter().position(|r| r.plan.key == wanted);
        let config = found.map(|index| {
            let running = &self.instances[index];
            running.fsm.datapath_config(running.plan.datapath_base)
        });
        let instances = &self.instances;
        let reception = rules::receive_advert(
            ifindex,
            meta,
            payload,
            |key| config.as_ref().filter(|_| *key == wanted),
            |key, source| {
                instances
                    .iter()
                    .filter(|r| r.plan.key == *key)
                    .flat_map(|r| &r.plan.config.unicast_peers)
                    .find(|p| raw_from_ip(p.address).1 == *source)
                    .map(|p| p.ttl_range())
            },
        );
        let counter = match reception.verdict {
            Ok(_) => Counter::AdvertsValid,
            Err(counter) => counter,
        };
        self.published.count(Counter::FramesSeen);
        self.published.count(counter);
        // The rules name the instance (`wanted`) once the message is for it.
        let Some(index) = found.filter(|_| reception.instance.is_some()) else {
            return;
        };
        if let Err(counter) = reception.verdict {
            self.instances[index].receive_errors.count(counter);
            self.changed(Unpublished::Counters);
        }
        if matches!(
            counter,
            Counter::DropAuthFailure | Counter::DropAuthTypeMismatch
        ) && self.instances[index]
            .refusal_logged_at
            .is_none_or(|at| now - at >= std::time::Duration::from_secs(1))
        {
            self.instances[index].refusal_logged_at = Some(now);
            self.report_auth_failure(
                index,
                vrrp_common::wire::raw_to_ip(meta.family, &meta.source),
                counter,
            );
        }
        if reception.old_checksum {
            self.use_old_unicast_checksum(index);
        }
        if let Ok(advert) = reception.verdict {
            if reception.address_list_differs {
                self.published.count(Counter::AddressListMismatch);
                self.instances[index]
                    .receive_errors
                    .count(Counter::AddressListMismatch);
                self.changed(Unpublished::Counters);
                let report = &mut self.instances[index].address_list;
                report.seen += 1;
                report.last_count = reception.address_count;
                self.report_address_list(index, now);
            }
            self.input(index, Input::Advert(advert), now);
        }
    }

    /// A unicast peer sends keepalived's old VRRPv3 checksum (before 1.3.6): as keepalived
    /// does unless `old_unicast_checksum never`, ours follows from the next advert on, and the
    /// datapath checks for that checksum from now on.
    pub(super) fn use_old_unicast_checksum(&mut self, index: usize) {
        let running = &mut self.instances[index];
        if running.plan.datapath_base.flags & flags::OLD_UNICAST_CHECKSUM != 0 {
            return;
        }
        let mut plan = (*running.plan).clone();
        plan.datapath_base.flags |= flags::OLD_UNICAST_CHECKSUM;
        plan.advert.v3_checksum = rules::V3Checksum::OldUnicast;
        let Ok(template) = AdvertTemplate::new(&plan.advert) else {
            return;
        };
        info!(
            "({}) a unicast peer uses keepalived's old VRRPv3 checksum; using it too",
            plan.name()
        );
        running.template = template;
        running.plan = std::sync::Arc::new(plan);
        self.write_datapath_config(index);
    }

    /// Logs adverts whose address list differs from ours, as keepalived 2.3.3 and later do
    /// ("(VI_1) expected N VIPs but received M"), at most once per
    /// [`ADDRESS_LIST_REPORT_GAP`] per instance: during a rolling change of the list every
    /// advert differs, and the adverts are processed all the same.
    pub(super) fn report_address_list(&mut self, index: usize, now: Instant) {
        let running = &mut self.instances[index];
        let report = &mut running.address_list;
        if report.seen == report.reported
            || report
                .logged_at
                .is_some_and(|at| now - at < ADDRESS_LIST_REPORT_GAP)
        {
            return;
        }
        let ours = running.plan.datapath_base.address_count;
        let name = running.plan.name();
        if report.last_count != ours {
            info!(
                "({name}) expected {ours} VIPs but received {} ({} such adverts, processed; logged at most once a minute)",
                report.last_count,
                report.seen - report.reported
            );
        } else {
            info!(
                "({name}) ip address list associated with VRID {} differs in MASTER advert ({} such adverts, processed; logged at most once a minute)",
                running.plan.config.vrid,
                report.seen - report.reported
            );
        }
        report.reported = report.seen;
        report.logged_at = Some(now);
    }
}

/// What an instance has seen of adverts with another address list, and logged of it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AddressListReport {
    /// Such adverts seen (XDP mode: LIVENESS's count, read at the instance's deadlines).
    pub seen: u64,
    /// How many addresses the last of them carried.
    pub last_count: u8,
    /// `seen` when last logged.
    pub reported: u64,
    pub logged_at: Option<Instant>,
}

/// The least time between two address-list reports of one instance.
pub(super) const ADDRESS_LIST_REPORT_GAP: std::time::Duration = std::time::Duration::from_secs(60);
