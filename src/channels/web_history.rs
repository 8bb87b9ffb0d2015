//! `GET /v1/chat/history?conversation_id=…`: what the widget shows again after a page reload, and
//! polls while the page is open so that an answer staff reviewed meanwhile appears.
//!
//! The conversation id is the capability: the widget keeps it in the tab's `sessionStorage`, it is
//! random (`web-` and a UUID v4) and names only the visitor's own web conversation. An unknown or
//! malformed id gets an empty history, so the endpoint tells nothing about which ids exist.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dispatch::Dispatcher;
use crate::db::WebAnswer;
use crate::http::error::ApiError;

/// Questions returned at most: the latest ones.
const MAX_EXCHANGES: usize = 50;

pub fn routes(dispatcher: Dispatcher) -> Router {
    Router::new()
        .route("/v1/chat/history", get(history))
        .with_state(dispatcher)
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    #[serde(default)]
    conversation_id: String,
}

/// The conversation, oldest question first (the latest 50 questions).
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Exchange {
    pub client_message_id: String,
    pub question: String,
    pub asked_at: String,
    /// `null` while the question is still being answered.
    pub answer: Option<HistoryAnswer>,
    /// The answer as staff approved or edited it, once reviewed.
    pub reviewed: Option<HistoryAnswer>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryAnswer {
    pub answer_id: String,
    /// `answered`, `declined`, `notice`; `approved` or `edited` for a review.
    pub status: String,
    pub text: String,
    pub citations: Vec<HistoryCitation>,
    pub at: String,
}

/// A cited article, as it was cited.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryCitation {
    pub article_id: String,
    pub reference: String,
    /// "Còn hiệu lực", "Hết hiệu lực một phần", …
    pub validity_label: String,
}

/// The stored form of a citation (`answers.citations`, `reviews.citations`): the label is kept in
/// `validity`.
#[derive(Deserialize)]
struct StoredCitation {
    article_id: String,
    reference: String,
    #[serde(default)]
    validity: String,
}

impl From<WebAnswer> for HistoryAnswer {
    fn from(answer: WebAnswer) -> HistoryAnswer {
        let stored: Vec<StoredCitation> =
            serde_json::from_str(&answer.citations).unwrap_or_default();
        HistoryAnswer {
            answer_id: answer.answer_id,
            status: answer.status,
            text: answer.text,
            citations: stored
                .into_iter()
                .map(|c| HistoryCitation {
                    article_id: c.article_id,
                    reference: c.reference,
                    validity_label: c.validity,
                })
                .collect(),
            at: answer.at,
        }
    }
}

async fn history(
    State(dispatcher): State<Dispatcher>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // A query string that cannot be read names no conversation either.
    let id = query.map(|Query(q)| q.conversation_id).unwrap_or_default();
    let well_formed = id.starts_with("web-")
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let exchanges = if well_formed {
        dispatcher
            .web_conversation(id, MAX_EXCHANGES)
            .await
            .map_err(|error| {
                tracing::error!(%error, "cannot read a web conversation");
                ApiError::internal()
            })?
    } else {
        Vec::new()
    };
    let history = History {
        exchanges: exchanges
            .into_iter()
            .map(|e| Exchange {
                client_message_id: e.client_message_id,
                question: e.question,
                asked_at: e.asked_at,
                answer: e.answer.map(HistoryAnswer::from),
                reviewed: e.reviewed.map(HistoryAnswer::from),
            })
            .collect(),
    };
    let mut response = Json(history).into_response();
    // Personal: never kept by a shared cache.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
