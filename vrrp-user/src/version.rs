//! What this build of vrrpd is: `vrrpd --version` prints it, `vrrpd status` reports it for a
//! running daemon (recorded by build.rs).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit it was built from ("unknown" outside a checkout).
pub const COMMIT: &str = env!("VRRPD_GIT_COMMIT");
/// The aya version it loads its XDP program with.
pub const AYA: &str = env!("VRRPD_AYA_VERSION");
/// The embedded XDP program's build id (a hash of its bytes).
pub const XDP_BUILD_ID: &str = env!("VRRPD_XDP_BUILD_ID");

/// `vrrpd --version`'s text (after "vrrpd ").
pub const DESCRIPTION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit ",
    env!("VRRPD_GIT_COMMIT"),
    "\naya ",
    env!("VRRPD_AYA_VERSION"),
    "\nXDP program build id ",
    env!("VRRPD_XDP_BUILD_ID")
);
