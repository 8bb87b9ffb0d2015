//! Corpus administration in the staff console (`/staff/corpus`, admins only): the documents with
//! their validity status, an upload form for a new or corrected document in the corpus format
//! (`corpus/FORMAT.md`), a form per document to mark it expired or replaced, and a re-index that
//! does not interrupt answering.
//!
//! Why it works this way:
//! - The corpus directory stays the single source of truth. Every change is written there, at once
//!   and atomically, so it survives restarts and is what `hoiluat ingest` would see; a validity
//!   change rewrites the document's front matter rather than keeping an override elsewhere.
//! - Nothing is written that the parser rejects: an upload with errors is shown back with its
//!   diagnostics (by line) and the corpus is left untouched.
//! - After a change, [`crate::app::reindex`] runs on its own thread, one run at a time: it ingests
//!   only what changed into the live index while questions are still answered from it, then
//!   switches the assistant to the new library in one step. Changes made during a run are picked
//!   up by one more run right after it.

// Handlers return a ready `Response` as their error, like the rest of the console.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use serde::Deserialize;

use super::console::{check_csrf, error_page, internal, nav, session, StaffState};
use super::html::{esc, html_response, page};
use crate::answer::Assistant;
use crate::chunk::document_slug;
use crate::config::Config;
use crate::corpus::{load_corpus, parse_document, Diagnostic, Document, Severity, Validity};
use crate::db::StaffSession;
use crate::ingest::IngestReport;

/// Longest accepted uploaded document, in bytes of UTF-8 (the largest shipped code is ~0.6 MB).
const MAX_UPLOAD_BYTES: usize = 3 * 1024 * 1024;
/// Request body limit of the upload form: URL-encoding triples the bytes of Vietnamese text.
const UPLOAD_BODY_LIMIT: usize = 3 * MAX_UPLOAD_BYTES + 4096;
/// Longest accepted số hiệu of a replacing document.
const MAX_SO_HIEU_CHARS: usize = 64;
/// Files of the corpus directory that describe it rather than being documents.
const NOT_DOCUMENTS: &[&str] = &["README.md", "FORMAT.md"];
/// The form value for "replaced": stored as `tinh_trang: het_hieu_luc` plus `bi_thay_the_boi`.
const REPLACED: &str = "bi_thay_the";

/// Where the corpus lives and the state of the re-index job. Cheap to clone (shared).
#[derive(Clone)]
pub struct CorpusAdmin {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    status: Mutex<ReindexStatus>,
    /// Held while a change reads and rewrites corpus files, so that two admins' changes to one
    /// file cannot overwrite each other.
    writes: Mutex<()>,
}

/// What the re-index job is doing, for the corpus page (and tests).
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

impl CorpusAdmin {
    /// `config` gives the corpus, data and model paths that [`crate::app::reindex`] needs.
    pub fn new(config: Config) -> CorpusAdmin {
        CorpusAdmin {
            inner: Arc::new(Inner {
                config,
                status: Mutex::new(ReindexStatus::default()),
                writes: Mutex::new(()),
            }),
        }
    }

    pub fn corpus_dir(&self) -> &Path {
        &self.inner.config.paths.corpus_dir
    }

    pub fn status(&self) -> ReindexStatus {
        self.lock().clone()
    }

