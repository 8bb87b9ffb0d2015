//! Wire formats of the HTTP API — `POST /v1/ask`, `GET /v1/articles/{id}` and the web widget's
//! endpoints — converted from the domain types at the edge. Nothing else knows these shapes.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json::JsonRequest;
use crate::answer::review::AnswerStatus;
use crate::answer::{Answer, Citation, Quote};
use crate::library::LibraryArticle;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question, 1 to `server.max_question_chars` (1,000) characters, without control
    /// characters other than line breaks and tabs; with or without diacritics.
    pub question: String,
    /// The `conversation_id` of a previous answer, to ask a follow-up in its context: 1–64
    /// characters of `A–Z a–z 0–9 - _`.
    #[serde(default)]
    pub conversation_id: Option<String>,
}

impl JsonRequest for AskRequest {
    fn invalid_json() -> ApiError {
        ApiError::invalid_ask_json()
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskResponse {
    pub conversation_id: String,
    /// `answered` or `declined`.
    pub status: String,
    /// Why a question was declined: an out-of-scope category, or `no_relevant_text`.
    pub decline_reason: Option<String>,
    /// The whole answer as one text, ready to show in a chat.
    pub answer: String,
    pub lead: String,
    pub quotes: Vec<QuoteDto>,
    pub notices: Vec<String>,
    pub disclaimer: String,
    pub confidence: f32,
    pub needs_review: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuoteDto {
    pub text: String,
    pub citation: CitationDto,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CitationDto {
    pub article_id: String,
    /// Relative URL of the full article.
    pub url: String,
    pub unit: String,
    pub heading: String,
    pub reference: String,
    pub text: String,
    pub document_title: String,
    pub so_hieu: String,
    pub document_type: String,
    /// `YYYY-MM-DD`, absent when unknown.
    pub effective_date: Option<String>,
    pub validity: String,
    pub validity_label: String,
    /// Later changes to the quoted article (the quote is the wording as first issued).
    pub amendments: Vec<AmendmentDto>,
    /// Documents that amended the quoted document, without a record of which articles.
    pub document_amended_by: Vec<String>,
}

/// A later change to an article.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AmendmentDto {
    /// Số hiệu of the amending document.
    pub amended_by: String,
    /// `YYYY-MM-DD`, absent when unknown.
    pub effective_date: Option<String>,
    /// What changed.
    pub detail: String,
}

impl From<&crate::corpus::Amendment> for AmendmentDto {
    fn from(amendment: &crate::corpus::Amendment) -> AmendmentDto {
        AmendmentDto {
            amended_by: amendment.by.clone(),
            effective_date: amendment.effective.map(|d| d.to_string()),
            detail: amendment.detail.clone(),
        }
    }
}

impl From<Answer> for AskResponse {
    fn from(answer: Answer) -> AskResponse {
        AskResponse {
            status: answer.outcome.status().as_str().into(),
            decline_reason: answer.outcome.decline_reason(),
            conversation_id: answer.conversation_id,
            answer: answer.text,
            lead: answer.lead,
            quotes: answer.quotes.into_iter().map(QuoteDto::from).collect(),
            notices: answer.notices,
            disclaimer: answer.disclaimer,
            // Two decimals are all a client needs, and keep the JSON readable.
            confidence: (answer.confidence * 100.0).round() / 100.0,
            needs_review: answer.needs_review,
        }
    }
}

impl From<Quote> for QuoteDto {
    fn from(quote: Quote) -> QuoteDto {
        QuoteDto {
            text: quote.text,
            citation: CitationDto::from(quote.citation),
        }
    }
}

impl From<Citation> for CitationDto {
    fn from(citation: Citation) -> CitationDto {
        CitationDto {
            url: format!("/v1/articles/{}", citation.article_id),
            article_id: citation.article_id,
            unit: citation.unit,
            heading: citation.heading,
            reference: citation.reference,
            text: citation.text,
            document_title: citation.document_title,
            so_hieu: citation.so_hieu,
            document_type: citation.document_type,
            effective_date: citation.effective_date.map(|d| d.to_string()),
            validity: citation.validity.slug().into(),
            validity_label: citation.validity_label.clone(),
            amendments: citation.amendments.iter().map(AmendmentDto::from).collect(),
            document_amended_by: citation.amended_by_unrecorded,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArticleResponse {
    pub id: String,
    pub heading: String,
    pub number: String,
    pub title: String,
    /// The full article, one clause or point per line.
    pub text: String,
    pub clauses: Vec<ClauseDto>,
    pub part: Option<String>,
    pub chapter: Option<String>,
    pub section: Option<String>,
    /// The source's own citation ("Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13"), when recorded.
    pub source_citation: Option<String>,
    pub phapdien_id: Option<String>,
    /// Later changes to the article (the text above is the wording as first issued).
    pub amendments: Vec<AmendmentDto>,
    pub document: DocumentDto,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClauseDto {
    pub number: String,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentDto {
    pub so_hieu: String,
    pub title: String,
    pub document_type: String,
    pub issuer: String,
    pub issued_on: String,
    pub effective_date: Option<String>,
    pub validity: String,
    pub validity_label: String,
    pub validity_checked_on: Option<String>,
    pub replaced_by: Vec<String>,
    pub amended_by: Vec<String>,
    pub scope: String,
    pub topics: Vec<String>,
    pub source: String,
}

impl From<&LibraryArticle> for ArticleResponse {
    fn from(entry: &LibraryArticle) -> ArticleResponse {
        let article = &entry.article;
        let meta = &entry.document;
        ArticleResponse {
            id: entry.id.clone(),
            heading: article.heading(),
            number: article.number.clone(),
            title: article.title.clone(),
            text: article.body_text(),
            clauses: article
                .clauses
                .iter()
                .map(|c| ClauseDto {
                    number: c.number.clone(),
                    text: c.text(),
                })
                .collect(),
            part: article.headings.phan.clone(),
            chapter: article.headings.chuong.clone(),
            section: article.headings.muc.clone(),
            source_citation: article.attributes.get("trich_dan").cloned(),
            phapdien_id: article.attributes.get("phapdien_id").cloned(),
            amendments: article.amendments.iter().map(AmendmentDto::from).collect(),
            document: DocumentDto {
                so_hieu: meta.so_hieu.clone(),
                title: meta.ten.clone(),
                document_type: meta.loai_van_ban.clone(),
                issuer: meta.co_quan_ban_hanh.clone(),
                issued_on: meta.ngay_ban_hanh.to_string(),
                effective_date: meta.ngay_hieu_luc.map(|d| d.to_string()),
                validity: meta.tinh_trang.slug().into(),
                validity_label: meta.validity_label(),
                validity_checked_on: meta.ngay_kiem_tra.map(|d| d.to_string()),
                replaced_by: meta.bi_thay_the_boi.clone(),
                amended_by: meta.duoc_sua_doi_boi.clone(),
                scope: meta.pham_vi.slug(),
                topics: meta.linh_vuc.clone(),
                source: meta.nguon.clone(),
            },
        }
    }
}

/// `index` in `/readyz` and `/v1/status`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndexStatus {
    /// `complete`, or `indexing` while the compendium is still being embedded.
    pub state: &'static str,
    pub indexed_chunks: usize,
    pub total_chunks: usize,
    pub percent: f64,
    /// Seconds left at the current rate, while indexing.
    pub eta_seconds: Option<u64>,
}

impl From<crate::ingest::ProgressSnapshot> for IndexStatus {
    fn from(snapshot: crate::ingest::ProgressSnapshot) -> IndexStatus {
        IndexStatus {
            state: if snapshot.complete {
                "complete"
            } else {
                "indexing"
            },
            indexed_chunks: snapshot.indexed_chunks,
            total_chunks: snapshot.total_chunks,
            percent: snapshot.percent(),
            eta_seconds: (!snapshot.complete).then(|| snapshot.eta_secs()).flatten(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The web widget (`bots/web/README.md` documents the protocol)

/// `POST /v1/chat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Chosen by the widget per message, so a retried request is recognised as the same message.
    #[serde(default)]
    pub client_message_id: Option<String>,
}

impl JsonRequest for ChatRequest {}

/// One Server-Sent Event of `/v1/chat`, as JSON in its `data:` line.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// The next piece of the answer text; the pieces concatenated are the whole text.
    Delta {
        text: String,
    },
    Done(Box<ChatDone>),
    Error {
        message: String,
    },
}

/// The last event of an answered `/v1/chat`.
#[derive(Debug, Serialize)]
pub struct ChatDone {
    /// Public id for `/v1/feedback`; `null` for a fixed notice.
    pub answer_id: Option<String>,
    pub conversation_id: String,
    /// `answered`, `declined`, or `notice` (a fixed message such as "the service failed").
    pub status: &'static str,
    pub decline_reason: Option<String>,
    pub citations: Vec<WidgetCitation>,
    pub needs_review: bool,
}

impl ChatDone {
    /// After an answer (or a decline) with this public id.
    pub fn answer(answer: &Answer, answer_id: &str, conversation_id: &str) -> ChatDone {
        ChatDone {
            answer_id: Some(answer_id.to_owned()),
            conversation_id: conversation_id.to_owned(),
            status: answer.outcome.status().as_str(),
            decline_reason: answer.outcome.decline_reason(),
            citations: answer.quotes.iter().map(WidgetCitation::from).collect(),
            needs_review: answer.needs_review,
        }
    }

    /// After a fixed notice, which cannot be rated.
    pub fn notice(conversation_id: &str) -> ChatDone {
        ChatDone {
            answer_id: None,
            conversation_id: conversation_id.to_owned(),
            status: AnswerStatus::Notice.as_str(),
            decline_reason: None,
            citations: Vec::new(),
            needs_review: false,
        }
    }
}

/// `GET /v1/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusResponse {
    pub documents: usize,
    pub articles: usize,
    pub index: IndexStatus,
}

/// A citation as the widget shows it: with the quoted passage and a link to the whole article.
#[derive(Debug, Serialize)]
pub struct WidgetCitation {
    pub article_id: String,
    pub reference: String,
    pub unit: String,
    pub heading: String,
    pub document_title: String,
    pub validity: String,
    pub validity_label: String,
    /// `YYYY-MM-DD`, `null` when unknown.
    pub effective_date: Option<String>,
    /// The quoted passage.
    pub text: String,
    /// Relative URL of the whole article.
    pub url: String,
}

impl From<&Quote> for WidgetCitation {
    fn from(quote: &Quote) -> WidgetCitation {
        let citation = &quote.citation;
        WidgetCitation {
            article_id: citation.article_id.clone(),
            reference: citation.reference.clone(),
            unit: citation.unit.clone(),
            heading: citation.heading.clone(),
            document_title: citation.document_title.clone(),
            validity: citation.validity.slug().into(),
            validity_label: citation.validity_label.clone(),
            effective_date: citation.effective_date.map(|d| d.to_string()),
            text: quote.text.clone(),
            url: format!("/v1/articles/{}", citation.article_id),
        }
    }
}

/// `POST /v1/feedback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub answer_id: String,
    pub rating: String,
    #[serde(default)]
    pub comment: Option<String>,
}

impl JsonRequest for FeedbackRequest {}

/// `POST /v1/satisfaction`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionRequest {
    pub conversation_id: String,
    /// Kept as raw JSON so that `"5"` or `4.5` get a precise error rather than "invalid JSON".
    pub score: serde_json::Value,
}

impl JsonRequest for SatisfactionRequest {}

/// The answer to a recorded rating.
#[derive(Debug, Serialize)]
pub struct Recorded {
    /// `recorded`, or `already_recorded` for a repeated tap.
    pub status: &'static str,
    pub message: &'static str,
}
