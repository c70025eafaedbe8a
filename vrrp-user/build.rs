//! Compiles the XDP program (crate `vrrp-ebpf`) for bpfel-unknown-none with the nightly toolchain
//! and bpf-linker, and leaves the object in OUT_DIR, where `datapath` embeds it into `vrrpd`.
//!
//! Only with the `xdp` feature (on by default). Without it nothing is built and vrrpd has only
//! the socket-mode datapath; with it, a missing object is a build error, never an empty program.
//!
//! It also records what `vrrpd --version` and `vrrpd status` report: the git commit, the aya
//! version (from Cargo.lock) and the XDP program's build id (an FNV-1a hash of the object).
fn main() -> anyhow::Result<()> {
    record_build_facts();
    if std::env::var_os("CARGO_FEATURE_XDP").is_none() {
        println!("cargo:rustc-env=VRRPD_XDP_BUILD_ID=none (built without the XDP program)");
        return Ok(());
    }
    // The program includes vrrp-common; aya-build only watches the eBPF crate itself.
    println!("cargo:rerun-if-changed=../vrrp-common/src");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "vrrp-ebpf",
            root_dir: "../vrrp-ebpf",
            ..Default::default()
        }],
        aya_build::Toolchain::Nightly,
    )?;
    let object = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("vrrp");
    if !object.exists() {
        anyhow::bail!(
            "the XDP program was not built ({} is missing; AYA_BUILD_SKIP set?): build vrrp-user \
             without default features for a socket-only vrrpd",
            object.display()
        );
    }
    let bytes = std::fs::read(&object)?;
    println!("cargo:rustc-env=VRRPD_XDP_BUILD_ID={:016x}", fnv1a(&bytes));
    Ok(())
}

/// FNV-1a, 64 bits: an identity for the program's bytes (not a security measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The git commit (short; "unknown" outside a checkout) and aya's version from Cargo.lock.
fn record_build_facts() {
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VRRPD_GIT_COMMIT={commit}");
    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    let aya = lock
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"aya\"\n"))
        .and_then(|package| {
            package
                .lines()
                .find_map(|line| line.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VRRPD_AYA_VERSION={aya}");
}