    /// Asks for `assistant` to be brought up to date with the corpus directory and returns at once.
    /// One run at a time: a request during a run makes one more run follow it.
    pub fn request_reindex(&self, assistant: Arc<Assistant>) {
        {
            let mut status = self.lock();
            status.pending = true;
            if status.running {
                return;
            }
            status.running = true;
        }
        let admin = self.clone();
        let spawned = std::thread::Builder::new()
            .name("reindex".into())
            .spawn(move || admin.run_pending(&assistant));
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
                crate::app::reindex(&self.inner.config, assistant)
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

    /// Serialises changes to corpus files (taken on a blocking thread).
    fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReindexStatus> {
        self.inner.status.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The corpus pages, merged into the console's router.
pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/corpus", get(corpus_page))
        .route(
            "/staff/corpus/upload",
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/staff/corpus/validity", post(set_validity))
        .route("/staff/corpus/reindex", post(reindex))
}

// ---------------------------------------------------------------------------------------------
// Access

/// The signed-in admin and the ready assistant, or the response to give instead. POSTs also
/// check the CSRF token; changes need the assistant, whose index they update.
async fn admin(
    state: &StaffState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<StaffSession, Response> {
    let session = session(state, headers, csrf.is_none()).await?;
    if !session.staff.is_admin() {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "Chỉ quản trị viên được quản lý kho văn bản.",
        ));
    }
    if let Some(submitted) = csrf {
        check_csrf(&session, submitted)?;
    }
    Ok(session)
}

fn ready_assistant(state: &StaffState) -> Result<Arc<Assistant>, Response> {
    state.assistant.get().cloned().ok_or_else(|| {
        error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Kho văn bản đang được nạp khi khởi động; vui lòng thử lại sau ít phút.",
        )
    })
}

/// Runs blocking file work (parsing, reading, writing the corpus) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(work).await.map_err(internal)
}

// ---------------------------------------------------------------------------------------------
// The corpus page

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    done: String,
}

async fn corpus_page(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let session = match admin(&state, &headers, None).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let dir = state.corpus.corpus_dir().to_owned();
    let corpus = match blocking(move || load_corpus(&dir)).await {
        Ok(Ok(corpus)) => corpus,
        Ok(Err(error)) => return internal(error),
        Err(response) => return response,
    };
    let notice = match query.done.as_str() {
        "validity" => "Đã lưu tình trạng hiệu lực. Chỉ mục đang được cập nhật; câu trả lời vẫn được phục vụ trong lúc này.",
        "reindex" => "Đã yêu cầu lập lại chỉ mục.",
        _ => "",
    };
    let mut body = String::from("<h1>Kho văn bản</h1>");
    if !notice.is_empty() {
        body.push_str(&format!(
            "<p class=\"ok\" role=\"status\">{}</p>",
            esc(notice)
        ));
    }
    body.push_str(&reindex_card(&state, &session));
    body.push_str(&upload_form(&session, "", &[]));
    body.push_str(&documents_table(&state, &session, &corpus.documents));
    if !corpus.rejected_files.is_empty() {
        body.push_str("<div class=\"card\"><h2>Tệp bị loại do có lỗi</h2>");
        body.push_str(&diagnostics_table(&corpus.diagnostics, true));
        body.push_str("</div>");
    }
    html_response(StatusCode::OK, page("Kho văn bản", nav(&session), &body))
}

/// The re-index job's state and the button to run it.
fn reindex_card(state: &StaffState, session: &StaffSession) -> String {
    let status = state.corpus.status();
    let (label, text) = if status.running {
        (
            "running",
            format!(
                "Đang lập chỉ mục (bắt đầu {}){}. Câu hỏi vẫn được trả lời theo chỉ mục hiện tại.",
                esc(status.started_at.as_deref().unwrap_or("")),
                if status.pending {
                    "; sẽ chạy thêm một lần cho thay đổi mới"
                } else {
                    ""
                }
            ),
        )
    } else {
        match &status.last {
            None => (
                "idle",
                "Chưa lập chỉ mục lại kể từ khi khởi động.".to_owned(),
            ),
            Some(ReindexOutcome {
                finished_at,
                result: Ok(report),
            }) => (
                "done",
                format!(
                    "Lần gần nhất hoàn tất lúc {}: {} đoạn mới, {} đoạn cập nhật thông tin, {} đoạn xóa, {} đoạn giữ nguyên ({:.1} giây).",
                    esc(finished_at),
                    report.embedded + report.from_cache,
                    report.refreshed,
                    report.deleted,
                    report.unchanged,
                    report.elapsed.as_secs_f32()
                ),
            ),
            Some(ReindexOutcome {
                finished_at,
                result: Err(error),
            }) => (
                "failed",
                format!(
                    "Lần gần nhất thất bại lúc {}; câu trả lời vẫn dùng kho văn bản trước đó. Chi tiết kỹ thuật: {}",
                    esc(finished_at),
                    esc(error)
                ),
            ),
        }
    };
    format!(
        "<div class=\"card\"><h2>Chỉ mục tìm kiếm</h2><p data-testid=\"reindex-status\" data-state=\"{label}\">{text}</p>\
         <p class=\"muted\">Chỉ mục được cập nhật tự động sau mỗi thay đổi; chỉ những văn bản thay đổi được xử lý lại. <a href=\"/staff/corpus\">Tải lại trang</a> để xem tiến độ.</p>\
         <form method=\"post\" action=\"/staff/corpus/reindex\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Lập lại chỉ mục</button></form></div>",
        esc(&session.csrf_token)
    )
}

