//! `proshut`: see `proshut --help`.

fn main() -> std::process::ExitCode {
    cli::proshut::main(std::env::args_os())
}
