//! The XDP datapath from userspace: load the program, attach it per interface, write CONFIG,
//! PEERS and VIPS, read LIVENESS and the counters, and hand out the EVENTS ring buffer.
//! Dropping it detaches the program everywhere (the attachments are bpf_links owned by this
//! process, so even a crash leaves nothing attached).
//!
//! `vrrpd upgrade` hands the datapath to the next image of the daemon without a moment
//! unvalidated: [`XdpDatapath::hand_over`] pins the maps and the links under a directory of
//! bpffs, the new image [`XdpDatapath::adopt`]s them at once (the old program goes on running
//! on the same maps), loads its own program on those same maps in the background, and swaps
//! it in atomically with [`XdpDatapath::take_over`] (bpf_link_update: one program or the other
//! sees every frame).

use std::collections::HashMap as StdHashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use aya::Ebpf;
use aya::maps::{
    Array, HashMap, Map, MapData, MapError, PerCpuArray, PerCpuHashMap, PerCpuValues, RingBuf,
};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::xdp::{XdpLink, XdpLinkId};
use thiserror::Error;
use tracing::info;
use vrrp_common::maps::{
    InstanceConfig, InstanceKey, Liveness, MAX_INSTANCES, PeerKey, PeerTtl, VipKey, VipValue,
};
use vrrp_common::stats::{Counter, ReceiveErrors};

use super::attach::{self, AttachError, AttachPolicy, AttachedMode};
use super::liveness::{LivenessView, Slots};
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
    #[error("map {0}: a value for each CPU: {1}")]
    PerCpu(&'static str, std::io::Error),
    #[error("the object has no map {0}")]
    MissingMap(&'static str),
    #[error("pinning maps under {path}: {message}")]
    Pin { path: PathBuf, message: String },
    #[error("the program of the previous image is still being replaced; try again")]
    Adopting,
    #[error("handing over the attachment on interface {ifindex}: {message}")]
    Link { ifindex: u32, message: String },
    #[error("map LIVENESS: mapping it into memory: {0}")]
    MapLiveness(std::io::Error),
    #[error("map LIVENESS: every one of its {MAX_INSTANCES} records is taken")]
    LivenessFull,
}

/// The maps, by the names the program gives them; all of them are handed over by `upgrade`.
pub const MAP_NAMES: [&str; 7] = [
    "CONFIG",
    "LIVENESS",
    "PEERS",
    "VIPS",
    "STATS",
    "EVENTS",
    "INSTANCE_ERRORS",
];

/// How the program is attached to one interface.
enum Link {
    /// Attached by this image's program.
    Managed(XdpLinkId),
    /// Adopted from the previous image (its program, until [`XdpDatapath::take_over`]).
    Adopted(XdpLink),
}

/// The attachments a previous image handed over: which interfaces, in which mode (their links
/// and the maps are pinned in the hand-over directory).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandedOver {
    pub directory: PathBuf,
    /// (ifindex, attached in driver mode).
    pub interfaces: Vec<(u32, bool)>,
    /// The digest of the attached program's object ([`program::object_digest`]).
    #[serde(default)]
    pub program_digest: Option<String>,
}

fn link_pin(directory: &Path, ifindex: u32) -> PathBuf {
    directory.join(format!("link-{ifindex}"))
}

pub struct XdpDatapath {
    /// The loaded object; `None` while running on the program adopted from a previous image.
    ebpf: Option<Ebpf>,
    config: HashMap<MapData, InstanceKey, InstanceConfig>,
    /// LIVENESS, for writing a record afresh; read through `liveness_view`.
    liveness: Array<MapData, Liveness>,
    liveness_view: Arc<LivenessView>,
    /// Each instance's record in LIVENESS (named in its CONFIG entry).
    slots: Slots,
    peers: HashMap<MapData, PeerKey, PeerTtl>,
    vips: HashMap<MapData, VipKey, VipValue>,
    stats: PerCpuArray<MapData, u64>,
    instance_errors: PerCpuHashMap<MapData, InstanceKey, ReceiveErrors>,
    events: Option<RingBuf<MapData>>,
    /// EVENTS on a descriptor of its own: the ring buffer is taken by the protocol thread, and
    /// an upgrade hands the map itself over.
    events_map: MapData,
    attached: StdHashMap<u32, (Link, AttachedMode)>,
    pinned: Option<PathBuf>,
    /// The digest of the attached program's object (see [`program::object_digest`]).
    program_digest: Option<String>,
    /// Running on an adopted program that is this image's own: the hand-over directory whose
    /// pinned maps this image's program is loaded on the first time it is needed (an
    /// interface to attach).
    adopted_from: Option<PathBuf>,
}

