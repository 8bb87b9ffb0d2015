//! Corpus administration (`/staff/corpus`, admins only): the documents with their validity status,
//! an upload form for a new or corrected document in the corpus format (`corpus/FORMAT.md`), a
//! form per document to mark it expired or replaced, and the re-index that follows.
//!
//! The files are changed by [`crate::corpus::edit`] (nothing the parser rejects is written), and
//! each change requests a [`crate::app::ReindexJob`] run, which updates the live index while
//! questions keep being answered. This file is the pages: forms, their checks, and the wording.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::error::PageError;
use super::html::{html, html_response, page, Html};
use super::session::{Admin, Staff};
use super::sign_in::CsrfForm;
use super::StaffState;
use crate::answer::Assistant;
use crate::app::ReindexOutcome;
use crate::chunk::document_slug;
use crate::corpus::edit::{EditError, ValidityChange, ValidityChanged, MAX_DOCUMENT_BYTES};
use crate::corpus::{Diagnostic, Document, Severity, Validity};

/// Request body limit of the upload form: URL-encoding triples the bytes of Vietnamese text.
const UPLOAD_BODY_LIMIT: usize = 3 * MAX_DOCUMENT_BYTES + 4096;
/// Longest accepted số hiệu of a replacing document.
const MAX_SO_HIEU_CHARS: usize = 64;
/// The form value for "replaced": stored as `tinh_trang: het_hieu_luc` plus `bi_thay_the_boi`.
const REPLACED: &str = "bi_thay_the";
/// Documents per page of the list (the corpus holds thousands with the compendium).
const PAGE_SIZE: usize = 50;
/// Longest accepted search text.
const MAX_SEARCH_CHARS: usize = 100;

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

/// The assistant whose index a change updates: not there while start-up is still loading it.
fn ready_assistant(state: &StaffState) -> Result<Arc<Assistant>, PageError> {
    state.ready.get().ok_or_else(|| {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Kho văn bản đang được nạp khi khởi động; vui lòng thử lại sau ít phút.",
        )
    })
}

/// After a change of the corpus file `file`: its audit entry, then a re-index for it.
async fn changed(
    state: &StaffState,
    admin: &Staff,
    assistant: Arc<Assistant>,
    action: &'static str,
    file: &str,
    detail: String,
) -> Result<(), PageError> {
    state
        .db
        .audit(
            Some(admin.id()),
            action,
            Some(format!("file:{file}")),
            Some(detail),
        )
        .await?;
    tracing::info!(staff = admin.id(), file, action, "corpus changed");
    state.reindex.request(assistant);
    Ok(())
}

/// Runs blocking file work (parsing, reading, writing the corpus) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(PageError::internal)
}

// ---------------------------------------------------------------------------------------------
// The corpus page

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    done: String,
    /// Words of a số hiệu, title or file name to look for.
    #[serde(default)]
    q: String,
    /// 1-based page of the (searched) list.
    #[serde(default)]
    trang: Option<usize>,
}

/// `text` folded for search: lower case, no diacritics, so "luat dat dai" finds "Luật Đất đai".
fn search_key(text: &str) -> String {
    crate::text::strip_diacritics(&crate::text::fold_case(text))
}

/// Whether every word of `query` (already [`search_key`]ed) occurs in the document's số hiệu,
/// title or file name.
fn matches_search(document: &Document, query: &str) -> bool {
    let haystack = search_key(&format!(
        "{} {} {}",
        document.meta.so_hieu, document.meta.ten, document.source_file
    ));
    query.split_whitespace().all(|word| haystack.contains(word))
}

