//! The vrrpd XDP program.
//!
//! It sees every frame before any socket queue and decides, per frame:
//! - VRRP adverts (IPv4 or IPv6): validated against the instance's configuration; invalid ones
//!   are dropped and counted by reason; valid ones update LIVENESS and wake userspace through
//!   EVENTS only when the picture changes. A few are passed up so tcpdump still shows them.
//! - ARP requests for an active virtual address: answered in place with XDP_TX.
//! - Everything else: passed untouched.
//!
//! The decisions themselves live in `vrrp_common::rules`, shared with socket mode and the state
//! machine; this crate only moves bytes between the packet, the maps and those rules.
#![no_std]
#![no_main]

mod advert;
mod arp;
mod maps;
mod nd;
mod packet;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use vrrp_common::stats::Counter;
use vrrp_common::wire::ethernet;

#[xdp]
pub fn vrrp_xdp(ctx: XdpContext) -> u32 {
    maps::count(Counter::FramesSeen);
    // SAFETY: the one Frame of this program run.
    let mut frame = unsafe { packet::Frame::new(&ctx) };
    match frame.ethertype() {
        Some(ethernet::ETHERTYPE_IPV4) => advert::on_ipv4(&frame),
        Some(ethernet::ETHERTYPE_IPV6) => advert::on_ipv6(&mut frame),
        Some(ethernet::ETHERTYPE_ARP) => arp::on_arp(&mut frame),
        _ => xdp_action::XDP_PASS,
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any path that could reach here, so none does at run time.
    loop {}
}
