//! `probkup`: see `probkup --help`.

fn main() -> std::process::ExitCode {
    cli::probkup::main(std::env::args_os())
}
