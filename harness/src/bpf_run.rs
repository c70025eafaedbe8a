//! Runs the real XDP program on crafted frames with BPF_PROG_TEST_RUN: verdict, the frame as the
//! program left it, and (through the returned object) the maps it touched. Needs root, no
//! interface. Every packet-level test goes through this helper.

use anyhow::{Context, Result};
use aya::Ebpf;
use aya::programs::{TestRun, TestRunOptions};

/// XDP verdicts (linux/bpf.h `enum xdp_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Aborted,
    Drop,
    Pass,
    Tx,
    Redirect,
    Other(u32),
}

impl From<u32> for Verdict {
    fn from(value: u32) -> Self {
        match value {
            0 => Verdict::Aborted,
            1 => Verdict::Drop,
            2 => Verdict::Pass,
            3 => Verdict::Tx,
            4 => Verdict::Redirect,
            other => Verdict::Other(other),
        }
    }
}

/// What one run of the program did to one frame.
#[derive(Debug)]
pub struct XdpRun {
    pub verdict: Verdict,
    /// The frame after the program (rewritten in place for XDP_TX).
    pub output: Vec<u8>,
}

/// A loaded copy of the XDP program for test runs; each instance has its own maps.
pub struct XdpUnderTest {
    pub ebpf: Ebpf,
}

impl XdpUnderTest {
    pub fn load() -> Result<XdpUnderTest> {
        let ebpf = vrrp_user::datapath::program::load().context("loading the XDP program")?;
        Ok(XdpUnderTest { ebpf })
    }

    /// A hash map of the program, typed.
    pub fn hash_map<K: aya::Pod, V: aya::Pod>(
        &mut self,
        name: &str,
    ) -> Result<aya::maps::HashMap<&mut aya::maps::MapData, K, V>> {
        let map = self
            .ebpf
            .map_mut(name)
            .with_context(|| format!("no map {name}"))?;
        Ok(aya::maps::HashMap::try_from(map)?)
    }

    /// The LIVENESS record in `slot` (the slot an instance's CONFIG entry names; 0 for the
    /// fixtures' configurations).
    pub fn liveness(&mut self, slot: u32) -> Result<vrrp_common::maps::Liveness> {
        let map = self.ebpf.map("LIVENESS").context("no map LIVENESS")?;
        let array: aya::maps::Array<&aya::maps::MapData, vrrp_common::maps::Liveness> =
            aya::maps::Array::try_from(map)?;
        Ok(array.get(&slot, 0)?)
    }

    /// Creates an instance's INSTANCE_ERRORS entry, as userspace does with the instance.
    pub fn create_receive_errors(&mut self, key: vrrp_common::maps::InstanceKey) -> Result<()> {
        let map = self
            .ebpf
            .map_mut("INSTANCE_ERRORS")
            .context("no INSTANCE_ERRORS map")?;
        let mut errors: aya::maps::PerCpuHashMap<
            &mut aya::maps::MapData,
            vrrp_common::maps::InstanceKey,
            vrrp_common::stats::ReceiveErrors,
        > = aya::maps::PerCpuHashMap::try_from(map)?;
        let cpus = aya::util::nr_cpus().map_err(|(_, error)| error)?;
        let zeros = aya::maps::PerCpuValues::try_from(vec![
            vrrp_common::stats::ReceiveErrors::default();
            cpus
        ])?;
        errors.insert(key, zeros, 0)?;
        Ok(())
    }

    /// An instance's receive errors, summed over CPUs.
    pub fn receive_errors(
        &self,
        key: vrrp_common::maps::InstanceKey,
    ) -> Result<vrrp_common::stats::ReceiveErrors> {
        let map = self
            .ebpf
            .map("INSTANCE_ERRORS")
            .context("no INSTANCE_ERRORS map")?;
        let errors: aya::maps::PerCpuHashMap<
            &aya::maps::MapData,
            vrrp_common::maps::InstanceKey,
            vrrp_common::stats::ReceiveErrors,
        > = aya::maps::PerCpuHashMap::try_from(map)?;
        Ok(errors
            .get(&key, 0)?
            .iter()
            .fold(Default::default(), |sum, cpu| sum.plus(cpu)))
    }

    /// One counter of the STATS map, summed over CPUs.
    pub fn counter(&self, counter: vrrp_common::stats::Counter) -> Result<u64> {
        let map = self.ebpf.map("STATS").context("no STATS map")?;
        let stats: aya::maps::PerCpuArray<&aya::maps::MapData, u64> =
            aya::maps::PerCpuArray::try_from(map)?;
        Ok(stats.get(&(counter as u32), 0)?.iter().sum())
    }

    /// Every counter of the STATS map, summed over CPUs, by index.
    pub fn counters(&self) -> Result<Vec<u64>> {
        let map = self.ebpf.map("STATS").context("no STATS map")?;
        let stats: aya::maps::PerCpuArray<&aya::maps::MapData, u64> =
            aya::maps::PerCpuArray::try_from(map)?;
        vrrp_common::stats::Counter::ALL
            .iter()
            .map(|counter| Ok(stats.get(&(*counter as u32), 0)?.iter().sum()))
            .collect()
    }

    /// Every EVENTS record written so far (and not yet read).
    pub fn events(&mut self) -> Result<Vec<vrrp_common::maps::Event>> {
        let map = self.ebpf.map_mut("EVENTS").context("no EVENTS map")?;
        let mut ring: aya::maps::RingBuf<&mut aya::maps::MapData> =
            aya::maps::RingBuf::try_from(map)?;
        let mut events = Vec::new();
        while let Some(item) = ring.next() {
            if item.len() >= std::mem::size_of::<vrrp_common::maps::Event>() {
                // SAFETY: the program writes whole Event records.
                events.push(unsafe {
                    std::ptr::read_unaligned(item.as_ptr().cast::<vrrp_common::maps::Event>())
                });
            }
        }
        Ok(events)
    }

    /// Runs the program once on `frame`.
    pub fn run(&mut self, frame: &[u8]) -> Result<XdpRun> {
        let program = vrrp_user::datapath::program::xdp_program(&mut self.ebpf)?;
        // XDP test runs hand the program a frame with this much headroom; the output is the
        // frame as the program left it.
        let mut output = vec![0u8; frame.len() + 256];
        let options = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut output),
            ..TestRunOptions::new()
        };
        let result = program.test_run(options).context("BPF_PROG_TEST_RUN")?;
        output.truncate(result.data_size_out as usize);
        Ok(XdpRun {
            verdict: Verdict::from(result.return_value),
            output,
        })
    }
}
