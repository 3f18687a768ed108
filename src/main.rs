//! The `weft` command line: parse arguments, run the subcommand, exit with its code.

use clap::Parser;

fn main() {
    let cli = weft::cli::Cli::parse();
    let code = weft::cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    if std::env::var_os("WEFT_PEAK_RSS").is_some() {
        report_peak_rss();
    }
    std::process::exit(code);
}

/// For the benchmarks: weft's own peak resident memory (children not included).
fn report_peak_rss() {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
        eprintln!("weft peak rss: {} KiB", usage.ru_maxrss);
    }
}
