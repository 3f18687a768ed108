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

/// For the benchmarks: weft's own peak resident memory, and the largest of its children
/// that have ended (the app-server it ran; the shells it started are far smaller).
fn report_peak_rss() {
    for (who, what) in [
        ("weft", libc::RUSAGE_SELF),
        ("child", libc::RUSAGE_CHILDREN),
    ] {
        // SAFETY: getrusage fills the struct we pass; both `who` values are always valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(what, &mut usage) } == 0 {
            eprintln!("{who} peak rss: {} KiB", usage.ru_maxrss);
        }
    }
}
