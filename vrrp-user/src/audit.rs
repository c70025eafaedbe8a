//! What `vrrpd -t` checks on this host, beyond the file itself, as keepalived's config test
//! does: the commands the file would run (keepalived's lib/notify.c, `check_script_secure`)
//! and the interfaces it names (vrrp_parser.c: "WARNING - interface X ... doesn't exist").
//! Each finding is reported the way keepalived counts it, so that `vrrpd -t` exits with
//! keepalived's code (core/main.c, `config_test_exit`).

use std::path::Path;

use crate::config::Diagnostic;
use crate::config::model::{Command, Config, VirtualAddress};
use crate::config::syntax::Location;
use crate::script::{ScriptError, check_runnable};

/// The findings, by how keepalived counts them.
#[derive(Debug, Default)]
pub struct Audit {
    /// Reported configuration errors, run without (keepalived's config test exits 5).
    pub warnings: Vec<Diagnostic>,
    /// Only logged (keepalived's exit code is unchanged).
    pub notices: Vec<Diagnostic>,
    /// Commands will run while `enable_script_security` is off: keepalived reports
    /// "SECURITY VIOLATION" (its config test exits 6, whatever else it found) and runs them.
    pub violation: Option<String>,
}

/// Checks `config` against this host.
pub fn audit(config: &Config) -> Audit {
    let mut audit = Audit::default();
    if !config.global.dynamic_interfaces {
        audit.interfaces(config);
    }
    // keepalived stops its checks at "Non-existent interface specified in configuration":
    // with an interface missing, its config test never reaches the scripts.
    if audit.warnings.is_empty() {
        audit.commands(config);
    }
    audit
}

impl Audit {
    fn commands(&mut self, config: &Config) {
        let secure = config.global.enable_script_security;
        let mut any_insecure = false;
        let mut any_enabled = false;
        for configured in config.commands() {
            let (what, command) = (&configured.what, configured.command);
            match check_runnable(command, true) {
                Ok(()) => any_enabled = true,
                Err(ScriptError::Insecure { path }) => {
                    any_insecure = true;
                    if secure {
                        self.warnings.push(Diagnostic::new(
                            &command.location,
                            format!(
                                "disabling {what}: {} is writable by a non-root user",
                                path.display()
                            ),
                        ));
                    } else {
                        any_enabled = true;
                    }
                }
                // keepalived disables a tracking script it cannot run, as an error...
                Err(error) if configured.tracking => self.warnings.push(Diagnostic::new(
                    &command.location,
                    format!("disabling {what}: {error}"),
                )),
                // ...and finds a notify script only when it runs it; one that exists (even a
                // folder) counts as a configured script.
                Err(error) => {
                    if program_exists(command) {
                        any_enabled = true;
                    }
                    self.notices.push(Diagnostic::new(
                        &command.location,
                        format!("{what}: {error}"),
                    ));
                }
            }
        }
        // Only the commands left enabled count: a file whose one tracking script is missing is
        // "errors, runs" (5), not a violation.
        if any_enabled && !secure {
            self.violation = Some(format!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{}",
                if any_insecure {
                    " There are insecure scripts."
                } else {
                    ""
                }
            ));
        }
    }

    /// keepalived's report of an interface `what` names that this host does not have.
    fn interface(&mut self, name: &str, what: String, location: &Location) {
        if !interface_exists(name) {
            self.warnings.push(Diagnostic::new(
                location,
                format!("WARNING - interface {name} for {what} doesn't exist"),
            ));
        }
    }

    fn address_devices(&mut self, addresses: &[VirtualAddress]) {
        for address in addresses {
            if let Some(device) = &address.device {
                let what = format!("ip address {}", address.address);
                self.interface(device, what, &address.location);
            }
        }
    }

    /// Without `dynamic_interfaces`, every interface the file names must exist now.
    fn interfaces(&mut self, config: &Config) {
        let statics = &config.statics;
        self.address_devices(&statics.addresses);
        for route in &statics.routes {
            if let Some(device) = &route.device {
                self.interface(device, "VROUTE nexthop".to_string(), &route.location);
            }
        }
        for instance in config.instances.iter().filter(|i| !i.incomplete) {
            self.interface(
                &instance.interface,
                format!("vrrp_instance {}", instance.name),
                &instance.location,
            );
            self.address_devices(&instance.addresses);
            self.address_devices(&instance.excluded_addresses);
            for tracked in &instance.track_interfaces {
                self.interface(
                    &tracked.name,
                    format!("track_interface of ({})", instance.name),
                    &tracked.location,
                );
            }
        }
        for group in &config.sync_groups {
            for tracked in &group.track_interfaces {
                let what = format!("track_interface of vrrp_sync_group {}", group.name);
                self.interface(&tracked.name, what, &tracked.location);
            }
        }
    }
}

fn interface_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn program_exists(command: &Command) -> bool {
    command.needs_shell()
        || command
            .argv
            .first()
            .is_some_and(|program| crate::script::resolve(program).exists())
}
