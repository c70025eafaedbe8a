//! `cargo xtask package [--check]`: the Debian package, built with dpkg-deb from a staged tree.
//!
//! target/debian/vrrpd_VERSION_ARCH.deb holds /usr/sbin/vrrpd (the XDP program embedded), the
//! systemd unit, vrrpd(8) and vrrpd.conf(5) and the bash, zsh and fish completions (all printed
//! by the binary itself, `vrrpd --generate`, so they cannot drift from it), the example
//! configuration, the copyright and changelog, and the maintainer scripts of packaging/debian.
//! keepalived's files are not touched: /etc/keepalived/keepalived.conf stays keepalived's.
//!
//! `--check` then runs lintian (no errors allowed), installs the package into a throw-away root
//! (dpkg --root with chroot-less maintainer scripts, which see DPKG_ROOT and start nothing),
//! checks what an operator would (`vrrpd -t` on a keepalived.conf, `man -l` on both pages, the
//! bash completion loaded, `systemd-analyze verify` on the unit), purges it, and checks that
//! nothing of vrrpd is left and keepalived's file is untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::cargo::{build_release, workspace_root};

/// Where the files go inside the package, and from which `vrrpd --generate` form.
const GENERATED: [(&str, &str, bool); 5] = [
    ("man8", "usr/share/man/man8/vrrpd.8.gz", true),
    ("man5", "usr/share/man/man5/vrrpd.conf.5.gz", true),
    ("bash", "usr/share/bash-completion/completions/vrrpd", false),
    ("zsh", "usr/share/zsh/vendor-completions/_vrrpd", false),
    (
        "fish",
        "usr/share/fish/vendor_completions.d/vrrpd.fish",
        false,
    ),
];

const UNIT: &str = "lib/systemd/system/vrrpd.service";

pub fn run(args: &[String]) -> Result<()> {
    let binaries = build_release()?;
    build_and_maybe_check(binaries.path("vrrpd")?, args.iter().any(|a| a == "--check"))
}

/// Builds the package around `vrrpd`; with `check`, checks it (`cargo xtask test` does, with
/// the vrrpd its tests run).
pub fn build_and_maybe_check(vrrpd: &Path, check_it: bool) -> Result<()> {
    let deb = build(vrrpd)?;
    println!("package: {}", deb.display());
    if check_it {
        check(&deb)?;
        println!(
            "package check: lintian clean of errors; installed, checked and purged in a throw-away root"
        );
    }
    Ok(())
}