async fn corpus_page(
    State(state): State<StaffState>,
    Admin(admin): Admin,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let files = state.corpus.clone();
    let corpus = blocking(move || files.load())
        .await?
        .map_err(PageError::internal)?;
    let notice = match query.done.as_str() {
        "validity" => "Đã lưu tình trạng hiệu lực. Chỉ mục đang được cập nhật; câu trả lời vẫn được phục vụ trong lúc này.",
        "reindex" => "Đã yêu cầu lập lại chỉ mục.",
        _ => "",
    };
    let search: String = query.q.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let key = search_key(&search);
    let found: Vec<&Document> = corpus
        .documents
        .iter()
        .filter(|document| key.is_empty() || matches_search(document, &key))
        .collect();
    let pages = found.len().div_ceil(PAGE_SIZE).max(1);
    let current = query.trang.unwrap_or(1).clamp(1, pages);
    let shown = &found[(current - 1) * PAGE_SIZE..(current * PAGE_SIZE).min(found.len())];

    let mut body = html!("<h1>Kho văn bản</h1>");
    if !notice.is_empty() {
        body.push(html!("<p class=\"ok\" role=\"status\">{}</p>", notice));
    }
    body.push(reindex_card(&state, &admin));
    body.push(upload_form(&admin, "", &[]));
    body.push(documents_table(
        &state,
        &admin,
        &search,
        (current, pages, found.len(), corpus.documents.len()),
        shown,
    ));
    if !corpus.rejected_files.is_empty() {
        body.push(html!(
            "<div class=\"card\"><h2>Tệp bị loại do có lỗi</h2>{}</div>",
            diagnostics_table(&corpus.diagnostics, true)
        ));
    }
    Ok(html_response(
        StatusCode::OK,
        page("Kho văn bản", admin.nav(), body),
    ))
}

