//! `prostrct`: see `prostrct --help`.

fn main() -> std::process::ExitCode {
    cli::prostrct::main(std::env::args_os())
}
