//! The staff side: the review console for Sở Tư pháp staff (sign-in, flagged answers, reviews
//! delivered back to citizens, curated answers, statistics), with privacy masking.

pub mod auth;
pub mod console;
pub mod corpus_admin;
pub mod html;
pub mod privacy;
pub mod stats;

use std::time::Duration;

use crate::db::Db;

/// Erases citizens' message texts older than `retention_days` once at start and then daily
/// (0 keeps them). Rows stay for the statistics.
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
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, retention_days, "old message texts erased"),
                Err(error) => tracing::error!(%error, "retention sweep failed"),
            }
        }
    }))
}
