//! The manual pages and shell completions, generated from the code so that they cannot drift:
//! vrrpd(8) from the command line's clap definitions (clap_mangen) with the signals, files, exit
//! codes and datapath added, vrrpd.conf(5) from the keyword table the parser consults, and the
//! completions with clap_complete. `vrrpd --generate WHAT` prints them; `cargo xtask package`
//! puts them in the package.

use std::fmt::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Generated};
use crate::config::keywords::{Block, KEYWORDS, Treatment};

pub fn generate(what: Generated) -> Vec<u8> {
    match what {
        Generated::Man8 => vrrpd_8(),
        Generated::Man5 => vrrpd_conf_5().into_bytes(),
        Generated::Bash => completion(clap_complete::Shell::Bash),
        Generated::Zsh => completion(clap_complete::Shell::Zsh),
        Generated::Fish => completion(clap_complete::Shell::Fish),
    }
}

fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "vrrpd", &mut out);
    out
}

/// Escapes text for a roff line: backslashes, and a leading dot or quote.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

/// A section of tagged paragraphs.
fn tagged_section(out: &mut String, title: &str, intro: &str, items: &[(&str, &str)]) {
    let _ = writeln!(out, ".SH {title}");
    if !intro.is_empty() {
        let _ = writeln!(out, "{}", roff(intro));
    }
    for (tag, text) in items {
        let _ = writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(tag), roff(text));
    }
}

pub fn vrrpd_8() -> Vec<u8> {
    let command = Cli::command().about(
        "keepalived's VRRP, with the hot path in XDP: reads keepalived.conf unchanged, speaks \
         VRRPv2 and v3 on the wire with keepalived and FRR",
    );
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(command)
        .section("8")
        .manual("System Manager's Manual")
        .source(format!("vrrpd {}", crate::version::VERSION));
    let _ = man.render(&mut out);
    let mut extra = String::new();
    tagged_section(
        &mut extra,
        "SIGNALS",
        "keepalived's signals, with keepalived's numbers (vrrpd --signum=NAME prints them).",
        &[
            (
                "SIGTERM, SIGINT",
                "Priority 0 from every master, the virtual addresses, routes and rules removed (unless -V), the XDP program detached; exit 0 within a second.",
            ),
            (
                "SIGHUP",
                "Reload in place: each change applied to the running instance, its state, timers and place in the election kept. A file that cannot be run is refused and the running configuration stays.",
            ),
            (
                "SIGUSR1",
                "Write the state dump (keepalived's /tmp/keepalived.data; --dump-file).",
            ),
            (
                "SIGUSR2",
                "Write the statistics dump (keepalived's /tmp/keepalived.stats; --stats-file).",
            ),
            (
                "SIGJSON",
                "Write keepalived's JSON dump, /tmp/keepalived.json, in keepalived's schema (what keepalived-exporter reads).",
            ),
            (
                "SIGSTATS_CLEAR",
                "The statistics count from zero again (vrrpd stats, the metrics, the dumps).",
            ),
        ],
    );
    tagged_section(
        &mut extra,
        "UPGRADE",
        "vrrpd upgrade replaces the running daemon's image with the binary at its path (or --binary) without moving a VIP: same PID, every instance resumed in its state with its next advert on schedule, the XDP program attached throughout. A binary that does not run is refused; one that cannot take the state gets keepalived's restart (priority 0, then a normal start).",
        &[],
    );
    tagged_section(
        &mut extra,
        "EXIT STATUS",
        "keepalived's codes.",
        &[
            ("0", "Success; with -t, a valid file."),
            (
                "1",
                "The daemon could not start (pid file held, no netlink, ...).",
            ),
            ("4", "The configuration cannot be run."),
            (
                "5",
                "With -t: errors were reported and the file runs with keepalived's fallbacks.",
            ),
            (
                "6",
                "With -t: scripts are configured without enable_script_security.",
            ),
        ],
    );
    tagged_section(
        &mut extra,
        "FILES",
        "",
        &[
            (
                "/etc/keepalived/keepalived.conf",
                "The configuration (keepalived's file, read unchanged; see vrrpd.conf(5)).",
            ),
            (
                "/run/vrrpd/vrrpd.pid",
                "The pid file, locked while vrrpd runs (-p).",
            ),
            (
                "/run/vrrpd/vrrpd.sock",
                "The control socket of vrrpd status, stats and upgrade (HTTP/1.1; --control).",
            ),
            (
                "/sys/fs/bpf/vrrpd",
                "The XDP maps, with --pin-maps, for bpftool.",
            ),
        ],
    );
    tagged_section(
        &mut extra,
        "ENVIRONMENT",
        "",
        &[(
            "VRRPD_LOG",
            "Which log lines are written, as a tracing filter (default info, debug with -D). VRRPD_LOG=info,takeover=debug adds one line per takeover: its master-down deadline (CLOCK_MONOTONIC, ns), when the deadline was seen due, when the advert's send started and when it returned, each after the deadline.",
        )],
    );
    tagged_section(
        &mut extra,
        "DATAPATH",
        "The XDP program validates every VRRP advert in the kernel (length, checksum, TTL, authentication, peers), keeps the master's record without waking userspace, and answers ARP and neighbour solicitations for the active virtual addresses. It attaches in driver mode on physical NICs and in generic (skb) mode on veth; where XDP cannot attach, or with --datapath socket, raw sockets deliver the adverts and the same rules decide.",
        &[],
    );
    let _ = writeln!(
        extra,
        ".SH SEE ALSO\nvrrpd.conf(5), keepalived(8), keepalived.conf(5)"
    );
    out.extend_from_slice(extra.as_bytes());
    out
}