/// A second handle on a map, on its own file descriptor: whoever holds it reads or writes the
/// map without sharing anything with the `XdpDatapath` (the kernel serialises map updates).
fn second_handle<T: TryFrom<Map, Error = MapError>>(
    map: &MapData,
    name: &'static str,
) -> Result<T, XdpError> {
    typed(duplicate(map, name)?, name)
}

fn duplicate(map: &MapData, name: &'static str) -> Result<MapData, XdpError> {
    let fd = std::os::fd::AsFd::as_fd(map.fd())
        .try_clone_to_owned()
        .map_err(|error| XdpError::Duplicate(name, error))?;
    MapData::from_fd(fd).map_err(|error| XdpError::Map(name, error))
}

fn typed<T: TryFrom<Map, Error = MapError>>(
    data: MapData,
    name: &'static str,
) -> Result<T, XdpError> {
    let map = Map::from_map_data(data).map_err(|error| XdpError::Map(name, error))?;
    T::try_from(map).map_err(|error| XdpError::Map(name, error))
}

/// The maps of a loaded object, or of a hand-over directory, by name.
trait MapSource {
    fn map(&mut self, name: &'static str) -> Result<MapData, XdpError>;
}

impl MapSource for Ebpf {
    fn map(&mut self, name: &'static str) -> Result<MapData, XdpError> {
        match self.take_map(name).ok_or(XdpError::MissingMap(name))? {
            Map::HashMap(data)
            | Map::PerCpuArray(data)
            | Map::RingBuf(data)
            | Map::Array(data)
            | Map::PerCpuHashMap(data) => Ok(data),
            _ => Err(XdpError::Map(
                name,
                MapError::InvalidName { name: name.into() },
            )),
        }
    }
}

impl MapSource for &Path {
    fn map(&mut self, name: &'static str) -> Result<MapData, XdpError> {
        MapData::from_pin(self.join(name)).map_err(|error| XdpError::Map(name, error))
    }
}

impl XdpDatapath {
    /// Loads the program into the kernel (verified, not yet attached).
    pub fn load() -> Result<XdpDatapath, XdpError> {
        let mut ebpf = program::load()?;
        let mut datapath = XdpDatapath::with_maps(&mut ebpf)?;
        datapath.ebpf = Some(ebpf);
        datapath.program_digest = Some(program::object_digest());
        Ok(datapath)
    }

    fn with_maps(source: &mut impl MapSource) -> Result<XdpDatapath, XdpError> {
        let events = source.map("EVENTS")?;
        let config: HashMap<MapData, InstanceKey, InstanceConfig> =
            typed(source.map("CONFIG")?, "CONFIG")?;
        let liveness: Array<MapData, Liveness> = typed(source.map("LIVENESS")?, "LIVENESS")?;
        let liveness_view =
            Arc::new(LivenessView::map(liveness.map_data()).map_err(XdpError::MapLiveness)?);
        // Maps handed over by a previous image: its instances keep their records.
        let mut slots = Slots::default();
        for (key, entry) in config.iter().filter_map(Result::ok) {
            slots.claim(&key, entry.liveness_slot);
        }
        Ok(XdpDatapath {
            ebpf: None,
            config,
            liveness,
            liveness_view,
            slots,
            peers: typed(source.map("PEERS")?, "PEERS")?,
            vips: typed(source.map("VIPS")?, "VIPS")?,
            stats: typed(source.map("STATS")?, "STATS")?,
            instance_errors: typed(source.map("INSTANCE_ERRORS")?, "INSTANCE_ERRORS")?,
            events_map: duplicate(&events, "EVENTS")?,
            events: Some(typed(events, "EVENTS")?),
            attached: StdHashMap::new(),
            pinned: None,
            program_digest: None,
            adopted_from: None,
        })
    }

