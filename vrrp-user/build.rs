//! Compiles the XDP program (crate `vrrp-ebpf`) for bpfel-unknown-none with the nightly toolchain
//! and bpf-linker, and leaves the object in OUT_DIR, where `datapath` embeds it into `vrrpd`.
//!
//! Only with the `xdp` feature (on by default). Without it nothing is built and vrrpd has only
//! the socket-mode datapath; with it, a missing object is a build error, never an empty program.
fn main() -> anyhow::Result<()> {
    if std::env::var_os("CARGO_FEATURE_XDP").is_none() {
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
    Ok(())
}