fn upload_form(session: &StaffSession, markdown: &str, diagnostics: &[Diagnostic]) -> String {
    let mut html = String::from(
        "<div class=\"card\"><h2>Tải lên văn bản</h2>\
         <p class=\"muted\">Dán toàn bộ nội dung tệp Markdown theo định dạng kho văn bản (khối thông tin giữa hai dòng <code>---</code>, rồi các điều). \
         Văn bản trùng số hiệu với văn bản đã có sẽ thay thế tệp cũ. Văn bản có lỗi sẽ không được lưu.</p>",
    );
    if !diagnostics.is_empty() {
        html.push_str(&diagnostics_table(diagnostics, false));
    }
    html.push_str(&format!(
        "<form method=\"post\" action=\"/staff/corpus/upload\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label for=\"markdown\">Nội dung văn bản (Markdown)</label><br><textarea id=\"markdown\" name=\"markdown\" rows=\"16\" required>{}</textarea></p>\
         <p><button type=\"submit\">Kiểm tra và lưu</button></p></form></div>",
        esc(&session.csrf_token),
        esc(markdown)
    ));
    html
}

/// Diagnostics as a table with Vietnamese labels (the messages themselves are the parser's).
fn diagnostics_table(diagnostics: &[Diagnostic], with_file: bool) -> String {
    let mut html = String::from("<table data-testid=\"diagnostics\"><thead><tr>");
    if with_file {
        html.push_str("<th>Tệp</th>");
    }
    html.push_str("<th>Dòng</th><th>Mức độ</th><th>Nội dung</th></tr></thead><tbody>");
    for diagnostic in diagnostics {
        html.push_str("<tr>");
        if with_file {
            html.push_str(&format!("<td>{}</td>", esc(&diagnostic.file)));
        }
        let severity = match diagnostic.severity {
            Severity::Error => "<span class=\"error\">Lỗi</span>",
            Severity::Warning => "Cảnh báo",
        };
        html.push_str(&format!(
            "<td>Dòng {}</td><td>{severity}</td><td>{}</td></tr>",
            diagnostic.line,
            esc(&diagnostic.message)
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// The documents on disk, each with the status answers currently use and a validity form.
fn documents_table(state: &StaffState, session: &StaffSession, documents: &[Document]) -> String {
    let served = state.assistant.get().map(|a| a.library());
    let mut html = format!(
        "<div class=\"card\"><h2>Văn bản ({})</h2><datalist id=\"so-hieu\">",
        documents.len()
    );
    for document in documents {
        html.push_str(&format!(
            "<option value=\"{}\">",
            esc(&document.meta.so_hieu)
        ));
    }
    html.push_str(
        "</datalist><table data-testid=\"documents\"><thead><tr><th>Tệp</th><th>Văn bản</th><th>Tình trạng hiệu lực</th>\
         <th>Đang dùng để trả lời</th><th>Đổi tình trạng</th></tr></thead><tbody>",
    );
    for document in documents {
        let meta = &document.meta;
        let mut validity = esc(meta.tinh_trang.label());
        if !meta.bi_thay_the_boi.is_empty() {
            validity.push_str(&format!(
                "<br>bị thay thế bởi {}",
                esc(&meta.bi_thay_the_boi.join(", "))
            ));
        }
        let in_use = match served.as_ref().map(|library| {
            library
                .documents()
                .iter()
                .find(|d| d.so_hieu == meta.so_hieu)
                .map(|d| {
                    d.tinh_trang == meta.tinh_trang && d.bi_thay_the_boi == meta.bi_thay_the_boi
                })
        }) {
            None => "Đang khởi động",
            Some(None) => "Chưa lập chỉ mục",
            Some(Some(true)) => "Đã cập nhật",
            Some(Some(false)) => "Chờ lập chỉ mục",
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{} số {}<br><span class=\"muted\">{} điều/mục</span></td><td>{validity}</td><td>{in_use}</td><td>{}</td></tr>",
            esc(&document.source_file),
            esc(&meta.ten),
            esc(&meta.so_hieu),
            document.articles.len(),
            validity_form(session, document)
        ));
    }
    html.push_str("</tbody></table></div>");
    html
}

fn validity_form(session: &StaffSession, document: &Document) -> String {
    let options = [
        (Validity::Expired.slug(), "Hết hiệu lực"),
        (REPLACED, "Bị thay thế (hết hiệu lực)"),
        (Validity::PartlyExpired.slug(), "Hết hiệu lực một phần"),
        (Validity::InForce.slug(), "Còn hiệu lực"),
        (Validity::NotYetInForce.slug(), "Chưa có hiệu lực"),
    ];
    let mut select = String::new();
    for (value, label) in options {
        select.push_str(&format!("<option value=\"{value}\">{label}</option>"));
    }
    let id = document_slug(&document.source_file);
    format!(
        "<form method=\"post\" action=\"/staff/corpus/validity\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"file\" value=\"{}\">\
         <label for=\"tt-{id}\">Tình trạng</label> <select id=\"tt-{id}\" name=\"tinh_trang\">{select}</select><br>\
         <label for=\"tb-{id}\">Văn bản thay thế (số hiệu)</label> <input id=\"tb-{id}\" name=\"thay_the_boi\" list=\"so-hieu\" maxlength=\"200\" placeholder=\"ví dụ 52/2014/QH13\">\
         <button type=\"submit\">Lưu</button></form>",
        esc(&session.csrf_token),
        esc(&document.source_file)
    )
}

// ---------------------------------------------------------------------------------------------
// Upload

#[derive(Deserialize)]
struct UploadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    markdown: String,
}

/// What checking an upload decided.
enum Checked {
    /// Not saved: a message and/or the parser's diagnostics.
    Rejected {
        message: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// Saved as `file`.
    Saved {
        file: String,
        document: Box<Document>,
        replaced_existing: bool,
        warnings: Vec<Diagnostic>,
    },
}

async fn upload(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<UploadForm>,
) -> Response {
    let session = match admin(&state, &headers, Some(&form.csrf)).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let assistant = match ready_assistant(&state) {
        Ok(assistant) => assistant,
        Err(response) => return response,
    };
    // Browsers send textarea lines with CRLF; the corpus is LF and NFC.
    let markdown = crate::text::nfc(&form.markdown.replace("\r\n", "\n"));
    let admin = state.corpus.clone();
    let text = markdown.clone();
    let checked = match blocking(move || {
        let _writing = admin.write_lock();
        check_and_save(admin.corpus_dir(), &text)
    })
    .await
    {
        Ok(Ok(checked)) => checked,
        Ok(Err(error)) => return internal(error),
        Err(response) => return response,
    };
    match checked {
        Checked::Rejected {
            message,
            diagnostics,
        } => {
            let body = format!(
                "<h1>Kho văn bản</h1><p class=\"error\" role=\"alert\">{}</p>{}<p><a href=\"/staff/corpus\">Về trang kho văn bản</a></p>",
                esc(&message),
                upload_form(&session, &markdown, &diagnostics)
            );
            html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Văn bản chưa hợp lệ", nav(&session), &body),
            )
        }
        Checked::Saved {
            file,
            document,
            replaced_existing,
            warnings,
        } => {
            let detail = format!(
                "so_hieu={}; articles={}; replaced_existing={replaced_existing}; warnings={}",
                document.meta.so_hieu,
                document.articles.len(),
                warnings.len()
            );
            if let Err(error) = state
                .db
                .audit(
                    Some(session.staff.id),
                    "corpus_upload",
                    Some(format!("file:{file}")),
                    Some(detail),
                )
                .await
            {
                return internal(error);
            }
            tracing::info!(staff = session.staff.id, %file, replaced_existing, "corpus document uploaded");
            state.corpus.request_reindex(assistant);
            let mut body = format!(
                "<h1>Kho văn bản</h1><p class=\"ok\" role=\"status\">Đã lưu {} số {} ({} điều/mục) vào tệp {}{}. Chỉ mục đang được cập nhật; câu trả lời vẫn được phục vụ trong lúc này.</p>",
                esc(&document.meta.ten),
                esc(&document.meta.so_hieu),
                document.articles.len(),
                esc(&file),
                if replaced_existing { ", thay cho bản cũ" } else { "" }
            );
            if !warnings.is_empty() {
                body.push_str("<div class=\"card\"><h2>Cảnh báo (văn bản vẫn được lưu)</h2>");
                body.push_str(&diagnostics_table(&warnings, false));
                body.push_str("</div>");
            }
            body.push_str("<p><a href=\"/staff/corpus\">Về trang kho văn bản</a></p>");
            html_response(StatusCode::OK, page("Đã lưu văn bản", nav(&session), &body))
        }
    }
}

/// Parses the upload and, when it has no error, writes it atomically: over the file of the
/// document with the same số hiệu, or to a new `<loai>-<so-hieu>.md`.
fn check_and_save(dir: &Path, markdown: &str) -> std::io::Result<Checked> {
    let rejected = |message: &str| Checked::Rejected {
        message: message.to_owned(),
        diagnostics: Vec::new(),
    };
    if markdown.trim().is_empty() {
        return Ok(rejected("Nội dung văn bản đang trống."));
    }
    if markdown.len() > MAX_UPLOAD_BYTES {
        return Ok(rejected(&format!(
            "Văn bản dài quá giới hạn {} MB.",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        )));
    }
    let outcome = parse_document("văn bản tải lên", markdown);
    let has_errors = outcome.has_errors();
    let document = match outcome.document {
        Some(document) if !has_errors => document,
        _ => return Ok(Checked::Rejected {
            message:
                "Văn bản có lỗi nên chưa được lưu. Vui lòng sửa theo các dòng dưới đây rồi gửi lại."
                    .into(),
            diagnostics: outcome.diagnostics,
        }),
    };
    let existing = load_corpus(dir)?;
    let same_document = existing
        .documents
        .iter()
        .find(|d| d.meta.so_hieu == document.meta.so_hieu);
    let file = match same_document {
        Some(old) => old.source_file.clone(),
        None => {
            let file = format!(
                "{}-{}.md",
                document_slug(&document.meta.loai_van_ban),
                document_slug(&document.meta.so_hieu)
            );
            if NOT_DOCUMENTS.contains(&file.as_str()) || file.starts_with('-') {
                return Ok(rejected(
                    "Không đặt được tên tệp từ loại văn bản và số hiệu; vui lòng kiểm tra hai trường này.",
                ));
            }
            if let Some(other) = existing.documents.iter().find(|d| d.source_file == file) {
                return Ok(rejected(&format!(
                    "Tên tệp {file} đã được dùng cho văn bản số {}.",
                    other.meta.so_hieu
                )));
            }
            file
        }
    };
    crate::fsutil::write_atomically(&dir.join(&file), markdown.as_bytes())?;
    let warnings = outcome.diagnostics;
    Ok(Checked::Saved {
        file,
        replaced_existing: same_document.is_some(),
        document: Box::new(document),
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// Validity

#[derive(Deserialize)]
struct ValidityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    tinh_trang: String,
    /// Comma-separated số hiệu of the replacing documents.
    #[serde(default)]
    thay_the_boi: String,
}

async fn set_validity(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<ValidityForm>,
) -> Response {
    let session = match admin(&state, &headers, Some(&form.csrf)).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let assistant = match ready_assistant(&state) {
        Ok(assistant) => assistant,
        Err(response) => return response,
    };
    let change = match ValidityChange::from_form(&form) {
        Ok(change) => change,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let admin = state.corpus.clone();
    let file = form.file.clone();
    let applied = {
        let change = change.clone();
        blocking(move || {
            let _writing = admin.write_lock();
            change.apply(admin.corpus_dir(), &file)
        })
        .await
    };
    let detail = match applied {
        Ok(Ok(Ok(detail))) => detail,
        Ok(Ok(Err(message))) => return error_page(StatusCode::BAD_REQUEST, &message),
        Ok(Err(error)) => return internal(error),
        Err(response) => return response,
    };
    if let Err(error) = state
        .db
        .audit(
            Some(session.staff.id),
            "corpus_validity",
            Some(format!("file:{}", form.file)),
            Some(detail),
        )
        .await
    {
        return internal(error);
    }
    tracing::info!(staff = session.staff.id, file = %form.file, validity = change.validity.slug(), "corpus validity changed");
    state.corpus.request_reindex(assistant);
    Redirect::to("/staff/corpus?done=validity").into_response()
}

/// A validity change asked for by the form.
#[derive(Debug, Clone)]
struct ValidityChange {
    validity: Validity,
    /// Added to `bi_thay_the_boi` (existing entries are kept).
    replaced_by: Vec<String>,
}

impl ValidityChange {
    fn from_form(form: &ValidityForm) -> Result<ValidityChange, String> {
        let replaced_by = parse_so_hieu_list(&form.thay_the_boi)?;
        let validity = if form.tinh_trang == REPLACED {
            if replaced_by.is_empty() {
                return Err("Vui lòng nhập số hiệu văn bản thay thế.".into());
            }
            Validity::Expired
        } else {
            Validity::from_slug(&form.tinh_trang)
                .ok_or_else(|| "Tình trạng hiệu lực không hợp lệ.".to_owned())?
        };
        Ok(ValidityChange {
            validity,
            replaced_by,
        })
    }

    /// Rewrites the front matter of `dir/file`. Returns the audit detail, or a user-facing
    /// message when the file is not a corpus document.
    fn apply(&self, dir: &Path, file: &str) -> std::io::Result<Result<String, String>> {
        if !is_document_file_name(file) {
            return Ok(Err("Tệp văn bản không hợp lệ.".into()));
        }
        let path = dir.join(file);
        let source = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(source) => source,
                Err(_) => return Ok(Err("Tệp văn bản không phải UTF-8.".into())),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err("Không tìm thấy tệp văn bản này trong kho.".into()))
            }
            Err(error) => return Err(error),
        };
        let before = parse_document(file, &source);
        let has_errors = before.has_errors();
        let Some(old) = before.document.filter(|_| !has_errors) else {
            return Ok(Err(
                "Tệp văn bản đang có lỗi; hãy tải lên bản đã sửa trước khi đổi tình trạng.".into(),
            ));
        };
        let mut replaced_by = old.meta.bi_thay_the_boi.clone();
        for so_hieu in &self.replaced_by {
            if !replaced_by.contains(so_hieu) {
                replaced_by.push(so_hieu.clone());
            }
        }
        let mut updates = vec![
            ("tinh_trang", self.validity.slug().to_owned()),
            (
                "ngay_kiem_tra",
                Utc::now().date_naive().format("%Y-%m-%d").to_string(),
            ),
        ];
        if !replaced_by.is_empty() {
            updates.push(("bi_thay_the_boi", format!("[{}]", replaced_by.join(", "))));
        }
        let Some(rewritten) = set_front_matter(&source, &updates) else {
            return Ok(Err("Tệp văn bản không có khối thông tin đầu tệp.".into()));
        };
        // Never write a file the corpus would reject (the document would leave the index).
        let after = parse_document(file, &rewritten);
        if after.has_errors() || after.document.is_none() {
            return Ok(Err(
                "Không cập nhật được tình trạng: tệp sau khi sửa không hợp lệ.".into(),
            ));
        }
        crate::fsutil::write_atomically(&path, rewritten.as_bytes())?;
        Ok(Ok(format!(
            "so_hieu={}; tinh_trang: {} -> {}; bi_thay_the_boi=[{}]",
            old.meta.so_hieu,
            old.meta.tinh_trang.slug(),
            self.validity.slug(),
            replaced_by.join(", ")
        )))
    }
}

/// "a, b" → ["a", "b"]; each a plausible số hiệu that the front-matter list syntax can hold.
fn parse_so_hieu_list(text: &str) -> Result<Vec<String>, String> {
    let mut items: Vec<String> = Vec::new();
    for item in text
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let item = crate::text::nfc(item);
        let valid = item.chars().count() <= MAX_SO_HIEU_CHARS
            && item
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | ' '));
        if !valid {
            return Err(format!(
                "Số hiệu \"{}\" không hợp lệ (chỉ gồm chữ, số và các dấu / - . _).",
                item.chars().take(MAX_SO_HIEU_CHARS).collect::<String>()
            ));
        }
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(items)
}