    /// `vrrpd upgrade`, in the image that goes: pins the maps and the attachments under
    /// `directory` for the next image and lets go of them here (the pins keep the program
    /// attached, across the exec, until the next image holds them).
    pub fn hand_over(&mut self, directory: &Path) -> Result<HandedOver, XdpError> {
        let error = |message: String| XdpError::Pin {
            path: directory.to_path_buf(),
            message,
        };
        if let Some(root) = directory.parent() {
            ensure_bpffs(root).map_err(&error)?;
        }
        let _ = std::fs::remove_dir_all(directory);
        std::fs::create_dir_all(directory).map_err(|e| error(e.to_string()))?;
        for (name, map) in self.maps() {
            map.pin(directory.join(name))
                .map_err(|e| error(format!("{name}: {e}")))?;
        }
        let mut interfaces = Vec::new();
        for (ifindex, (link, mode)) in std::mem::take(&mut self.attached) {
            let link = match link {
                Link::Adopted(link) => link,
                Link::Managed(id) => self.program().and_then(|xdp| {
                    xdp.take_link(id).map_err(|e| XdpError::Link {
                        ifindex,
                        message: e.to_string(),
                    })
                })?,
            };
            let pin = |link: XdpLink| -> Result<(), String> {
                let link = FdLink::try_from(link).map_err(|e| e.to_string())?;
                link.pin(link_pin(directory, ifindex))
                    .map(drop)
                    .map_err(|e| e.to_string())
            };
            pin(link).map_err(|message| XdpError::Link { ifindex, message })?;
            interfaces.push((ifindex, mode == AttachedMode::Driver));
        }
        Ok(HandedOver {
            directory: directory.to_path_buf(),
            interfaces,
            program_digest: self.program_digest.clone(),
        })
    }

    /// `vrrpd upgrade`, in the image that comes: the previous image's maps and attachments,
    /// held from now on (the link pins are removed; the map pins stay for [`Self::take_over`]).
    pub fn adopt(handed: &HandedOver) -> Result<XdpDatapath, XdpError> {
        let mut directory = handed.directory.as_path();
        let mut datapath = XdpDatapath::with_maps(&mut directory)?;
        for &(ifindex, driver) in &handed.interfaces {
            let path = link_pin(directory, ifindex);
            let message = |e: String| XdpError::Link {
                ifindex,
                message: e,
            };
            let pinned = PinnedLink::from_pin(&path).map_err(|e| message(e.to_string()))?;
            let link =
                XdpLink::try_from(FdLink::from(pinned)).map_err(|e| message(e.to_string()))?;
            let _ = std::fs::remove_file(&path);
            let mode = if driver {
                AttachedMode::Driver
            } else {
                AttachedMode::Skb
            };
            datapath
                .attached
                .insert(ifindex, (Link::Adopted(link), mode));
        }
        datapath.program_digest = handed.program_digest.clone();
        Ok(datapath)
    }

    /// Replaces the adopted program with this image's (loaded on the same maps by
    /// [`program::load_on_pinned_maps`]) on every interface, atomically, and removes the
    /// hand-over directory.
    pub fn take_over(&mut self, mut ebpf: Ebpf, directory: &Path) -> Result<(), XdpError> {
        let program = program::xdp_program(&mut ebpf)?;
        let mut result = Ok(());
        for (ifindex, (link, mode)) in std::mem::take(&mut self.attached) {
            let link = match link {
                Link::Adopted(adopted) => match program.attach_to_link(adopted) {
                    Ok(id) => Link::Managed(id),
                    Err(error) => {
                        // The link went with the failed update: the interface is unprotected
                        // until the next reload attaches it again; said, not hidden.
                        result = Err(XdpError::Link {
                            ifindex,
                            message: error.to_string(),
                        });
                        continue;
                    }
                },
                managed => managed,
            };
            self.attached.insert(ifindex, (link, mode));
        }
        self.ebpf = Some(ebpf);
        self.program_digest = Some(program::object_digest());
        self.adopted_from = None;
        remove_hand_over(directory);
        result
    }

    /// Whether the adopted program is this image's own (the same object).
    pub fn runs_own_program(&self) -> bool {
        self.program_digest.as_deref() == Some(program::object_digest().as_str())
    }

