//! vrrpd's entry point: parse the command line and hand over.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use vrrp_user::cli::{Cli, Exit};
use vrrp_user::config::{self, LexOptions};

/// jemalloc, not glibc's malloc: glibc gives each thread that allocates an arena of its own
/// and keeps what is freed in them, so what start-up uses once (the configuration, the plans,
/// the kernel's BTF that aya parses while loading the XDP program on a blocking thread) stayed
/// resident, scattered among what lives on. At 1000 instances in the bench's scale scenario,
/// two runs of each alternating, same code: master / backup proportional set size 19.2 / 23.0
/// and 17.0 / 13.6 MiB with glibc (malloc_trim after start-up included), 13.7 / 13.7 and
/// 13.6 / 14.0 with jemalloc set up as below; the master's CPU per advert 4.94 and 4.55 µs
/// against 3.87 and 3.78 (issue 20, target 5).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings (its `malloc_conf` string, read at its first allocation; the
/// `MALLOC_CONF` variable still overrides them): one arena for all of vrrpd's threads, which
/// are few and mostly idle (jemalloc's default is four per CPU, each holding partly used
/// pages); freed pages handed back to the kernel at once instead of after 10 s. Each thread
/// keeps its cache of small blocks: without them the master's CPU per advert sent at 1000
/// instances was 4.79 µs against 3.95 with them (one bench run each), for ~1 MiB less in a lone
/// pair. The exported name is the one jemalloc looks up (unprefixed: jemalloc is the process's
/// malloc), a pointer to the string's first byte, as C's `const char *malloc_conf`.
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "malloc_conf")]
pub static malloc_conf: &u8 = &b"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0\0"[0];

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(name) = &cli.signum {
        return match vrrp_user::host::SignalFunction::from_name(name) {
            Some(function) => {
                println!("{}", function.number());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(what) = cli.generate {
        let _ = std::io::stdout().write_all(&vrrp_user::manual::generate(what));
        return ExitCode::SUCCESS;
    }
    if cli.upgrade_preflight {
        println!("{}", vrrp_user::daemon::upgrade::preflight_answer());
        return ExitCode::SUCCESS;
    }
    if cli.config_test.is_some() {
        return config_test(&cli);
    }
    match &cli.command {
        Some(command) => vrrp_user::control::client::run(command),
        None => vrrp_user::daemon::run(cli),
    }
}

fn config_test(cli: &Cli) -> ExitCode {
    let options = LexOptions {
        config_id: cli.config_id.clone().or_else(vrrp_user::host::host_name),
    };
    if cli.report {
        let (report, runs) = config::migration_report(&cli.file, &options);
        print!("{report}");
        return if runs { Exit::Ok } else { Exit::Config }.into();
    }
    // keepalived's `--config-test=FILE`: the diagnostics go to FILE, else to stderr.
    let mut diagnostics: Box<dyn Write> = match &cli.config_test {
        Some(Some(file)) => match std::fs::File::create(file) {
            Ok(file) => Box::new(file),
            Err(error) => {
                eprintln!(
                    "Unable to open config-test log file {}: {error}",
                    file.display()
                );
                return ExitCode::FAILURE;
            }
        },
        _ => Box::new(std::io::stderr()),
    };
    match config::load(&cli.file, &options) {
        Ok(loaded) => {
            let host = vrrp_user::audit::audit(&loaded.config);
            for warning in loaded.warnings.iter().chain(&host.warnings) {
                let _ = writeln!(diagnostics, "{warning} (warning)");
            }
            for notice in loaded.notices.iter().chain(&host.notices) {
                let _ = writeln!(diagnostics, "{notice} (notice)");
            }
            if let Some(violation) = &host.violation {
                let _ = writeln!(diagnostics, "{violation}");
            }
            print!("{}", config::summary::summary(&loaded.config));
            println!("\nconfiguration {} is valid", cli.file.display());
            // keepalived's config test: a security violation outranks every other report.
            if host.violation.is_some() {
                Exit::ConfigTestSecurity.into()
            } else if loaded.warnings.is_empty() && host.warnings.is_empty() {
                Exit::Ok.into()
            } else {
                Exit::ConfigTest.into()
            }
        }
        Err(error) => {
            for diagnostic in error.diagnostics() {
                let _ = writeln!(diagnostics, "{diagnostic}");
            }
            Exit::Config.into()
        }
    }
}
