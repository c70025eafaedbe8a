//! net-snmp's snmpd (the AgentX master) and snmptrapd, on unix sockets in a scratch folder:
//! no network, no port shared with another test. `snmpwalk` and the traps as text lines, the
//! MIBs' OIDs numeric (Debian ships no standard MIB files; none is needed).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::process::{Scratch, Spawned};

/// One snmpd with its snmptrapd.
pub struct Snmpd {
    folder: PathBuf,
    snmpd: Option<Spawned>,
    _trapd: Spawned,
}

impl Snmpd {
    /// Starts snmptrapd, then snmpd, in `scratch`.
    pub fn start(scratch: &Scratch) -> Result<Snmpd> {
        let folder = scratch.path().to_path_buf();
        let trap_socket = folder.join("trap.sock");
        let trapd = Spawned::start_command(
            {
                let mut command = Command::new("snmptrapd");
                command
                    .env("MIBS", "")
                    .args(["-f", "-Lo", "-C", "-c", "/dev/null"])
                    .args(["--disableAuthorization=yes", "-On", "-p"])
                    .arg(folder.join("snmptrapd.pid"))
                    .arg(format!("unix:{}", trap_socket.display()));
                command
            },
            &folder.join("traps.log"),
        )?;
        crate::wait_until("snmptrapd's socket", Duration::from_secs(10), || {
            trap_socket.exists()
        });
        let config = format!(
            "master agentx\nagentXSocket unix:{dir}/agentx.sock\n\
             agentaddress unix:{dir}/snmp.sock\n\
             com2secunix readers default public\ngroup readgroup v2c readers\n\
             view all included .1\naccess readgroup \"\" any noauth exact all none none\n\
             trap2sink unix:{dir}/trap.sock public\n",
            dir = folder.display()
        );
        scratch.write("snmpd.conf", &config)?;
        let mut snmpd = Snmpd {
            folder,
            snmpd: None,
            _trapd: trapd,
        };
        snmpd.start_snmpd()?;
        Ok(snmpd)
    }

    /// The socket to give the daemons as `snmp_socket`.
    pub fn agentx_socket(&self) -> String {
        format!("unix:{}/agentx.sock", self.folder.display())
    }

    fn start_snmpd(&mut self) -> Result<()> {
        let agentx = self.folder.join("agentx.sock");
        let _ = std::fs::remove_file(&agentx);
        let mut command = Command::new("snmpd");
        command
            .env("MIBS", "")
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(self.folder.join("snmpd.conf"))
            .arg("-p")
            .arg(self.folder.join("snmpd.pid"));
        self.snmpd = Some(Spawned::start_command(
            command,
            &self.folder.join("snmpd.log"),
        )?);
        crate::wait_until("snmpd's AgentX socket", Duration::from_secs(10), || {
            agentx.exists()
        });
        Ok(())
    }

    /// Stops snmpd (SIGTERM).
    pub fn stop(&mut self) {
        if let Some(mut snmpd) = self.snmpd.take() {
            let _ = snmpd.stop(libc::SIGTERM, Duration::from_secs(5));
        }
    }

    /// Stops snmpd and starts it again on the same sockets.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start_snmpd()
    }

    /// `snmpwalk -On` of `oid`: one "OID = TYPE: value" line per object; none when the
    /// subtree is empty or unregistered.
    pub fn walk(&self, oid: &str) -> Result<Vec<String>> {
        let output = Command::new("snmpwalk")
            .env("MIBS", "")
            .args(["-On", "-v2c", "-c", "public", "-t", "3", "-r", "1"])
            .arg(format!("unix:{}/snmp.sock", self.folder.display()))
            .arg(oid)
            .output()
            .context("snmpwalk")?;
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text
            .lines()
            .filter(|line| line.starts_with('.') && !line.contains("No Such"))
            .map(|line| line.trim_end().to_string())
            .collect())
    }

    /// The notifications snmptrapd logged, each as its varbinds without sysUpTime.0, one
    /// string per notification.
    pub fn traps(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.folder.join("traps.log")).unwrap_or_default();
        log.lines()
            .filter(|line| line.starts_with(".1.3.6.1.2.1.1.3.0"))
            .map(|line| {
                line.split('\t')
                    .filter(|varbind| !varbind.starts_with(".1.3.6.1.2.1.1.3.0"))
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            // snmpd's own coldStart and shutdown notifications are not the daemons'.
            .filter(|trap| !trap.contains(".1.3.6.1.6.3.1.1.5.1") && !trap.contains("8072.4.0"))
            .collect()
    }

    /// Forgets the notifications received so far.
    pub fn clear_traps(&self) {
        let _ = std::fs::write(self.folder.join("traps.log"), "");
    }
}
