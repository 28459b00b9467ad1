//! The `otpfob-server` binary: see `otpfob-server --help`.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = otpfob_server::commands::Cli::parse();
    match otpfob_server::commands::execute(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otpfob-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
