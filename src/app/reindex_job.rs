//! The re-index that follows a change of the corpus directory (the staff console's corpus pages):
//! [`super::reindex`] on its own thread, one run at a time. A change during a run makes one more
//! run follow it, so the last change is always indexed. Questions are answered from the current
//! index and library throughout.

use std::sync::{Arc, Mutex};

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
            }),
        }
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
