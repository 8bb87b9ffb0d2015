//! Per-user rate limit: a token bucket per conversation, refilled continuously, kept in a `moka`
//! cache so idle users are forgotten. When a user first goes over, they get one polite notice;
//! further messages in the same burst are recorded but not answered.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Over the limit: tell the user once.
    LimitedNotify,
    /// Over the limit and already told.
    LimitedSilent,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    notified: bool,
}

pub struct RateLimiter {
    per_minute: f64,
    buckets: Cache<String, Arc<Mutex<Bucket>>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    pub fn check(&self, key: &str) -> Decision {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Decision {
        let bucket = self.buckets.get_with(key.to_owned(), || {
            Arc::new(Mutex::new(Bucket {
                tokens: self.per_minute,
                updated: now,
                notified: false,
            }))
        });
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.notified = false;
            Decision::Allow
        } else if bucket.notified {
            Decision::LimitedSilent
        } else {
            bucket.notified = true;
            Decision::LimitedNotify
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_limited_and_refill_with_time() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at("u", t0), Decision::Allow);
        }
        assert_eq!(limiter.check_at("u", t0), Decision::LimitedNotify);
        assert_eq!(limiter.check_at("u", t0), Decision::LimitedSilent);
        // Another user is not affected.
        assert_eq!(limiter.check_at("v", t0), Decision::Allow);
        // 20 s later one token is back (3 per minute).
        assert_eq!(
            limiter.check_at("u", t0 + Duration::from_secs(21)),
            Decision::Allow
        );
        assert_eq!(
            limiter.check_at("u", t0 + Duration::from_secs(21)),
            Decision::LimitedNotify
        );
    }
}
