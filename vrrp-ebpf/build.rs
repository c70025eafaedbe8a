//! Rebuild when the bpf-linker binary changes: building this crate depends on it, but cargo
//! cannot express a dependency on an installed binary.
fn main() {
    if let Ok(linker) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
