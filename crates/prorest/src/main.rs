//! `prorest`: see `prorest --help`.

fn main() -> std::process::ExitCode {
    cli::prorest::main(std::env::args_os())
}
