//! Files the console hands out (CSV exports): UTF-8 with a byte-order mark so spreadsheet programs
//! read Vietnamese correctly, never cached, and named for what they hold.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A CSV download named `filename` (ASCII: a period, a survey number…).
pub fn csv_response(filename: &str, body: &str) -> Response {
    let mut response = (StatusCode::OK, format!("\u{feff}{body}")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
