//! Developer and user entry points for xdp-vrrp: `cargo xtask <command>`.
//!
//! Every command that needs the eBPF toolchain or the lab's tools runs [`bootstrap`] first, so
//! a fresh machine needs nothing but this repository and rustup.

mod bootstrap;
mod cargo;
mod fuzz;
mod package;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup              install what is missing (nightly rust-src, llvm-22-dev, bpf-linker,
                     bpffs, iproute2, keepalived, tcpdump, bpftool, nftables, tshark) and say
                     what was done
  build              setup, then build every crate (release) including the XDP program
  test               setup, then fmt check, clippy -D warnings, unit, BPF test-run and
                     namespace integration tests, with a summary line
  run -- ARGS        setup, build, then run `vrrpd ARGS` (as root: it loads the XDP program)
  bench [--quick]    setup, build, then benchmarks: vrrpd (XDP), vrrpd (socket) and keepalived
                     side by side; writes BENCHMARKS.md and benchmarks-failover.png
  fuzz --seconds N   every cargo-fuzz target for N seconds (installs cargo-fuzz if missing),
                     then the XDP program against the host (differential) for N seconds
  soak --minutes N   chaos soak: vrrpd, keepalived 2.2.7 and FRR's vrrpd on one segment;
                     random stops, crashes, link cuts and tracking changes, checked
                     continuously for two masters, invalid adverts and misplaced VIPs
  package [--check]  setup, build, then target/debian/vrrpd_VERSION_ARCH.deb; --check runs
                     lintian and installs, checks and purges it in a throw-away root
  lab [options]      setup, build, then the live failover lab in network namespaces:
                     DR1/DR2 with the seed's configurations and a client, every failover
                     measured on the wire. Options: --keep (leave it running),
                     --peer keepalived (DR2 runs keepalived), --advert-int 0.01 (VRRPv3),
                     --down (remove a kept lab)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "setup" => bootstrap::run(),
        "build" => bootstrap::run().and_then(|()| cargo::build_release().map(drop)),
        "test" => bootstrap::run().and_then(|()| test::run_all(rest)),
        "run" => bootstrap::run().and_then(|()| cargo::run_vrrpd(rest)),
        "lab" => bootstrap::run().and_then(|()| cargo::run_tool("vrrp-lab", rest)),
        "bench" => bootstrap::run().and_then(|()| cargo::run_tool("vrrp-bench", rest)),
        "fuzz" => bootstrap::run().and_then(|()| fuzz::run_all(rest)),
        "package" => bootstrap::run().and_then(|()| package::run(rest)),
        "soak" => bootstrap::run().and_then(|()| cargo::run_tool("vrrp-soak", rest)),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown command `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask {command}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