/// A plain `*.md` name of the corpus directory (no path), not one of its description files.
fn is_document_file_name(file: &str) -> bool {
    file.ends_with(".md")
        && file.len() <= 200
        && !file.starts_with('.')
        && !NOT_DOCUMENTS.contains(&file)
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Sets `key: value` lines of the front matter (the block between the first two `---` lines),
/// replacing a key's line where it exists and adding it before the closing `---` otherwise.
/// Everything else of the file is kept byte for byte. `None` without front matter.
fn set_front_matter(source: &str, updates: &[(&str, String)]) -> Option<String> {
    let mut lines: Vec<String> = source.split('\n').map(str::to_owned).collect();
    if lines.first().map(|l| l.trim()) != Some("---") {
        return None;
    }
    let mut end = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, line)| line.trim() == "---")
        .map(|(index, _)| index)?;
    for (key, value) in updates {
        let found = lines[1..end].iter().position(|line| {
            let trimmed = line.trim_start();
            !trimmed.starts_with('#')
                && trimmed
                    .split_once(':')
                    .is_some_and(|(name, _)| name.trim() == *key)
        });
        let line = format!("{key}: {value}");
        match found {
            Some(offset) => lines[1 + offset] = line,
            None => {
                lines.insert(end, line);
                end += 1;
            }
        }
    }
    Some(lines.join("\n"))
}

