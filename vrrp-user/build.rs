//! Compiles the XDP program (crate `vrrp-ebpf`) for bpfel-unknown-none with the nightly toolchain
//! and bpf-linker, and leaves the object in OUT_DIR, where `datapath` embeds it into `vrrpd`.
//!
//! With `AYA_BUILD_SKIP=1` (the fuzz targets, which never load it) the program is not built and
//! an empty object is embedded instead: loading it fails at run time and vrrpd uses socket mode.
fn main() -> anyhow::Result<()> {
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
        std::fs::write(&object, [])?;
    }
    Ok(())
}
