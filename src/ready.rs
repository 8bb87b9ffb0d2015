//! The assistant, once start-up has loaded it.
//!
//! `hoiluat serve` answers `/healthz`, stores webhooks and shows the staff console from its first
//! second, while start-up (which may ingest for minutes) loads the assistant on a blocking thread.
//! Everything that needs the assistant holds one shared [`Ready`]: the HTTP API asks whether it is
//! there ([`Ready::get`], else `not_ready`), channel workers wait for it ([`Ready::wait`]).

use std::sync::Arc;

use tokio::sync::SetOnce;

use crate::answer::Assistant;

/// A handle on the assistant that start-up sets once. Cheap to clone; clones share the value.
#[derive(Clone, Default)]
pub struct Ready {
    assistant: Arc<SetOnce<Arc<Assistant>>>,
}

impl Ready {
    /// Not ready yet: start-up will [`Ready::set`] it.
    pub fn new() -> Ready {
        Ready::default()
    }

    /// Ready at once (tests, the CLI).
    pub fn with(assistant: Arc<Assistant>) -> Ready {
        let ready = Ready::new();
        ready.set(assistant);
        ready
    }

    /// Makes the assistant available and wakes everything waiting for it. Only the first call
    /// counts: the service has one assistant for its lifetime (a re-index swaps its library, not
    /// the assistant).
    pub fn set(&self, assistant: Arc<Assistant>) {
        if self.assistant.set(assistant).is_err() {
            tracing::warn!("the assistant was set twice; the first one stays");
        }
    }

    /// The assistant, when start-up is done.
    pub fn get(&self) -> Option<Arc<Assistant>> {
        self.assistant.get().cloned()
    }

    /// The assistant, waiting for start-up to finish loading it.
    pub async fn wait(&self) -> Arc<Assistant> {
        Arc::clone(self.assistant.wait().await)
    }
}
