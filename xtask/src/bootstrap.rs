//! Makes a fresh machine ready: checks each prerequisite and installs what is missing.
//!
//! Idempotent and quick when everything is present (a handful of stat calls and two short
//! commands). When it cannot install something (not root, no apt-get, no network) it stops with
//! the name of the missing piece and the command that would install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
/// The stable toolchain is pinned in rust-toolchain.toml; the nightly that builds the XDP program
/// is whatever `nightly` is, so its LLVM is checked against the one bpf-linker links (22).
const NIGHTLY_LLVM_MAJOR: u32 = 22;

/// One prerequisite: how to tell it is there, and how to get it.
struct Requirement {
    name: &'static str,
    present: fn() -> bool,
    install: fn() -> Result<()>,
    /// Shown when installing is not possible here.
    manual: &'static str,
}

const REQUIREMENTS: &[Requirement] = &[
    Requirement {
        name: "nightly toolchain with rust-src (builds the XDP program)",
        present: nightly_rust_src_present,
        install: install_nightly_rust_src,
        manual: "rustup toolchain install nightly --component rust-src",
    },
    Requirement {
        name: "a nightly whose LLVM is 22 (the LLVM bpf-linker is built against)",
        present: || nightly_llvm_major() == Some(NIGHTLY_LLVM_MAJOR),
        install: || {
            bail!(
                "the nightly's LLVM is {:?}, not {NIGHTLY_LLVM_MAJOR}: install a nightly of \
                 2026-03 to 2026-07 (LLVM 22) as `nightly`, or rebuild bpf-linker for its LLVM",
                nightly_llvm_major()
            )
        },
        manual: "rustup toolchain install nightly-2026-05-19 --component rust-src (LLVM 22), as `nightly`",
    },
    Requirement {
        name: "llvm-22-dev (bpf-linker links against the nightly's LLVM 22)",
        present: || Path::new(LLVM_PREFIX).join("lib/libLLVM.so").exists(),
        install: || apt_install(&["llvm-22-dev"]),
        manual: "apt-get install -y llvm-22-dev",
    },
    Requirement {
        name: "bpf-linker 0.13.0 built against LLVM 22",
        present: bpf_linker_present,
        install: install_bpf_linker,
        manual: "PATH=/usr/lib/llvm-22/bin:$PATH LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 \
                 cargo install bpf-linker --version 0.13.0 --no-default-features --features llvm-22",
    },
    Requirement {
        name: "bpffs mounted at /sys/fs/bpf",
        present: bpffs_mounted,
        install: mount_bpffs,
        manual: "mount -t bpf bpf /sys/fs/bpf",
    },
    Requirement {
        name: "iproute2 (ip)",
        present: || on_path("ip"),
        install: || apt_install(&["iproute2"]),
        manual: "apt-get install -y iproute2",
    },
    Requirement {
        name: "keepalived (reference peer and benchmark baseline)",
        present: || on_path("keepalived"),
        install: || apt_install(&["keepalived"]),
        manual: "apt-get install -y keepalived",
    },
    Requirement {
        name: "FRR's zebra and vrrpd (the third implementation of the chaos soak)",
        present: || Path::new("/usr/lib/frr/vrrpd").exists() && on_path("vtysh"),
        install: || apt_install(&["frr"]),
        manual: "apt-get install -y frr",
    },
    Requirement {
        name: "nftables (no_accept and vrrp_strict drop traffic to the VIPs)",
        present: || on_path("nft"),
        install: || apt_install(&["nftables"]),
        manual: "apt-get install -y nftables",
    },
    Requirement {
        name: "systemd-analyze (verifies the packaged unit)",
        present: || on_path("systemd-analyze"),
        install: || apt_install(&["systemd"]),
        manual: "apt-get install -y systemd",
    },
    Requirement {
        name: "bpftool (shows the pinned maps, as an operator would inspect them)",
        present: || on_path("bpftool"),
        install: || apt_install(&["bpftool"]),
        manual: "apt-get install -y bpftool",
    },
    Requirement {
        name: "tcpdump",
        present: || on_path("tcpdump"),
        install: || apt_install(&["tcpdump"]),
        manual: "apt-get install -y tcpdump",
    },
    Requirement {
        name: "DejaVu fonts (the benchmark plot's labels)",
        present: || Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists(),
        install: || apt_install(&["fonts-dejavu-core"]),
        manual: "apt-get install -y fonts-dejavu-core",
    },
    Requirement {
        name: "lintian (checks the Debian package)",
        present: || on_path("lintian"),
        install: || apt_install(&["lintian"]),
        manual: "apt-get install -y lintian",
    },
    Requirement {
        name: "net-snmp's snmpd, snmptrapd and snmpwalk (the AgentX master of the SNMP tests)",
        present: || on_path("snmpd") && on_path("snmptrapd") && on_path("snmpwalk"),
        install: || apt_install(&["snmpd", "snmptrapd", "snmp"]),
        manual: "apt-get install -y snmpd snmptrapd snmp",
    },
    Requirement {
        name: "tshark (judges the wire format)",
        present: || on_path("tshark"),
        install: || apt_install(&["tshark"]),
        manual: "DEBIAN_FRONTEND=noninteractive apt-get install -y tshark",
    },
];

