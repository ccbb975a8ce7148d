//! `proquiet`: see `proquiet --help`.

fn main() -> std::process::ExitCode {
    cli::proquiet::main(std::env::args_os())
}
