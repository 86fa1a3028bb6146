//! The `viva` binary: parse arguments, run one command, print errors once.

use std::process::ExitCode;

fn main() -> ExitCode {
    match viva::cli::run() {
        Ok(code) => code,
        Err(err) => {
            if viva::cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("viva: {}", viva::cli::error_message(&err));
            ExitCode::FAILURE
        }
    }
}
