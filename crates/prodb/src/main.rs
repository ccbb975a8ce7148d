//! `prodb`: see `prodb --help`.

fn main() -> std::process::ExitCode {
    cli::prodb::main(std::env::args_os())
}
