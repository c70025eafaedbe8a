//! Attaching the XDP program leaves the datapath's lock free. The protocol thread takes that lock
//! to write CONFIG (a takeover's too; it reads LIVENESS from the mapping, without it), and the
//! kernel's attach is slow (a BPF_LINK_CREATE for XDP took 10.4 ms on a veth of this machine kind);
//! held across it, the lock made a takeover that fell due meanwhile late by as much. This holds at
//! start-up (the instances move from the sockets to the program) and at a reload that adds an
//! interface.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vrrp_harness::netns::Netns;
use vrrp_user::datapath::attach::AttachPolicy;
use vrrp_user::datapath::xdp::XdpDatapath;
use vrrp_user::net::sys::interface_index;

/// veth pairs in the namespace: each attach is one more stretch the lock would be held.
const INTERFACES: usize = 4;

/// The longest the lock may stay taken while the program attaches: the moments it is taken to
/// lend the loaded object out and to take it back, with room for a loaded machine.
const LONGEST_HELD: Duration = Duration::from_millis(2);

#[test]
fn attaching_the_program_does_not_hold_the_datapath_lock() {
    vrrp_harness::require_root();
    let ns = Netns::new("attach").expect("namespace");
    let names: Vec<String> = (0..INTERFACES).map(|i| format!("a{i}")).collect();
    for name in &names {
        ns.run_ok([
            "ip",
            "link",
            "add",
            name,
            "type",
            "veth",
            "peer",
            "name",
            &format!("p{name}"),
        ])
        .expect("veth");
        ns.run_ok(["ip", "link", "set", name, "up"]).expect("up");
    }
    let datapath = Mutex::new(XdpDatapath::load().expect("the XDP program loads"));
    let attaching = AtomicBool::new(true);
    let (attach_took, failed, indexes, longest_held) = std::thread::scope(|scope| {
        // What the protocol thread does: take the lock now and then. The stretch measured is
        // from a refused try_lock to the next granted one, so that this thread's own
        // preemption between two tries does not count as the lock being held.
        let contender = scope.spawn(|| {
            let mut longest = Duration::ZERO;
            let mut refused_since: Option<Instant> = None;
            while attaching.load(Ordering::Acquire) {
                match datapath.try_lock() {
                    Ok(guard) => {
                        drop(guard);
                        if let Some(since) = refused_since.take() {
                            longest = longest.max(since.elapsed());
                        }
                    }
                    Err(_) => {
                        refused_since.get_or_insert_with(Instant::now);
                    }
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            longest
        });
        let attached = ns.enter(|| {
            let interfaces: Vec<(&str, u32)> = names
                .iter()
                .map(|name| (name.as_str(), interface_index(name)))
                .collect();
            let started = Instant::now();
            let failed = XdpDatapath::attach_all(&datapath, &interfaces, AttachPolicy::Skb);
            let indexes: Vec<u32> = interfaces.iter().map(|&(_, index)| index).collect();
            (started.elapsed(), failed, indexes)
        });
        attaching.store(false, Ordering::Release);
        let longest_held = contender.join().expect("contender");
        let (took, failed, indexes) = attached.expect("entering the namespace");
        (took, failed, indexes, longest_held)
    });
    println!(
        "attached to {INTERFACES} interfaces in {:.3} ms; the lock was held for {:.3} ms at most",
        attach_took.as_secs_f64() * 1e3,
        longest_held.as_secs_f64() * 1e3
    );
    assert!(failed.is_empty(), "attach failed: {failed:?}");
    assert!(
        longest_held <= LONGEST_HELD,
        "the datapath lock was held for {longest_held:?} while the program attached ({attach_took:?})"
    );
    let datapath = datapath.into_inner().expect("lock");
    for (name, &index) in names.iter().zip(&indexes) {
        assert_ne!(index, 0, "no interface {name:?}");
        assert!(
            datapath.attached_mode(index).is_some(),
            "{name} is not recorded as attached"
        );
        let link = ns.run_ok(["ip", "link", "show", name]).expect("ip link");
        assert!(
            link.contains("xdpgeneric"),
            "{name} runs no program: {link}"
        );
    }
}
