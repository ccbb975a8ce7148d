//! `proserve`: see `proserve --help`.

fn main() -> std::process::ExitCode {
    cli::proserve::main(std::env::args_os())
}