fn output(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("could not start {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("gzip")?;
    child
        .stdin
        .take()
        .context("gzip's input")?
        .write_all(bytes)?;
    let output = child.wait_with_output()?;
    ensure!(output.status.success(), "gzip failed");
    Ok(output.stdout)
}

/// Stages the tree and builds the .deb; returns its path.
fn build(vrrpd: &Path) -> Result<PathBuf> {
    let root = workspace_root();
    let version_text = output(Command::new(vrrpd).arg("--version"))?;
    let version = version_text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("vrrpd "))
        .context("vrrpd --version")?
        .trim()
        .to_string();
    let changelog = std::fs::read_to_string(root.join("packaging/debian/changelog"))?;
    ensure!(
        changelog.starts_with(&format!("vrrpd ({version})")),
        "packaging/debian/changelog does not start with version {version}"
    );
    let arch = output(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_string();
    let stage = root.join("target/debian/root");
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)?;

    let binary = stage.join("usr/sbin/vrrpd");
    write(&binary, &std::fs::read(vrrpd)?, 0o755)?;
    output(
        Command::new("strip")
            .args([
                "--strip-unneeded",
                "--remove-section=.comment",
                "--remove-section=.note",
            ])
            .arg(&binary),
    )?;
    for (form, path, compress) in GENERATED {
        let text = output(Command::new(&binary).args(["--generate", form]))?;
        let bytes = if compress {
            gzip(text.as_bytes())?
        } else {
            text.into_bytes()
        };
        write(&stage.join(path), &bytes, 0o644)?;
    }
    write(
        &stage.join(UNIT),
        &std::fs::read(root.join("packaging/vrrpd.service"))?,
        0o644,
    )?;
    let doc = stage.join("usr/share/doc/vrrpd");
    write(
        &doc.join("examples/keepalived.conf.example"),
        &std::fs::read(root.join("packaging/keepalived.conf.example"))?,
        0o644,
    )?;
    write(
        &doc.join("copyright"),
        &std::fs::read(root.join("packaging/debian/copyright"))?,
        0o644,
    )?;
    write(
        // A native package's changelog is changelog.gz (Debian policy 12.7).
        &doc.join("changelog.gz"),
        &gzip(changelog.as_bytes())?,
        0o644,
    )?;

    let control = stage.join("DEBIAN");
    for script in ["postinst", "prerm", "postrm"] {
        write(
            &control.join(script),
            &std::fs::read(root.join("packaging/debian").join(script))?,
            0o755,
        )?;
    }
    let installed_kib = output(
        Command::new("du")
            .args(["-sk", "--exclude=DEBIAN"])
            .arg(&stage),
    )?
    .split_whitespace()
    .next()
    .unwrap_or("0")
    .to_string();
    write(
        &control.join("control"),
        format!(
            "Package: vrrpd\n\
             Version: {version}\n\
             Architecture: {arch}\n\
             Maintainer: xdp-vrrp developers <vrrpd@xdp-vrrp.invalid>\n\
             Installed-Size: {installed_kib}\n\
             Depends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), nftables\n\
             Suggests: keepalived\n\
             Section: net\n\
             Priority: optional\n\
             Homepage: https://github.com/xdp-vrrp/xdp-vrrp\n\
             Description: keepalived-compatible VRRP daemon with an XDP datapath\n \
             vrrpd runs the VRRP side of keepalived from the same keepalived.conf: VRRPv2\n \
             and v3 on the wire with keepalived and FRR, the same scripts, notifications\n \
             and signals. Its XDP program validates adverts and answers ARP and neighbour\n \
             solicitations in the kernel; reloads apply in place and `vrrpd upgrade`\n \
             replaces the running daemon without moving a virtual address.\n"
        )
        .as_bytes(),
        0o644,
    )?;
    let sums = output(
        Command::new("sh")
            .arg("-c")
            .arg("find . -type f ! -path './DEBIAN/*' -printf '%P\\n' | sort | xargs md5sum")
            .current_dir(&stage),
    )?;
    write(&control.join("md5sums"), sums.as_bytes(), 0o644)?;

    let deb = root.join(format!("target/debian/vrrpd_{version}_{arch}.deb"));
    output(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// The files under `root`, relative, except dpkg's own database.
fn files_under(root: &Path) -> Result<Vec<String>> {
    let listing = output(
        Command::new("sh")
            .arg("-c")
            .arg("find . -mindepth 1 ! -path './var/lib/dpkg*' ! -type d -printf '%P\\n' | sort")
            .current_dir(root),
    )?;
    Ok(listing.lines().map(str::to_string).collect())
}

fn check(deb: &Path) -> Result<()> {
    // lintian: no errors (warnings are printed for the record).
    let lintian = Command::new("lintian")
        .args(["--fail-on", "error", "--no-tag-display-limit"])
        .arg(deb)
        .output()
        .context("lintian (cargo xtask setup installs it)")?;
    print!("{}", String::from_utf8_lossy(&lintian.stdout));
    ensure!(
        lintian.status.success(),
        "lintian found errors: {}",
        String::from_utf8_lossy(&lintian.stdout)
    );

    let scratch = std::env::temp_dir().join(format!("vrrpd-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let result = check_in(deb, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn check_in(deb: &Path, root: &Path) -> Result<()> {
    std::fs::create_dir_all(root.join("var/lib/dpkg/info"))?;
    std::fs::create_dir_all(root.join("var/lib/dpkg/updates"))?;
    std::fs::write(root.join("var/lib/dpkg/status"), "")?;
    // keepalived's file, as an operator has it: vrrpd must read it and leave it alone.
    let keepalived_conf = root.join("etc/keepalived/keepalived.conf");
    let example = std::fs::read(workspace_root().join("packaging/keepalived.conf.example"))?;
    write(&keepalived_conf, &example, 0o644)?;
    let before = files_under(root)?;

    let dpkg = |action: &[&str]| -> Result<String> {
        output(
            Command::new("dpkg")
                .arg(format!("--root={}", root.display()))
                .args([
                    "--force-script-chrootless",
                    "--force-depends",
                    "--log=/dev/null",
                ])
                .args(action),
        )
    };
    dpkg(&["-i", &deb.display().to_string()])?;
    let installed = files_under(root)?;
    for (_, path, _) in GENERATED {
        ensure!(installed.iter().any(|f| f == path), "{path} not installed");
    }

    // vrrpd -t on keepalived's file: it runs (0, or 5: runs with keepalived's fallbacks).
    let test = Command::new(root.join("usr/sbin/vrrpd"))
        .arg("-t")
        .arg("-f")
        .arg(&keepalived_conf)
        .output()?;
    ensure!(
        matches!(test.status.code(), Some(0 | 5)),
        "vrrpd -t: {:?} {}",
        test.status,
        String::from_utf8_lossy(&test.stderr)
    );
    for page in [
        "usr/share/man/man8/vrrpd.8.gz",
        "usr/share/man/man5/vrrpd.conf.5.gz",
    ] {
        let text = output(
            Command::new("man")
                .arg("-l")
                .arg(root.join(page))
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80"),
        )?;
        ensure!(text.contains("vrrpd"), "{page} renders empty");
    }
    output(Command::new("bash").arg("-c").arg(format!(
        "source {} && complete -p vrrpd",
        root.join("usr/share/bash-completion/completions/vrrpd").display()
    )))?;
    // The installed unit, verified against the installed binary (the unit names /usr/sbin/vrrpd,
    // which is inside the throw-away root here).
    let unit = std::fs::read_to_string(root.join(UNIT))?;
    let verified = root.join("vrrpd.service");
    std::fs::write(
        &verified,
        unit.replace(
            "/usr/sbin/vrrpd",
            &root.join("usr/sbin/vrrpd").display().to_string(),
        ),
    )?;
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&verified)
        .output()?;
    std::fs::remove_file(&verified)?;
    let complaints: Vec<String> = String::from_utf8_lossy(&verify.stderr)
        .lines()
        .filter(|l| l.contains("vrrpd.service"))
        .map(str::to_string)
        .collect();
    ensure!(
        verify.status.success() && complaints.is_empty(),
        "systemd-analyze verify: {complaints:?}"
    );

    dpkg(&["--purge", "vrrpd"])?;
    let after = files_under(root)?;
    if after != before {
        bail!("after the purge: {after:?}, before the install: {before:?}");
    }
    ensure!(
        std::fs::read(&keepalived_conf)? == example,
        "keepalived's file changed"
    );
    Ok(())
}