pub fn vrrpd_conf_5() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH VRRPD.CONF 5 \"\" \"vrrpd {}\" \"File Formats Manual\"",
        crate::version::VERSION
    );
    let _ = writeln!(
        out,
        ".SH NAME\nvrrpd.conf \\- the keepalived.conf keywords vrrpd reads\n.SH DESCRIPTION\n{}",
        roff(
            "vrrpd reads keepalived's configuration file, /etc/keepalived/keepalived.conf, unchanged, with keepalived's syntax (includes, @conditionals, $definitions). This page lists every keepalived keyword vrrpd knows, by block: what it sets, and where vrrpd differs from keepalived. Keywords marked ignored are accepted with a notice and not acted on. Any other keyword is reported as unknown, as keepalived reports it. Errors follow keepalived: reported as file:line:col, keepalived's fallback applied, refused only where keepalived could not run the file. vrrpd -t --report shows, for a given file, what vrrpd does with each of its keywords."
        )
    );
    for block in Block::ALL {
        let _ = writeln!(out, ".SH \"{}\"", block.name().to_uppercase());
        for keyword in KEYWORDS.iter().filter(|k| k.block == block) {
            let text = match keyword.treatment {
                Treatment::Same => keyword.what.to_string(),
                Treatment::Different(how) => {
                    format!("{}. Differs from keepalived: {how}.", keyword.what)
                }
                Treatment::Ignored(why) => format!("Ignored: {why}."),
            };
            let _ = writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(keyword.name), roff(&text));
        }
    }
    let _ = writeln!(out, ".SH SEE ALSO\nvrrpd(8), keepalived.conf(5)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_manual_lists_every_keyword_of_the_table() {
        let page = vrrpd_conf_5();
        for keyword in KEYWORDS {
            assert!(
                page.contains(&format!("\\fB{}\\fR", roff(keyword.name))),
                "{}",
                keyword.name
            );
        }
    }

    #[test]
    fn the_daemon_manual_has_the_options_and_the_added_sections() {
        let page = String::from_utf8(vrrpd_8()).expect("UTF-8");
        for needle in [
            "config\\-test",
            "SIGNALS",
            "EXIT STATUS",
            "FILES",
            "DATAPATH",
            "ENVIRONMENT",
            "VRRPD_LOG",
            "upgrade",
        ] {
            assert!(page.contains(needle), "{needle}");
        }
    }
}
