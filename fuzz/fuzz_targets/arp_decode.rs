//! The ARP decoder and the reply builder on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_common::wire::{arp, ethernet};

fuzz_target!(|data: &[u8]| {
    let _ = ethernet::read_header(data);
    if let Ok(request) = arp::Repr::parse(data.get(ethernet::HEADER_LEN..).unwrap_or(data)) {
        let mut frame = [0u8; 64];
        let _ = request.reply_from([2, 0, 0, 0, 0, 1]).emit_frame(&mut frame);
        let _ = (request.is_gratuitous(), request.is_probe());
    }
});
