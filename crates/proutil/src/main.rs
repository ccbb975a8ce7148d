//! `proutil`: see `proutil --help`.

fn main() -> std::process::ExitCode {
    cli::proutil::main(std::env::args_os())
}
