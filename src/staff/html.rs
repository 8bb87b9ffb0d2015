//! Server-rendered pages of the staff console: escaping and the shared layout. No front-end build
//! and no CDN: one small stylesheet inline.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A stored RFC 3339 UTC time as Vietnam reads it: "01/12/2026 12:40" (UTC+7, no daylight
/// saving). Unparsable text is shown as stored.
pub fn local_time(stored: &str) -> String {
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).expect("a valid offset");
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| {
            t.with_timezone(&vietnam)
                .format("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| stored.to_owned())
}

/// Vietnamese names of stored states shown to staff.
pub fn status_label(status: &str) -> &str {
    match status {
        "answered" => "đã trả lời",
        "declined" => "đã từ chối trả lời",
        "notice" => "thông báo",
        "approved" => "duyệt nguyên văn",
        "edited" => "đã sửa",
        "rejected" => "từ chối",
        other => other,
    }
}

/// Percent-encodes a query-string value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#8b1a1a;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}header form{margin-left:auto}
main{padding:1rem;max-width:72rem;margin:auto}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d0d4da;padding:.4rem;text-align:left;vertical-align:top}
th{background:#eef0f3}.muted{color:#5c6570}.flag{display:inline-block;background:#fde8e8;color:#8b1a1a;border-radius:.3rem;padding:0 .3rem;margin:.1rem;font-size:.85em}
.card{background:#fff;border:1px solid #d0d4da;border-radius:.4rem;padding:.8rem;margin:.8rem 0}
pre,.pre{white-space:pre-wrap;font-family:inherit}textarea{width:100%;min-height:10rem;font:inherit}
input,select,button,textarea{font:inherit}button{padding:.3rem .8rem;cursor:pointer}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}.error{color:#a00;font-weight:600}.ok{color:#1a7f37;font-weight:600}
.kpi{display:inline-block;background:#fff;border:1px solid #d0d4da;border-radius:.4rem;padding:.6rem 1rem;margin:.3rem;min-width:10rem}
.kpi b{display:block;font-size:1.5em}form.inline{display:inline}
";

/// A whole page: `body` is trusted HTML built with [`esc`].
pub fn page(title: &str, nav: Option<(&str, &str, bool)>, body: &str) -> String {
    let nav_html = match nav {
        Some((name, csrf, admin)) => format!(
            "<nav aria-label=\"Điều hướng\"><a href=\"/staff\">Hàng chờ duyệt</a> · <a href=\"/staff/curated\">Câu trả lời mẫu</a> · <a href=\"/staff/stats\">Thống kê</a>{}</nav>\
             <form method=\"post\" action=\"/staff/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><span>{}</span> <button type=\"submit\">Đăng xuất</button></form>",
            if admin { " · <a href=\"/staff/corpus\">Kho văn bản</a> <span class=\"muted\">(quản trị)</span>" } else { "" },
            esc(csrf),
            esc(name),
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — Hỏi Luật (cán bộ)</title><style>{STYLE}</style></head><body><header><strong>Hỏi Luật · Cán bộ Sở Tư pháp</strong>{nav_html}</header>\
         <main>{body}</main></body></html>",
        esc(title)
    )
}

/// An HTML response with the console's security headers: never cached, never framed, scripts off.
pub fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    response
}

pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_vietnam_time() {
        assert_eq!(local_time("2026-12-01T17:40:15.493Z"), "02/12/2026 00:40");
        assert_eq!(local_time("không phải giờ"), "không phải giờ");
        assert_eq!(status_label("edited"), "đã sửa");
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<b a=\"x\">'&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(
            url_encode("Hôn nhân & gia đình"),
            "H%C3%B4n%20nh%C3%A2n%20%26%20gia%20%C4%91%C3%ACnh"
        );
    }
}