// ---------------------------------------------------------------------------------------------
// Re-index

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn reindex(
    State(state): State<StaffState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let session = match admin(&state, &headers, Some(&form.csrf)).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let assistant = match ready_assistant(&state) {
        Ok(assistant) => assistant,
        Err(response) => return response,
    };
    if let Err(error) = state
        .db
        .audit(Some(session.staff.id), "corpus_reindex", None, None)
        .await
    {
        return internal(error);
    }
    state.corpus.request_reindex(assistant);
    Redirect::to("/staff/corpus?done=reindex").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "---\nso_hieu: 1/2020/QH14\n# a comment: tinh_trang\ntinh_trang: con_hieu_luc\nten: Luật A\n---\n\nĐiều 1. A\n\ntinh_trang: body text\n";

    #[test]
    fn front_matter_lines_are_replaced_or_added_and_the_rest_kept() {
        let out = set_front_matter(
            SOURCE,
            &[
                ("tinh_trang", "het_hieu_luc".into()),
                ("bi_thay_the_boi", "[2/2025/QH15]".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\nso_hieu: 1/2020/QH14\n# a comment: tinh_trang\ntinh_trang: het_hieu_luc\nten: Luật A\nbi_thay_the_boi: [2/2025/QH15]\n---\n\nĐiều 1. A\n\ntinh_trang: body text\n"
        );
        assert_eq!(set_front_matter("Điều 1. A\n", &[]), None);
        assert_eq!(set_front_matter("---\nso_hieu: x\n", &[]), None);
    }

    #[test]
    fn replacing_documents_are_checked() {
        assert_eq!(
            parse_so_hieu_list(" 52/2014/QH13, 10/2026/NĐ-CP ;52/2014/QH13").unwrap(),
            vec!["52/2014/QH13", "10/2026/NĐ-CP"]
        );
        assert!(parse_so_hieu_list("a]\nb: c").is_err());
        assert!(parse_so_hieu_list("\"x\"").is_err());
        assert!(parse_so_hieu_list("").unwrap().is_empty());
    }

    #[test]
    fn only_plain_document_names_are_accepted() {
        assert!(is_document_file_name("luat-52-2014-qh13.md"));
        for bad in [
            "../x.md",
            "a/b.md",
            "README.md",
            "FORMAT.md",
            ".hidden.md",
            "x.toml",
            "",
        ] {
            assert!(!is_document_file_name(bad), "{bad}");
        }
    }
}