    /// Keeps the adopted program, this image's own; this image loads its copy only when an
    /// interface needs attaching, on the maps pinned under `directory` (see
    /// [`Self::kept_program_directory`]).
    pub fn keep_adopted(&mut self, directory: &Path) {
        self.adopted_from = Some(directory.to_path_buf());
    }

    /// Running on a kept program without this image's copy loaded: where its maps are pinned,
    /// for [`program::load_on_pinned_maps`] (done without this datapath's lock, which the
    /// protocol thread takes) and then [`Self::take_over`], before [`Self::attach_all`] can attach
    /// anywhere new.
    pub fn kept_program_directory(&self) -> Option<&Path> {
        match self.ebpf {
            None => self.adopted_from.as_deref(),
            Some(_) => None,
        }
    }

    fn program(&mut self) -> Result<&mut aya::programs::Xdp, XdpError> {
        let ebpf = self.ebpf.as_mut().ok_or(XdpError::Adopting)?;
        Ok(program::xdp_program(ebpf)?)
    }

    fn maps(&self) -> [(&'static str, &MapData); MAP_NAMES.len()] {
        [
            ("CONFIG", self.config.map_data()),
            ("LIVENESS", self.liveness.map_data()),
            ("PEERS", self.peers.map_data()),
            ("VIPS", self.vips.map_data()),
            ("STATS", self.stats.map_data()),
            ("EVENTS", &self.events_map),
            ("INSTANCE_ERRORS", self.instance_errors.map_data()),
        ]
    }

    /// Attaches the program to each of `interfaces` (name, index) it is not attached to yet,
    /// without holding `datapath`'s lock while the kernel attaches. The protocol thread takes that
    /// lock to write CONFIG, a takeover's included, and an XDP attach is slow: 10.4 ms for one
    /// BPF_LINK_CREATE on a veth here (strace -T), 6.6 to 10.6 ms for four
    /// (tests/tests/xdp_attach.rs). Held across the attach, the lock would make a takeover that
    /// falls due meanwhile that much late. So the loaded object is taken out under the lock,
    /// attached without it, and put back with its links. Returns the interfaces that could not be
    /// attached, with why.
    pub fn attach_all(
        datapath: &Mutex<XdpDatapath>,
        interfaces: &[(&str, u32)],
        policy: AttachPolicy,
    ) -> Vec<(String, XdpError)> {
        // A poisoned lock: whoever panicked holding it left the datapath as whole as any
        // other caller could (each change is one map write or one attachment).
        let mut locked = datapath.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seen = std::collections::HashSet::new();
        let wanted: Vec<(&str, u32)> = interfaces
            .iter()
            .copied()
            .filter(|(_, ifindex)| !locked.attached.contains_key(ifindex) && seen.insert(*ifindex))
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let Some(mut ebpf) = locked.ebpf.take() else {
            return wanted
                .iter()
                .map(|(interface, _)| (interface.to_string(), XdpError::Adopting))
                .collect();
        };
        drop(locked);
        let mut links = Vec::new();
        let mut failed = Vec::new();
        for (interface, ifindex) in wanted {
            let attached = program::xdp_program(&mut ebpf)
                .map_err(XdpError::from)
                .and_then(|xdp| Ok(attach::attach(xdp, interface, ifindex, policy)?));
            match attached {
                Ok((link, mode)) => {
                    info!("{interface}: XDP program attached in {mode} mode");
                    links.push((ifindex, link, mode));
                }
                Err(error) => failed.push((interface.to_string(), error)),
            }
        }
        let mut locked = datapath.lock().unwrap_or_else(PoisonError::into_inner);
        locked.ebpf = Some(ebpf);
        for (ifindex, link, mode) in links {
            locked.attached.insert(ifindex, (Link::Managed(link), mode));
        }
        failed
    }

    /// Detaches from an interface (a no-op if not attached, or if the interface is gone).
    pub fn detach(&mut self, ifindex: u32) {
        // An adopted link detaches when it is dropped here.
        if let Some((Link::Managed(link), _)) = self.attached.remove(&ifindex)
            && let Ok(xdp) = self.program()
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
        let config = InstanceConfig {
            liveness_slot: self.slots.give(key).ok_or(XdpError::LivenessFull)?,
            ..*config
        };
        self.config
            .insert(key, config, 0)
            .map_err(|e| XdpError::Map("CONFIG", e))?;
        // The instance's receive errors start at zero with it and live as long as it does
        // (a new configuration keeps them, as keepalived's reload keeps its statistics).
        if self.instance_errors.get(key, 0).is_err() {
            let zeros = aya::util::nr_cpus()
                .map_err(|(_, error)| error)
                .and_then(|cpus| PerCpuValues::try_from(vec![ReceiveErrors::default(); cpus]))
                .map_err(|error| XdpError::PerCpu("INSTANCE_ERRORS", error))?;
            self.instance_errors
                .insert(key, zeros, 0)
                .map_err(|e| XdpError::Map("INSTANCE_ERRORS", e))?;
        }
        Ok(())
    }

    pub fn remove_instance(&mut self, key: &InstanceKey) {
        let _ = self.config.remove(key);
        if let Some(slot) = self.slots.take_back(key) {
            let _ = self.liveness.set(slot, Liveness::default(), 0);
        }
        let _ = self.instance_errors.remove(key);
    }

    /// Starts a fresh LIVENESS record for an instance (giving it its slot).
    pub fn reset_liveness(&mut self, key: &InstanceKey) -> Result<(), XdpError> {
        let slot = self.slots.give(key).ok_or(XdpError::LivenessFull)?;
        self.liveness
            .set(slot, Liveness::default(), 0)
            .map_err(|e| XdpError::Map("LIVENESS", e))
    }

    /// The instance's slot in LIVENESS (given when it was registered).
    pub fn liveness_slot(&self, key: &InstanceKey) -> Option<u32> {
        self.slots.of(key)
    }

    /// LIVENESS, mapped: read by whoever holds it without this datapath's lock.
    pub fn liveness_view(&self) -> Arc<LivenessView> {
        Arc::clone(&self.liveness_view)
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
            config: second_handle(self.config.map_data(), "CONFIG")?,
            liveness: Arc::clone(&self.liveness_view),
            instance_errors: second_handle(self.instance_errors.map_data(), "INSTANCE_ERRORS")?,
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
        for (name, map) in self.maps() {
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
    /// Which slot of LIVENESS each instance has (the protocol thread gives them).
    config: HashMap<MapData, InstanceKey, InstanceConfig>,
    liveness: Arc<LivenessView>,
    instance_errors: PerCpuHashMap<MapData, InstanceKey, ReceiveErrors>,
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

    /// Every instance's LIVENESS record (CONFIG read in one system call for their slots).
    pub fn liveness_table(&self) -> LivenessTable {
        let entries = match super::batch::lookup_all(self.config.map_data(), MAX_INSTANCES as usize)
        {
            Ok(entries) => entries,
            // A kernel without batch lookups (before 5.6): key by key.
            Err(_) => self.config.iter().filter_map(Result::ok).collect(),
        };
        entries
            .into_iter()
            .filter_map(|(key, config): (InstanceKey, InstanceConfig)| {
                Some((key, self.liveness.read(config.liveness_slot)?))
            })
            .collect()
    }

    /// An instance's receive errors, summed over CPUs.
    pub fn receive_errors(&self, key: &InstanceKey) -> Option<ReceiveErrors> {
        let values = self.instance_errors.get(key, 0).ok()?;
        Some(
            values
                .iter()
                .fold(ReceiveErrors::default(), |sum, cpu| sum.plus(cpu)),
        )
    }
}

/// The LIVENESS records of every instance, for status and metrics.
pub type LivenessTable = std::collections::HashMap<InstanceKey, Liveness>;

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

impl<K: aya::Pod, V: aya::Pod> MapDataOf for PerCpuHashMap<MapData, K, V> {
    fn map_data(&self) -> &MapData {
        aya::maps::IterableMap::map(self)
    }
}

impl MapDataOf for Array<MapData, Liveness> {
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
        for dir in self.pinned.iter().chain(&self.adopted_from) {
            remove_hand_over(dir);
        }
    }
}

/// Removes a directory of map and link pins (the maps and links live on while held).
pub fn remove_hand_over(directory: &Path) {
    for name in MAP_NAMES {
        let _ = std::fs::remove_file(directory.join(name));
    }
    if let Ok(entries) = std::fs::read_dir(directory) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("link-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(directory);
}
