//! The XDP datapath from userspace: load the program, attach it per interface, write CONFIG,
//! PEERS and VIPS, read LIVENESS and the counters, and hand out the EVENTS ring buffer.
//! Dropping it detaches the program everywhere (the attachments are bpf_links owned by this
//! process, so even a crash leaves nothing attached).

use std::collections::HashMap as StdHashMap;
use std::path::{Path, PathBuf};

use aya::Ebpf;
use aya::maps::{HashMap, Map, MapData, MapError, PerCpuArray, RingBuf};
use aya::programs::xdp::XdpLinkId;
use thiserror::Error;
use tracing::info;
use vrrp_common::maps::{
    InstanceConfig, InstanceKey, Liveness, PeerKey, PeerTtl, VipKey, VipValue,
};
use vrrp_common::stats::Counter;

use super::attach::{self, AttachError, AttachPolicy, AttachedMode};
use super::program::{self, LoadError};

#[derive(Debug, Error)]
pub enum XdpError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error("map {0}: {1}")]
    Map(&'static str, MapError),
    #[error("map {0}: a second descriptor: {1}")]
    Duplicate(&'static str, std::io::Error),
    #[error("the object has no map {0}")]
    MissingMap(&'static str),
    #[error("pinning maps under {path}: {message}")]
    Pin { path: PathBuf, message: String },
}

pub struct XdpDatapath {
    ebpf: Ebpf,
    config: HashMap<MapData, InstanceKey, InstanceConfig>,
    liveness: HashMap<MapData, InstanceKey, Liveness>,
    peers: HashMap<MapData, PeerKey, PeerTtl>,
    vips: HashMap<MapData, VipKey, VipValue>,
    stats: PerCpuArray<MapData, u64>,
    events: Option<RingBuf<MapData>>,
    attached: StdHashMap<u32, (XdpLinkId, AttachedMode)>,
    pinned: Option<PathBuf>,
}

/// A second handle on a map, on its own file descriptor: whoever holds it reads or writes the
/// map without sharing anything with the `XdpDatapath` (the kernel serialises map updates).
fn second_handle<T: TryFrom<Map, Error = MapError>>(
    map: &MapData,
    name: &'static str,
) -> Result<T, XdpError> {
    let fd = std::os::fd::AsFd::as_fd(map.fd())
        .try_clone_to_owned()
        .map_err(|error| XdpError::Duplicate(name, error))?;
    let data = MapData::from_fd(fd).map_err(|error| XdpError::Map(name, error))?;
    let map = Map::from_map_data(data).map_err(|error| XdpError::Map(name, error))?;
    T::try_from(map).map_err(|error| XdpError::Map(name, error))
}

fn take<T: TryFrom<aya::maps::Map, Error = MapError>>(
    ebpf: &mut Ebpf,
    name: &'static str,
) -> Result<T, XdpError> {
    let map = ebpf.take_map(name).ok_or(XdpError::MissingMap(name))?;
    T::try_from(map).map_err(|error| XdpError::Map(name, error))
}

impl XdpDatapath {
    /// Loads the program into the kernel (verified, not yet attached).
    pub fn load() -> Result<XdpDatapath, XdpError> {
        let mut ebpf = program::load()?;
        Ok(XdpDatapath {
            config: take(&mut ebpf, "CONFIG")?,
            liveness: take(&mut ebpf, "LIVENESS")?,
            peers: take(&mut ebpf, "PEERS")?,
            vips: take(&mut ebpf, "VIPS")?,
            stats: take(&mut ebpf, "STATS")?,
            events: Some(take(&mut ebpf, "EVENTS")?),
            ebpf,
            attached: StdHashMap::new(),
            pinned: None,
        })
    }

    /// Attaches to an interface (once); returns the mode it runs in.
    pub fn attach(
        &mut self,
        interface: &str,
        ifindex: u32,
        policy: AttachPolicy,
    ) -> Result<AttachedMode, XdpError> {
        if let Some((_, mode)) = self.attached.get(&ifindex) {
            return Ok(*mode);
        }
        let xdp = program::xdp_program(&mut self.ebpf)?;
        let (link, mode) = attach::attach(xdp, interface, ifindex, policy)?;
        info!("{interface}: XDP program attached in {mode} mode");
        self.attached.insert(ifindex, (link, mode));
        Ok(mode)
    }

    /// Detaches from an interface (a no-op if not attached, or if the interface is gone).
    pub fn detach(&mut self, ifindex: u32) {
        if let Some((link, _)) = self.attached.remove(&ifindex)
            && let Ok(xdp) = program::xdp_program(&mut self.ebpf)
        {
            let _ = xdp.detach(link);
        }
    }

    /// Forgets an attachment whose interface disappeared (the kernel dropped the link with it).
    pub fn forget(&mut self, ifindex: u32) {
        self.attached.remove(&ifindex);
    }

    pub fn attached_mode(&self, ifindex: u32) -> Option<AttachedMode> {
        self.attached.get(&ifindex).map(|(_, mode)| *mode)
    }

    pub fn write_config(
        &mut self,
        key: &InstanceKey,
        config: &InstanceConfig,
    ) -> Result<(), XdpError> {
        self.config
            .insert(key, config, 0)
            .map_err(|e| XdpError::Map("CONFIG", e))
    }

    pub fn remove_instance(&mut self, key: &InstanceKey) {
        let _ = self.config.remove(key);
        let _ = self.liveness.remove(key);
    }

    /// Starts a fresh LIVENESS record for an instance.
    pub fn reset_liveness(&mut self, key: &InstanceKey) -> Result<(), XdpError> {
        self.liveness
            .insert(key, Liveness::default(), 0)
            .map_err(|e| XdpError::Map("LIVENESS", e))
    }

    pub fn liveness(&self, key: &InstanceKey) -> Option<Liveness> {
        self.liveness.get(key, 0).ok()
    }

    pub fn add_peer(&mut self, key: &PeerKey, ttl: PeerTtl) -> Result<(), XdpError> {
        self.peers
            .insert(key, ttl, 0)
            .map_err(|e| XdpError::Map("PEERS", e))
    }

    /// Read-only handles on the counters and LIVENESS, for status, stats and metrics.
    pub fn reader(&self) -> Result<DatapathReader, XdpError> {
        Ok(DatapathReader {
            stats: second_handle(self.stats.map_data(), "STATS")?,
            liveness: second_handle(self.liveness.map_data(), "LIVENESS")?,
        })
    }

    /// A handle on VIPS for the address workers.
    pub fn vip_table(&self) -> Result<VipTable, XdpError> {
        Ok(VipTable {
            vips: second_handle(self.vips.map_data(), "VIPS")?,
        })
    }

    /// The EVENTS ring buffer (taken once, by whoever polls it).
    pub fn take_events(&mut self) -> Option<RingBuf<MapData>> {
        self.events.take()
    }

    /// Pins the maps under `dir` (e.g. /sys/fs/bpf/vrrpd) for `bpftool map dump pinned ...`.
    pub fn pin_maps(&mut self, dir: &Path) -> Result<(), XdpError> {
        let error = |message: String| XdpError::Pin {
            path: dir.to_path_buf(),
            message,
        };
        if let Some(root) = dir.parent() {
            ensure_bpffs(root).map_err(&error)?;
        }
        std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        let pins: [(&str, &MapData); 5] = [
            ("CONFIG", self.config.map_data()),
            ("LIVENESS", self.liveness.map_data()),
            ("PEERS", self.peers.map_data()),
            ("VIPS", self.vips.map_data()),
            ("STATS", self.stats.map_data()),
        ];
        for (name, map) in pins {
            let path = dir.join(name);
            let _ = std::fs::remove_file(&path);
            map.pin(&path).map_err(|e| error(format!("{name}: {e}")))?;
        }
        self.pinned = Some(dir.to_path_buf());
        Ok(())
    }
}

/// The counters and LIVENESS on descriptors of their own: `vrrpd status`, `stats` and the
/// metrics read them without the lock the protocol thread takes on `XdpDatapath`.
pub struct DatapathReader {
    stats: PerCpuArray<MapData, u64>,
    liveness: HashMap<MapData, InstanceKey, Liveness>,
}

impl DatapathReader {
    /// Every counter, summed over CPUs.
    pub fn counters(&self) -> [u64; Counter::COUNT] {
        let mut totals = [0u64; Counter::COUNT];
        for (index, total) in totals.iter_mut().enumerate() {
            if let Ok(values) = self.stats.get(&(index as u32), 0) {
                *total = values.iter().sum();
            }
        }
        totals
    }

    pub fn liveness(&self, key: &InstanceKey) -> Option<Liveness> {
        self.liveness.get(key, 0).ok()
    }
}

/// VIPS on a descriptor of its own, written by the address workers (which VIPs the ARP and ND
/// responders answer for) without the protocol thread's lock.
pub struct VipTable {
    vips: HashMap<MapData, VipKey, VipValue>,
}

impl VipTable {
    pub fn set(&mut self, key: &VipKey, value: &VipValue) -> Result<(), XdpError> {
        self.vips
            .insert(key, value, 0)
            .map_err(|e| XdpError::Map("VIPS", e))
    }

    pub fn remove(&mut self, key: &VipKey) {
        let _ = self.vips.remove(key);
    }
}

/// Mounts bpffs at `root` unless one is mounted there already (pinning needs it; attaching
/// XDP does not, so only `--pin-maps` calls this).
fn ensure_bpffs(root: &Path) -> Result<(), String> {
    let mounted = std::fs::read_to_string("/proc/self/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next(), fields.next(), fields.next());
            point == root.to_str() && kind == Some("bpf")
        })
    });
    if mounted {
        return Ok(());
    }
    info!("bpffs is not mounted at {}; mounting it", root.display());
    let target =
        std::ffi::CString::new(root.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: mount(2) with valid C strings and no data.
    let rc = unsafe {
        libc::mount(
            c"bpf".as_ptr(),
            target.as_ptr(),
            c"bpf".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "mounting bpffs: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Access to the `MapData` behind aya's typed map wrappers (for pinning).
trait MapDataOf {
    fn map_data(&self) -> &MapData;
}

impl<K: aya::Pod, V: aya::Pod> MapDataOf for HashMap<MapData, K, V> {
    fn map_data(&self) -> &MapData {
        aya::maps::IterableMap::map(self)
    }
}

impl MapDataOf for PerCpuArray<MapData, u64> {
    fn map_data(&self) -> &MapData {
        aya::maps::IterableMap::map(self)
    }
}

impl Drop for XdpDatapath {
    fn drop(&mut self) {
        let interfaces: Vec<u32> = self.attached.keys().copied().collect();
        for ifindex in interfaces {
            self.detach(ifindex);
        }
        if let Some(dir) = &self.pinned {
            for name in ["CONFIG", "LIVENESS", "PEERS", "VIPS", "STATS"] {
                let _ = std::fs::remove_file(dir.join(name));
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}
