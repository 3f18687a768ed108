//! How a fuzz target runs: its budget (cases in the suite; seconds for a long run), a
//! deterministic seed, and a watchdog that stops the process with the input when one case
//! hangs or memory grows past the limit.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// One case running longer than this is a hang.
const HANG_LIMIT: Duration = Duration::from_secs(20);
/// Resident memory past this is unbounded growth.
const MEMORY_LIMIT_BYTES: u64 = 2 << 30;
/// The seed of the suite's runs, so that a failure there fails again.
const SEED: [u8; 32] = *b"weft fuzz: a fixed seed for CI!!";

/// What the watchdog knows about the case that runs now.
struct Current {
    started: Instant,
    input: String,
}

/// Stops the process, naming the input, when a case hangs or memory runs away.
struct Watchdog {
    current: Arc<Mutex<Current>>,
    stop: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(target: &'static str) -> Watchdog {
        let current = Arc::new(Mutex::new(Current {
            started: Instant::now(),
            input: String::new(),
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let watched = current.clone();
        std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(200))
            {
                let case = watched.lock().unwrap_or_else(|e| e.into_inner());
                let rss = resident_bytes();
                let hung = case.started.elapsed() > HANG_LIMIT;
                if hung || rss > MEMORY_LIMIT_BYTES {
                    let why = if hung {
                        "hangs"
                    } else {
                        "uses unbounded memory"
                    };
                    eprintln!(
                        "fuzz target `{target}` {why} ({rss} bytes) on input:\n{}",
                        case.input
                    );
                    std::process::abort();
                }
            }
        });
        Watchdog { current, stop }
    }

    fn case(&self, input: String) {
        let mut case = self.current.lock().unwrap_or_else(|e| e.into_inner());
        case.started = Instant::now();
        case.input = input;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Runs `check` on inputs from `strategy`: `cases` of them from the fixed seed (times
/// `WEFT_FUZZ_SCALE`), or, with `WEFT_FUZZ_SECS`, fresh seeds for that many seconds.
/// Prints what ran. A failing case is shrunk and reported with its input.
pub fn fuzz<S, F>(target: &'static str, cases: u32, strategy: S, check: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let watchdog = Watchdog::start(target);
    let run_case = |value: S::Value| {
        watchdog.case(format!("{value:#?}"));
        check(value)
    };
    let started = Instant::now();
    let scale: u32 = env_number("WEFT_FUZZ_SCALE").unwrap_or(1);
    let mut total = 0u64;
    match env_number::<u64>("WEFT_FUZZ_SECS") {
        Some(secs) => {
            let deadline = started + Duration::from_secs(secs);
            while Instant::now() < deadline {
                let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &rand_seed());
                run(target, cases, rng, &strategy, &run_case);
                total += u64::from(cases);
            }
        }
        None => {
            let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &SEED);
            run(target, cases * scale, rng, &strategy, &run_case);
            total += u64::from(cases * scale);
        }
    }
    eprintln!(
        "fuzz target `{target}`: {total} cases in {:.1}s, no failure",
        started.elapsed().as_secs_f64()
    );
}

fn run<S, F>(target: &str, cases: u32, rng: TestRng, strategy: &S, check: &F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    if let Err(failure) = runner.run(strategy, check) {
        panic!("fuzz target `{target}` failed: {failure}");
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    seed[..16].copy_from_slice(&nanos.to_le_bytes());
    seed[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    seed
}
