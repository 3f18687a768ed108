//! Retry a call while the server reports overload (-32001), with exponential backoff and jitter.

use std::future::Future;
use std::time::Duration;

use super::error::Result;

/// How [`retry_on_overload`] backs off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled for each later one.
    pub initial_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Each wait is scaled by a random factor in `1 ± jitter` (0.0 to 1.0).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 3 attempts, 250 ms doubling up to 2 s, ±20 % jitter (the Python SDK's defaults).
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(2),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), jitter included.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let base = self
            .initial_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * fastrand::f64() - 1.0);
        base.mul_f64(factor)
    }
}

/// Run `operation` until it succeeds, fails with an error that is not retryable
/// ([`Error::is_retryable`](super::Error::is_retryable): overload only), or `max_attempts` have failed; the last
/// error is returned.
pub async fn retry_on_overload<T, F, Fut>(policy: RetryPolicy, mut operation: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(error) if error.is_retryable() && attempt < policy.max_attempts => {
                tracing::debug!(attempt, %error, "retrying after overload");
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_within_the_jitter() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            jitter: 0.1,
        };
        let within = |d: Duration, ms: f64| {
            let got = d.as_secs_f64() * 1000.0;
            got >= ms * 0.9 - 1e-6 && got <= ms * 1.1 + 1e-6
        };
        assert!(within(policy.delay(1), 100.0));
        assert!(within(policy.delay(2), 200.0));
        assert!(within(policy.delay(3), 300.0));
        assert!(within(policy.delay(9), 300.0));
    }
}
