//! `rfutil`: see `rfutil --help`.

fn main() -> std::process::ExitCode {
    cli::rfutil::main(std::env::args_os())
}
