//! The staff side: the review console for Sở Tư pháp staff under `/staff` (sign-in, flagged
//! answers, reviews delivered back to citizens, curated answers, statistics, the corpus), with
//! privacy masking. Server-rendered Vietnamese HTML, no scripts, strict CSP.
//!
//! Every route but the sign-in page takes a [`session::Staff`] (or [`session::Admin`]); every
//! POST checks the session's CSRF token; every review action is audited. Each feature is one
//! file: `sign_in`, `queue`, `review`, `curated`, `stats`, `corpus`; and the platform around the
//! chatbot's (`platform_routes`): `handoffs` (a person, live takeover), `directory`, `surveys`,
//! `listening`, `sme`, `news`, with the plan's report numbers on the statistics page
//! (`plan`).

pub mod accounts;
pub mod auth;
pub mod corpus;
pub mod curated;
pub mod directory;
pub mod download;
pub mod error;
pub mod handoffs;
pub mod html;
pub mod labels;
pub mod listening;
pub mod news;
pub mod plan;
pub mod privacy;
pub mod queue;
pub mod review;
pub mod session;
pub mod sign_in;
pub mod sme;
pub mod stats;
pub mod surveys;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::Router;

use self::auth::PasswordChecker;
use crate::app::ReindexJob;
use crate::channels::dispatch::Dispatcher;
use crate::config::StaffConfig;
use crate::corpus::edit::CorpusFiles;
use crate::db::Db;
use crate::platform::Platform;
use crate::ready::Ready;

/// What the console's handlers share. Cheap to clone.
#[derive(Clone)]
pub struct StaffState {
    pub db: Db,
    /// Sends reviewed answers through the citizen's channel.
    pub dispatcher: Dispatcher,
    /// The assistant: the library reviews quote, the index a corpus change updates.
    pub ready: Ready,
    pub config: StaffConfig,
    /// The corpus directory the corpus pages change.
    pub corpus: Arc<CorpusFiles>,
    /// The re-index that follows a corpus change.
    pub reindex: ReindexJob,
    /// Checks sign-in passwords, a bounded number at once.
    pub passwords: PasswordChecker,
}

/// The console's routes.
pub fn routes(state: StaffState) -> Router {
    Router::new()
        .merge(sign_in::routes())
        .merge(queue::routes())
        .merge(review::routes())
        .merge(curated::routes())
        .merge(stats::routes())
        .merge(plan::routes())
        .merge(listening::routes())
        .merge(directory::routes())
        .merge(surveys::routes())
        .merge(corpus::routes())
        .with_state(state)
}

/// What the pages of the platform around the chatbot share: the console's state, and the
/// platform (its wording, and the outbox to wake when a page queued a message).
#[derive(Clone)]
pub struct PlatformState {
    pub staff: StaffState,
    pub platform: Arc<Platform>,
}

impl FromRef<PlatformState> for StaffState {
    fn from_ref(state: &PlatformState) -> StaffState {
        state.staff.clone()
    }
}

/// The pages that send messages through the outbox: handoffs (live takeover), SME requests and
/// legal news.
pub fn platform_routes(state: PlatformState) -> Router {
    Router::new()
        .merge(handoffs::routes())
        .merge(sme::routes())
        .merge(news::routes())
        .with_state(state)
}

/// Erases what citizens wrote (messages, comments, flag details quoting them, curated questions)
/// older than `retention_days` once at start and then daily (0 keeps them). Rows stay for the
/// statistics.
pub fn spawn_retention(db: Db, retention_days: u64) -> Option<tokio::task::JoinHandle<()>> {
    if retention_days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every_day = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            every_day.tick().await;
            let cutoff = (chrono::Utc::now() - chrono::Duration::days(retention_days as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            match db.erase_texts_before(cutoff).await {
                Ok(erased) if erased == crate::db::Erased::default() => {}
                Ok(erased) => tracing::info!(
                    messages = erased.messages,
                    comments = erased.comments,
                    flag_details = erased.flag_details,
                    curated_retired = erased.curated,
                    retention_days,
                    "citizens' old texts erased"
                ),
                Err(error) => tracing::error!(%error, "retention sweep failed"),
            }
        }
    }))
}