/// Checks every requirement, installing the missing ones in order.
pub fn run() -> Result<()> {
    let started = Instant::now();
    let mut installed = 0;
    for requirement in REQUIREMENTS {
        if (requirement.present)() {
            continue;
        }
        println!("setup: {} is missing; installing it", requirement.name);
        (requirement.install)().with_context(|| {
            format!(
                "could not install {}; install it by hand with:\n    {}",
                requirement.name, requirement.manual
            )
        })?;
        if !(requirement.present)() {
            bail!(
                "{} still missing after the install step; install it by hand with:\n    {}",
                requirement.name,
                requirement.manual
            );
        }
        println!("setup: {} installed", requirement.name);
        installed += 1;
    }
    println!(
        "setup: all {} prerequisites present ({} installed now, {:.1} s)",
        REQUIREMENTS.len(),
        installed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command, echoing it, with its output going to the terminal.
fn run_visible(command: &mut Command) -> Result<()> {
    println!("setup: running {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn output_of(command: &mut Command) -> Option<String> {
    let output = command.stderr(Stdio::null()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    if !on_path("apt-get") {
        bail!("apt-get is not available on this machine");
    }
    if !is_root() {
        bail!("installing packages needs root (run as root or with sudo)");
    }
    // The package lists of a fresh machine can be stale or empty; refresh them once per run.
    static UPDATED: std::sync::Once = std::sync::Once::new();
    let mut update_result = Ok(());
    UPDATED.call_once(|| {
        update_result = run_visible(Command::new("apt-get").args(["update", "-q"]));
    });
    update_result?;
    run_visible(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn nightly_sysroot() -> Option<PathBuf> {
    output_of(Command::new("rustup").args(["run", "nightly", "rustc", "--print", "sysroot"]))
        .map(|s| PathBuf::from(s.trim()))
}

/// The major LLVM version of the `nightly` toolchain (`rustc -vV`'s "LLVM version: 22.1.4").
fn nightly_llvm_major() -> Option<u32> {
    let output = Command::new("rustup")
        .args(["run", "nightly", "rustc", "-vV"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("LLVM version: "))
        .and_then(|version| version.split('.').next()?.parse().ok())
}

fn nightly_rust_src_present() -> bool {
    nightly_sysroot().is_some_and(|root| {
        root.join("lib/rustlib/src/rust/library/core/Cargo.toml")
            .exists()
    })
}

fn install_nightly_rust_src() -> Result<()> {
    if !on_path("rustup") {
        bail!("rustup is not on PATH");
    }
    if nightly_sysroot().is_none() {
        run_visible(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    let online = run_visible(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        "nightly",
    ]));
    if online.is_ok() {
        return Ok(());
    }
    // Offline fallback: the machine image ships the same component as a tarball.
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/toolchain/rust-src-nightly.tar.xz");
    let sysroot = nightly_sysroot().context("nightly toolchain has no sysroot")?;
    if !tarball.exists() {
        return online;
    }
    run_visible(
        Command::new("tar")
            .arg("-xJf")
            .arg(&tarball)
            .arg("-C")
            .arg(sysroot.join("lib/rustlib")),
    )
}

fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
        .join("bin")
}

fn bpf_linker_present() -> bool {
    let linker = cargo_bin_dir().join("bpf-linker");
    let program = if linker.exists() {
        linker
    } else {
        PathBuf::from("bpf-linker")
    };
    output_of(Command::new(program).arg("--version"))
        .is_some_and(|version| version.contains(BPF_LINKER_VERSION))
}

fn install_bpf_linker() -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![PathBuf::from(LLVM_PREFIX).join("bin")];
    dirs.extend(std::env::split_paths(&path));
    run_visible(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--force",
                "--version",
                BPF_LINKER_VERSION,
            ])
            .args(["--no-default-features", "--features", "llvm-22"])
            .env("PATH", std::env::join_paths(dirs)?)
            .env("LLVM_SYS_221_PREFIX", LLVM_PREFIX),
    )
}

fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|line| {
            line.split_whitespace().nth(1) == Some("/sys/fs/bpf") && line.contains(" bpf ")
        })
    })
}

fn mount_bpffs() -> Result<()> {
    if !is_root() {
        bail!("mounting bpffs needs root");
    }
    run_visible(Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"]))
}
