//! `proclient`: see `proclient --help`.

fn main() -> std::process::ExitCode {
    cli::proclient::main(std::env::args_os())
}
