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

    /// Runs the program once on `frame`.
    pub fn run(&mut self, frame: &[u8]) -> Result<XdpRun> {
        let program = vrrp_user::datapath::program::xdp_program(&mut self.ebpf)?;
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
