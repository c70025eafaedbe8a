//! The Ethernet, ARP and neighbour-discovery decoders and the reply builders on arbitrary bytes,
//! through the checked views as the responders take them. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_common::wire::{arp, ethernet, icmpv6};

fuzz_target!(|data: &[u8]| {
    let payload = match ethernet::Repr::parse_bytes(data) {
        Ok(_) => data.get(ethernet::HEADER_LEN..).unwrap_or_default(),
        Err(_) => data,
    };
    if let Ok(request) = arp::Repr::parse_bytes(payload) {
        let mut frame = [0u8; 64];
        let _ = request.reply_from([2, 0, 0, 0, 0, 1]).emit_frame(&mut frame);
        let _ = (request.is_gratuitous(), request.is_probe());
    }
    if let Ok(solicit) = icmpv6::NeighborSolicit::parse_bytes(data) {
        let mut frame = [0u8; icmpv6::NeighborAdvert::FRAME_LEN];
        let advert = icmpv6::NeighborAdvert::unsolicited([2, 0, 0, 0, 0, 1], solicit.target);
        let _ = advert.emit_frame(&mut frame);
    }
    let _ = icmpv6::verify_checksum(data, data.len().saturating_sub(40));
});
