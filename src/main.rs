//! The `weft` command line: parse arguments, run the subcommand, exit with its code.

use clap::Parser;

fn main() {
    let cli = weft::cli::Cli::parse();
    let code = weft::cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
