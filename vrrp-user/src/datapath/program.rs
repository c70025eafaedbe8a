//! The compiled XDP program, embedded in the `vrrpd` binary by build.rs, and its loading.

use aya::{Ebpf, EbpfLoader};

use thiserror::Error;

/// The eBPF object built from `vrrp-ebpf` for bpfel-unknown-none.
#[cfg(feature = "xdp")]
pub static XDP_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp"));
/// Built without the `xdp` feature: no program, and [`load`] says so.
#[cfg(not(feature = "xdp"))]
pub static XDP_OBJECT: &[u8] = &[];

/// Name of the XDP entry point inside [`XDP_OBJECT`].
pub const XDP_PROGRAM_NAME: &str = "vrrp_xdp";

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("this vrrpd was built without the XDP program (feature `xdp` off)")]
    NotBuilt,
    #[error("loading the eBPF object failed: {0}")]
    Object(#[from] aya::EbpfError),
    #[error("the eBPF object has no program named {XDP_PROGRAM_NAME}")]
    MissingProgram,
    #[error("{XDP_PROGRAM_NAME} is not an XDP program: {0}")]
    WrongType(#[from] aya::programs::ProgramError),
}

/// What identifies [`XDP_OBJECT`] (an MD5 digest in hex): `vrrpd upgrade` keeps the previous
/// image's program, rather than verifying the same code again (150-200 ms of kernel time
/// that delays every other thread on a small machine), when its digest is this one.
pub fn object_digest() -> String {
    use md5::{Digest, Md5};
    Md5::digest(XDP_OBJECT)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Loads the object (maps created, program verified by the kernel), ready to attach or test-run.
pub fn load() -> Result<Ebpf, LoadError> {
    if XDP_OBJECT.is_empty() {
        return Err(LoadError::NotBuilt);
    }
    let mut ebpf = EbpfLoader::new().load(XDP_OBJECT)?;
    xdp_program(&mut ebpf)?.load()?;
    Ok(ebpf)
}

/// Loads the object on the maps pinned under `directory` (a previous image's, handed over by
/// `vrrpd upgrade`) instead of new ones: the program about to replace the running one sees the
/// same CONFIG, LIVENESS, counters and EVENTS.
pub fn load_on_pinned_maps(
    directory: &std::path::Path,
    names: &[&'static str],
) -> Result<Ebpf, LoadError> {
    if XDP_OBJECT.is_empty() {
        return Err(LoadError::NotBuilt);
    }
    let mut loader = EbpfLoader::new();
    for name in names {
        loader.map_pin_path(name, directory.join(name));
    }
    let mut ebpf = loader.load(XDP_OBJECT)?;
    xdp_program(&mut ebpf)?.load()?;
    Ok(ebpf)
}

/// The XDP program inside a loaded object.
pub fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut aya::programs::Xdp, LoadError> {
    let program = ebpf
        .program_mut(XDP_PROGRAM_NAME)
        .ok_or(LoadError::MissingProgram)?;
    Ok(program.try_into()?)
}