/// The re-index job's state and the button to run it.
fn reindex_card(state: &StaffState, staff: &Staff) -> Html {
    let status = state.reindex.status();
    let (label, text) = if status.waiting_for_background {
        (
            "waiting",
            html!(
                "Đang chờ nạp xong toàn bộ kho văn bản (chạy nền sau khi khởi động) rồi mới lập chỉ mục lại. Câu hỏi vẫn được trả lời theo chỉ mục hiện tại."
            ),
        )
    } else if status.running {
        (
            "running",
            html!(
                "Đang lập chỉ mục (bắt đầu {}){}. Câu hỏi vẫn được trả lời theo chỉ mục hiện tại.",
                status.started_at.as_deref().unwrap_or(""),
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
                html!("Chưa lập chỉ mục lại kể từ khi khởi động."),
            ),
            Some(ReindexOutcome {
                finished_at,
                result: Ok(report),
            }) => (
                "done",
                html!(
                    "Lần gần nhất hoàn tất lúc {}: {} đoạn mới, {} đoạn cập nhật thông tin, {} đoạn xóa, {} đoạn giữ nguyên ({:.1} giây).",
                    finished_at,
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
                html!(
                    "Lần gần nhất thất bại lúc {}; câu trả lời vẫn dùng kho văn bản trước đó. Chi tiết kỹ thuật: {}",
                    finished_at,
                    error
                ),
            ),
        }
    };
    html!(
        "<div class=\"card\"><h2>Chỉ mục tìm kiếm</h2><p data-testid=\"reindex-status\" data-state=\"{}\">{}</p>\
         <p class=\"muted\">Chỉ mục được cập nhật tự động sau mỗi thay đổi; chỉ những văn bản thay đổi được xử lý lại. <a href=\"/staff/corpus\">Tải lại trang</a> để xem tiến độ.</p>\
         <form method=\"post\" action=\"/staff/corpus/reindex\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Lập lại chỉ mục</button></form></div>",
        label,
        text,
        staff.csrf()
    )
}

fn upload_form(staff: &Staff, markdown: &str, diagnostics: &[Diagnostic]) -> Html {
    let mut html = html!(
        "<div class=\"card\"><h2>Tải lên văn bản</h2>\
         <p class=\"muted\">Dán toàn bộ nội dung tệp Markdown theo định dạng kho văn bản (khối thông tin giữa hai dòng <code>---</code>, rồi các điều). \
         Văn bản trùng số hiệu với văn bản đã có sẽ thay thế tệp cũ. Văn bản có lỗi sẽ không được lưu.</p>"
    );
    if !diagnostics.is_empty() {
        html.push(diagnostics_table(diagnostics, false));
    }
    html.push(html!(
        "<form method=\"post\" action=\"/staff/corpus/upload\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <p><label for=\"markdown\">Nội dung văn bản (Markdown)</label><br><textarea id=\"markdown\" name=\"markdown\" rows=\"16\" required>{}</textarea></p>\
         <p><button type=\"submit\">Kiểm tra và lưu</button></p></form></div>",
        staff.csrf(),
        markdown
    ));
    html
}

/// Diagnostics as a table with Vietnamese labels (the messages themselves are the parser's).
fn diagnostics_table(diagnostics: &[Diagnostic], with_file: bool) -> Html {
    let mut html = html!("<table data-testid=\"diagnostics\"><thead><tr>");
    if with_file {
        html.push(html!("<th>Tệp</th>"));
    }
    html.push(html!(
        "<th>Dòng</th><th>Mức độ</th><th>Nội dung</th></tr></thead><tbody>"
    ));
    for diagnostic in diagnostics {
        html.push(html!("<tr>"));
        if with_file {
            html.push(html!("<td>{}</td>", diagnostic.file));
        }
        let severity = match diagnostic.severity {
            Severity::Error => html!("<span class=\"error\">Lỗi</span>"),
            Severity::Warning => html!("Cảnh báo"),
        };
        html.push(html!(
            "<td>Dòng {}</td><td>{}</td><td>{}</td></tr>",
            diagnostic.line,
            severity,
            diagnostic.message
        ));
    }
    html.push(html!("</tbody></table>"));
    html
}

/// One page of the documents on disk (those matching `search`), each with the status answers
/// currently use and a validity form. `counts` is (page, pages, matching, all).
fn documents_table(
    state: &StaffState,
    staff: &Staff,
    search: &str,
    counts: (usize, usize, usize, usize),
    documents: &[&Document],
) -> Html {
    let (current, pages, matching, all) = counts;
    let served = state.ready.get().map(|a| a.library());
    let served_status: Option<std::collections::HashMap<&str, (Validity, &[String])>> =
        served.as_ref().map(|library| {
            library
                .documents()
                .iter()
                .map(|d| {
                    (
                        d.so_hieu.as_str(),
                        (d.tinh_trang, d.bi_thay_the_boi.as_slice()),
                    )
                })
                .collect()
        });
    let mut html = html!(
        "<div class=\"card\"><h2>Văn bản ({})</h2>\
         <form method=\"get\" action=\"/staff/corpus\" role=\"search\"><label for=\"q\">Tìm theo số hiệu, tên hoặc tệp</label> \
         <input id=\"q\" name=\"q\" value=\"{}\" maxlength=\"{}\" placeholder=\"ví dụ: đất đai, 31/2024/QH15\"> <button type=\"submit\">Tìm</button></form>\
         <p class=\"muted\" data-testid=\"document-count\">{} văn bản phù hợp; trang {}/{}</p>",
        all,
        search,
        MAX_SEARCH_CHARS,
        matching,
        current,
        pages
    );
    html.push(html!(
        "<table data-testid=\"documents\"><thead><tr><th>Tệp</th><th>Văn bản</th><th>Tình trạng hiệu lực</th>\
         <th>Đang dùng để trả lời</th><th>Đổi tình trạng</th></tr></thead><tbody>"
    ));
    for document in documents {
        let meta = &document.meta;
        let mut validity = Html::text(meta.tinh_trang.label());
        if !meta.bi_thay_the_boi.is_empty() {
            validity.push(html!(
                "<br>bị thay thế bởi {}",
                meta.bi_thay_the_boi.join(", ")
            ));
        }
        let in_use = match served_status.as_ref().map(|status| {
            status
                .get(meta.so_hieu.as_str())
                .map(|(validity, replaced_by)| {
                    *validity == meta.tinh_trang && *replaced_by == meta.bi_thay_the_boi.as_slice()
                })
        }) {
            None => "Đang khởi động",
            Some(None) => "Chưa lập chỉ mục",
            Some(Some(true)) => "Đã cập nhật",
            Some(Some(false)) => "Chờ lập chỉ mục",
        };
        html.push(html!(
            "<tr><td>{}</td><td>{} số {}<br><span class=\"muted\">{} điều/mục</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            document.source_file,
            meta.ten,
            meta.so_hieu,
            document.articles.len(),
            validity,
            in_use,
            validity_form(staff, document)
        ));
    }
    html.push(html!("</tbody></table>"));
    if pages > 1 {
        html.push(html!("<nav aria-label=\"Trang\" class=\"pages\">"));
        let link = |page: usize, label: &str| {
            html!(
                " <a href=\"/staff/corpus?q={}&amp;trang={}\">{}</a>",
                url_encode(search),
                page,
                label
            )
        };
        if current > 1 {
            html.push(link(current - 1, "‹ Trang trước"));
        }
        if current < pages {
            html.push(link(current + 1, "Trang sau ›"));
        }
        html.push(html!("</nav>"));
    }
    html.push(html!("</div>"));
    html
}

/// Percent-encodes a query-string value.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn validity_form(staff: &Staff, document: &Document) -> Html {
    let options = [
        (Validity::Expired.slug(), "Hết hiệu lực"),
        (REPLACED, "Bị thay thế (hết hiệu lực)"),
        (Validity::PartlyExpired.slug(), "Hết hiệu lực một phần"),
        (Validity::InForce.slug(), "Còn hiệu lực"),
        (Validity::NotYetInForce.slug(), "Chưa có hiệu lực"),
    ];
    let select: Html = options
        .into_iter()
        .map(|(value, label)| html!("<option value=\"{}\">{}</option>", value, label))
        .collect();
    let id = document_slug(&document.source_file);
    html!(
        "<form method=\"post\" action=\"/staff/corpus/validity\"><input type=\"hidden\" name=\"csrf\" value=\"{0}\">\
         <input type=\"hidden\" name=\"file\" value=\"{1}\">\
         <label for=\"tt-{2}\">Tình trạng</label> <select id=\"tt-{2}\" name=\"tinh_trang\">{3}</select><br>\
         <label for=\"tb-{2}\">Văn bản thay thế (số hiệu)</label> <input id=\"tb-{2}\" name=\"thay_the_boi\" maxlength=\"200\" placeholder=\"ví dụ 52/2014/QH13\">\
         <button type=\"submit\">Lưu</button></form>",
        staff.csrf(),
        document.source_file,
        id,
        select
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

/// Why an uploaded document was not saved, for staff; `None` for a failure of the service.
fn refusal(error: &EditError) -> Option<String> {
    Some(match error {
        EditError::Empty => "Nội dung văn bản đang trống.".into(),
        EditError::TooLarge { max_bytes } => {
            format!("Văn bản dài quá giới hạn {} MB.", max_bytes / (1024 * 1024))
        }
        EditError::Invalid { .. } => {
            "Văn bản có lỗi nên chưa được lưu. Vui lòng sửa theo các dòng dưới đây rồi gửi lại."
                .into()
        }
        EditError::NoFileName => {
            "Không đặt được tên tệp từ loại văn bản và số hiệu; vui lòng kiểm tra hai trường này."
                .into()
        }
        EditError::FileNameTaken { file, so_hieu } => {
            format!("Tên tệp {file} đã được dùng cho văn bản số {so_hieu}.")
        }
        EditError::NotADocumentFile => "Tệp văn bản không hợp lệ.".into(),
        EditError::NotFound => "Không tìm thấy tệp văn bản này trong kho.".into(),
        EditError::NotUtf8 => "Tệp văn bản không phải UTF-8.".into(),
        EditError::HasErrors => {
            "Tệp văn bản đang có lỗi; hãy tải lên bản đã sửa trước khi đổi tình trạng.".into()
        }
        EditError::NoFrontMatter => "Tệp văn bản không có khối thông tin đầu tệp.".into(),
        EditError::WouldBreak => {
            "Không cập nhật được tình trạng: tệp sau khi sửa không hợp lệ.".into()
        }
        EditError::Io(_) => return None,
    })
}

async fn upload(
    State(state): State<StaffState>,
    Admin(admin): Admin,
    Form(form): Form<UploadForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    let assistant = ready_assistant(&state)?;
    // Browsers send textarea lines with CRLF; the corpus is LF and NFC.
    let markdown = crate::text::nfc(&form.markdown.replace("\r\n", "\n"));
    let files = state.corpus.clone();
    let text = markdown.clone();
    let saved = match blocking(move || files.save(&text)).await? {
        Ok(saved) => saved,
        Err(error) => {
            let Some(message) = refusal(&error) else {
                return Err(PageError::internal(error));
            };
            let diagnostics = match error {
                EditError::Invalid { diagnostics } => diagnostics,
                _ => Vec::new(),
            };
            let body = html!(
                "<h1>Kho văn bản</h1><p class=\"error\" role=\"alert\">{}</p>{}<p><a href=\"/staff/corpus\">Về trang kho văn bản</a></p>",
                message,
                upload_form(&admin, &markdown, &diagnostics)
            );
            return Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                page("Văn bản chưa hợp lệ", admin.nav(), body),
            ));
        }
    };
    let document = &saved.document;
    let detail = format!(
        "so_hieu={}; articles={}; replaced_existing={}; warnings={}",
        document.meta.so_hieu,
        document.articles.len(),
        saved.replaced_existing,
        saved.warnings.len()
    );
    changed(
        &state,
        &admin,
        assistant,
        "corpus_upload",
        &saved.file,
        detail,
    )
    .await?;
    let mut body = html!(
        "<h1>Kho văn bản</h1><p class=\"ok\" role=\"status\">Đã lưu {} số {} ({} điều/mục) vào tệp {}{}. Chỉ mục đang được cập nhật; câu trả lời vẫn được phục vụ trong lúc này.</p>",
        document.meta.ten,
        document.meta.so_hieu,
        document.articles.len(),
        saved.file,
        if saved.replaced_existing { ", thay cho bản cũ" } else { "" }
    );
    if !saved.warnings.is_empty() {
        body.push(html!(
            "<div class=\"card\"><h2>Cảnh báo (văn bản vẫn được lưu)</h2>{}</div>",
            diagnostics_table(&saved.warnings, false)
        ));
    }
    body.push(html!(
        "<p><a href=\"/staff/corpus\">Về trang kho văn bản</a></p>"
    ));
    Ok(html_response(
        StatusCode::OK,
        page("Đã lưu văn bản", admin.nav(), body),
    ))
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

/// The change the form asks for, or why it cannot be made.
fn validity_change(form: &ValidityForm) -> Result<ValidityChange, String> {
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

async fn set_validity(
    State(state): State<StaffState>,
    Admin(admin): Admin,
    Form(form): Form<ValidityForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    let assistant = ready_assistant(&state)?;
    let change = validity_change(&form)
        .map_err(|message| PageError::new(StatusCode::BAD_REQUEST, message))?;
    let files = state.corpus.clone();
    let file = form.file.clone();
    let written = blocking(move || files.change_validity(&file, &change))
        .await?
        .map_err(|error| match refusal(&error) {
            Some(message) => PageError::new(StatusCode::BAD_REQUEST, message),
            None => PageError::internal(error),
        })?;
    let ValidityChanged {
        file,
        so_hieu,
        before,
        after,
        replaced_by,
    } = written;
    let detail = format!(
        "so_hieu={so_hieu}; tinh_trang: {} -> {}; bi_thay_the_boi=[{}]",
        before.slug(),
        after.slug(),
        replaced_by.join(", ")
    );
    changed(&state, &admin, assistant, "corpus_validity", &file, detail).await?;
    Ok(Redirect::to("/staff/corpus?done=validity").into_response())
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

// ---------------------------------------------------------------------------------------------
// Re-index

async fn reindex(
    State(state): State<StaffState>,
    Admin(admin): Admin,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    let assistant = ready_assistant(&state)?;
    state
        .db
        .audit(Some(admin.id()), "corpus_reindex", None, None)
        .await?;
    state.reindex.request(assistant);
    Ok(Redirect::to("/staff/corpus?done=reindex").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn search_ignores_case_and_diacritics_and_links_are_encoded() {
        let source = "---\nso_hieu: 31/2024/QH15\nten: Luật Đất đai\nloai_van_ban: Luật\nco_quan_ban_hanh: Quốc hội\nngay_ban_hanh: 2024-01-18\ntinh_trang: con_hieu_luc\npham_vi: toan_quoc\nlinh_vuc: [dat-dai]\nnguon: test\n---\n### Điều 1. Phạm vi\nNội dung.\n";
        let document = crate::corpus::parse_document("luat-31-2024-qh15.md", source)
            .document
            .expect("parses");
        for query in ["luat dat dai", "ĐẤT", "31/2024", "qh15 đất"] {
            assert!(matches_search(&document, &search_key(query)), "{query}");
        }
        assert!(!matches_search(&document, &search_key("nhà ở")));
        assert_eq!(
            url_encode("đất 31/2024&x"),
            "%C4%91%E1%BA%A5t%2031%2F2024%26x"
        );
    }
}
