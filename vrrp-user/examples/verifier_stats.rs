//! Loads the embedded XDP program and prints what the kernel's verifier said: on success the
//! program's instruction count and the verifier's processed-instruction count, on failure the
//! end of the verifier log. Needs root.

fn main() -> std::process::ExitCode {
    let mut ebpf = match aya::EbpfLoader::new()
        .verifier_log_level(if std::env::var_os("VERBOSE").is_some() {
            aya::VerifierLogLevel::VERBOSE | aya::VerifierLogLevel::STATS
        } else {
            aya::VerifierLogLevel::STATS
        })
        .load(vrrp_user::datapath::program::XDP_OBJECT)
    {
        Ok(ebpf) => ebpf,
        Err(error) => {
            eprintln!("object: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let program = match vrrp_user::datapath::program::xdp_program(&mut ebpf) {
        Ok(program) => program,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(error) = program.load() {
        let text = format!("{error:?}");
        let lines: Vec<&str> = text.split("\\n").collect();
        let start = lines.len().saturating_sub(60);
        eprintln!(
            "verifier rejected the program:\n{}",
            lines[start..].join("\n")
        );
        return std::process::ExitCode::FAILURE;
    }
    match program.info() {
        Ok(info) => {
            let instructions = info.size_translated().unwrap_or(0) / 8;
            println!(
                "loaded: {instructions} translated instructions (xlated {} bytes, jited {} bytes); \
                 the verifier processed {} instructions",
                info.size_translated().unwrap_or(0),
                info.size_jitted(),
                info.verified_instruction_count()
                    .map_or_else(|| "an unknown number of".to_string(), |n| n.to_string())
            );
        }
        Err(error) => eprintln!("program info: {error}"),
    }
    std::process::ExitCode::SUCCESS
}
