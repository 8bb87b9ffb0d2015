//! The re-index that follows a change of the corpus directory (the staff console's corpus pages):
//! [`super::reindex`] on its own thread, one run at a time. A change during a run makes one more
//! run follow it, so the last change is always indexed. Questions are answered from the current
//! index and library throughout.
//!
//! While `serve` indexes the compendium in the background, a requested run waits for it to
//! finish ([`ReindexJob::background_ingest`]): two ingests at once would write the same index,
//! and each would append to the vector cache file through its own handle, whose offsets the
//! other's appends make stale. The request is kept, not refused.

use std::sync::{Arc, Condvar, Mutex};

use chrono::Utc;

use crate::answer::Assistant;
use crate::config::Config;
use crate::ingest::IngestReport;

/// The re-index job of a running service. Cheap to clone (shared).
#[derive(Clone)]
pub struct ReindexJob {
    inner: Arc<Inner>,
}

struct Inner {
    /// The corpus, data and model paths that [`super::reindex`] needs.
    config: Config,
    status: Mutex<ReindexStatus>,
    /// Background ingests in progress ([`BackgroundIngestGuard`]s alive); runs wait for 0.
    background: Mutex<usize>,
    background_done: Condvar,
}

/// Held while a background ingest runs (see [`ReindexJob::background_ingest`]); dropping it, when
/// the ingest ends or its thread unwinds, lets waiting re-index runs go.
#[must_use = "the re-index waits only while the guard is held"]
pub struct BackgroundIngestGuard {
    job: ReindexJob,
}

impl Drop for BackgroundIngestGuard {
    fn drop(&mut self) {
        let mut running = self.job.background_lock();
        *running = running.saturating_sub(1);
        if *running == 0 {
            self.job.inner.background_done.notify_all();
        }
    }
}

/// What the job is doing, for the corpus page (and tests).
#[derive(Debug, Clone, Default)]
pub struct ReindexStatus {
    /// A run is in progress.
    pub running: bool,
    /// A change arrived during the run in progress: one more run follows it.
    pub pending: bool,
    /// RFC 3339 start of the run in progress.
    pub started_at: Option<String>,
    /// A run waits for the background indexing of the compendium to end.
    pub waiting_for_background: bool,
    /// How the last finished run ended.
    pub last: Option<ReindexOutcome>,
    /// Runs finished since the service started (successful or not).
    pub finished_runs: u64,
}

#[derive(Debug, Clone)]
pub struct ReindexOutcome {
    /// RFC 3339.
    pub finished_at: String,
    /// The ingest report, or the error in English (as logged).
    pub result: Result<IngestReport, String>,
}

impl ReindexJob {
    pub fn new(config: Config) -> ReindexJob {
        ReindexJob {
            inner: Arc::new(Inner {
                config,
                status: Mutex::new(ReindexStatus::default()),
                background: Mutex::new(0),
                background_done: Condvar::new(),
            }),
        }
    }

    /// Marks a background ingest as running until the returned guard is dropped: runs requested
    /// meanwhile wait for it.
    pub fn background_ingest(&self) -> BackgroundIngestGuard {
        *self.background_lock() += 1;
        BackgroundIngestGuard { job: self.clone() }
    }

    /// Blocks while a background ingest runs.
    fn wait_for_background(&self) {
        let mut running = self.background_lock();
        if *running == 0 {
            return;
        }
        tracing::info!("re-index requested during the background indexing; it runs when that ends");
        self.lock().waiting_for_background = true;
        while *running > 0 {
            running = self
                .inner
                .background_done
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
        self.lock().waiting_for_background = false;
    }

    fn background_lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.inner
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> ReindexStatus {
        self.lock().clone()
    }

    /// Asks for `assistant` to be brought up to date with the corpus directory and returns at once.
    /// One run at a time: a request during a run makes one more run follow it.
    pub fn request(&self, assistant: Arc<Assistant>) {
        {
            let mut status = self.lock();
            status.pending = true;
            if status.running {
                return;
            }
            status.running = true;
        }
        let job = self.clone();
        let spawned = std::thread::Builder::new()
            .name("reindex".into())
            .spawn(move || job.run_pending(&assistant));
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the re-index thread");
            let mut status = self.lock();
            status.running = false;
            status.last = Some(ReindexOutcome {
                finished_at: now(),
                result: Err(format!("cannot start the re-index thread: {error}")),
            });
        }
    }

    /// The job's thread: runs while requests keep arriving.
    fn run_pending(&self, assistant: &Assistant) {
        loop {
            self.wait_for_background();
            {
                let mut status = self.lock();
                if !status.pending {
                    status.running = false;
                    status.started_at = None;
                    return;
                }
                status.pending = false;
                status.started_at = Some(now());
            }
            // A panic must not leave the job marked as running for ever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::reindex(&self.inner.config, assistant)
            }));
            let result = match result {
                Ok(Ok(report)) => Ok(report),
                Ok(Err(error)) => {
                    tracing::error!(%error, "re-index failed; answers keep the previous corpus");
                    Err(error.to_string())
                }
                Err(_) => {
                    tracing::error!("re-index panicked; answers keep the previous corpus");
                    Err("the re-index panicked".into())
                }
            };
            let mut status = self.lock();
            status.finished_runs += 1;
            status.last = Some(ReindexOutcome {
                finished_at: now(),
                result,
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReindexStatus> {
        self.inner.status.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn a_run_waits_until_every_background_ingest_has_ended() {
        let job = ReindexJob::new(Config::default());
        job.wait_for_background(); // none running: returns at once
        let first = job.background_ingest();
        let second = job.background_ingest();
        let went = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (job, went) = (job.clone(), went.clone());
            std::thread::spawn(move || {
                job.wait_for_background();
                went.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            !went.load(Ordering::SeqCst),
            "ran during two background ingests"
        );
        assert!(job.status().waiting_for_background);
        drop(first);
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            !went.load(Ordering::SeqCst),
            "ran during one background ingest"
        );
        drop(second);
        waiter.join().unwrap();
        assert!(went.load(Ordering::SeqCst));
        assert!(!job.status().waiting_for_background);
    }

    #[test]
    fn a_guard_dropped_by_a_panicking_ingest_still_lets_runs_go() {
        let job = ReindexJob::new(Config::default());
        let guard = job.background_ingest();
        let ingest = std::thread::spawn(move || {
            let _guard = guard;
            panic!("the background ingest failed");
        });
        assert!(ingest.join().is_err());
        job.wait_for_background();
    }
}
