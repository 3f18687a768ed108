//! The `weft` command line: parse arguments, run the subcommand, exit with its code.

use clap::Parser;

fn main() {
    let cli = weft::cli::Cli::parse();
    let code = weft::cli::run(
        cli,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
