//! The `weft` command line: parse arguments, run the subcommand, exit with its code.

fn main() {
    std::process::exit(weft::error::EXIT_SUCCESS);
}
