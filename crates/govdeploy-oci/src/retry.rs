//! Retry with exponential backoff for transient failures (connection errors, 5xx, 429).

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (`attempt` counts from 1): doubling from the base,
    /// capped, with up to a quarter of jitter so that parallel transfers do not retry in step.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        let delay = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jitter = delay.as_nanos() as u64 / 4;
        let extra = if jitter == 0 {
            0
        } else {
            u64::from(nanos) % jitter
        };
        delay + Duration::from_nanos(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        let d1 = p.delay(1, None);
        let d2 = p.delay(2, None);
        let d5 = p.delay(5, None);
        assert!(d1 >= Duration::from_millis(100) && d1 < Duration::from_millis(126));
        assert!(d2 >= Duration::from_millis(200) && d2 < Duration::from_millis(251));
        assert!(d5 >= Duration::from_millis(350) && d5 < Duration::from_millis(438));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(9))),
            Duration::from_millis(350)
        );
    }
}
