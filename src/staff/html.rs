//! Server-rendered pages of the staff console: the [`Html`] type every page is built of, the
//! shared layout and the security headers. No front-end build and no CDN: one small stylesheet
//! inline.
//!
//! Escaping is a property of the types: text becomes [`Html`] only escaped, and the [`html!`]
//! macro escapes every argument that is not already `Html` (numbers are written as they are). A
//! page is therefore safe as long as its templates pass values as arguments, `html!("<p>{}</p>",
//! name)`, and never as inline captures (`{name}`), which `format!` would insert unescaped.

use std::fmt::{self, Write as _};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::answer::review::{AnswerStatus, FlagReason};
use crate::db::Decision;

/// Markup that is safe to send: escaped text, templates of this program, and their combinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    pub fn new() -> Html {
        Html::default()
    }

    /// `text`, escaped for element content and quoted attribute values.
    pub fn text(text: &str) -> Html {
        let mut html = Html::new();
        html.push(text);
        html
    }

    /// Markup written in this program, as a string literal.
    pub fn literal(markup: &'static str) -> Html {
        Html(markup.to_owned())
    }

    /// A template of this program with its arguments already escaped. Use [`html!`].
    #[doc(hidden)]
    pub fn from_template(markup: String) -> Html {
        Html(markup)
    }

    /// Appends `more`: escaped when it is text, as it is when it is `Html` or a number.
    pub fn push(&mut self, more: impl Render) {
        // Writing into a String cannot fail.
        let _ = write!(self.0, "{}", Escape(&more));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(items: I) -> Html {
        let mut html = Html::new();
        for item in items {
            html.push(item);
        }
        html
    }
}

/// A value a page can show: text is escaped, [`Html`] and numbers are written as they are.
pub trait Render {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl Render for str {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self;
        while let Some(index) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..index])?;
            let entity = match rest.as_bytes()[index] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            };
            f.write_str(entity)?;
            rest = &rest[index + 1..];
        }
        f.write_str(rest)
    }
}

impl Render for String {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().render(f)
    }
}

impl Render for Html {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<T: Render + ?Sized> Render for &T {
    fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).render(f)
    }
}

/// Numbers have no markup: written with the template's format (`{:.2}`).
macro_rules! render_as_displayed {
    ($($number:ty),+) => {$(
        impl Render for $number {
            fn render(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    )+};
}
render_as_displayed!(i64, u64, usize, u32, f32, f64);

/// Shows a [`Render`] value through `format!`'s machinery (what [`html!`] wraps arguments in).
pub struct Escape<'a, T: ?Sized>(pub &'a T);

impl<T: Render + ?Sized> fmt::Display for Escape<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f)
    }
}

/// `html!("<p>{}</p>", value)`: the template as [`Html`], each argument escaped by its type.
/// Pass values as arguments, never as inline captures (`{value}`).
macro_rules! html {
    ($template:literal $(,)?) => {
        $crate::staff::html::Html::from_template(format!($template))
    };
    ($template:literal, $($argument:expr),+ $(,)?) => {
        $crate::staff::html::Html::from_template(format!(
            $template,
            $($crate::staff::html::Escape(&$argument)),+
        ))
    };
}
pub(crate) use html;

pub use crate::channels::notices::local_time;

/// Vietnamese names of what the service said back.
pub fn answer_status_label(status: AnswerStatus) -> &'static str {
    match status {
        AnswerStatus::Answered => "đã trả lời",
        AnswerStatus::Declined => "đã từ chối trả lời",
        AnswerStatus::Notice => "thông báo",
    }
}

/// Vietnamese names of review decisions.
pub fn decision_label(decision: Decision) -> &'static str {
    match decision {
        Decision::Approved => "duyệt nguyên văn",
        Decision::Edited => "đã sửa",
        Decision::Rejected => "từ chối",
    }
}

/// Vietnamese names of the reasons an answer is in the queue.
pub fn reason_label(reason: FlagReason) -> &'static str {
    match reason {
        FlagReason::LowConfidence => "Độ tin cậy thấp",
        FlagReason::Declined => "Đã từ chối trả lời",
        FlagReason::ThumbsDown => "Người dân không hài lòng (👎)",
        FlagReason::Reported => "Người dân báo lỗi",
        FlagReason::HumanRequested => "Đề nghị gặp cán bộ",
        FlagReason::SensitiveTopic => "Chủ đề nhạy cảm",
        FlagReason::DeliveryFailed => "Gửi trả lời thất bại",
        FlagReason::HandlingFailed => "Lỗi khi xử lý tin nhắn",
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
fieldset{border:1px solid #d0d4da;margin:.5rem 0}.line{border-bottom:1px solid #eef0f3;padding:.2rem 0}
@media print{header{background:#fff;color:#000}header form,nav,main>form{display:none}body{background:#fff}.card{border:0}}
";

/// The signed-in member's header: their name, the sign-out form (with the session's CSRF
/// token), and the admin-only links.
#[derive(Debug, Clone, Copy)]
pub struct Nav<'a> {
    pub name: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
}

/// A whole page.
pub fn page(title: &str, nav: Option<Nav<'_>>, body: Html) -> Html {
    let nav = match nav {
        Some(nav) => html!(
            "<nav aria-label=\"Điều hướng\"><a href=\"/staff\">Hàng chờ duyệt</a> · <a href=\"/staff/handoffs\">Gặp cán bộ</a> · <a href=\"/staff/sme\">Doanh nghiệp</a> · <a href=\"/staff/surveys\">Khảo sát</a> · <a href=\"/staff/news\">Tin pháp luật</a> · <a href=\"/staff/listening\">Lắng nghe</a> · <a href=\"/staff/directory\">Danh bạ</a> · <a href=\"/staff/curated\">Câu trả lời mẫu</a> · <a href=\"/staff/stats\">Thống kê</a>{}</nav>\
             <form method=\"post\" action=\"/staff/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><span>{}</span> <button type=\"submit\">Đăng xuất</button></form>",
            if nav.admin {
                html!(" · <a href=\"/staff/corpus\">Kho văn bản</a> <span class=\"muted\">(quản trị)</span>")
            } else {
                Html::new()
            },
            nav.csrf,
            nav.name,
        ),
        None => Html::new(),
    };
    html!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — Hỏi Luật (cán bộ)</title><style>{}</style></head><body><header><strong>Hỏi Luật · Cán bộ Sở Tư pháp</strong>{}</header>\
         <main>{}</main></body></html>",
        title,
        Html::literal(STYLE),
        nav,
        body
    )
}

/// An HTML response with the console's security headers: never cached, never framed, scripts off.
pub fn html_response(status: StatusCode, html: Html) -> Response {
    let mut response = (status, html.into_string()).into_response();
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
        assert_eq!(decision_label(Decision::Edited), "đã sửa");
    }

    #[test]
    fn text_is_escaped_and_markup_and_numbers_are_not() {
        assert_eq!(
            Html::text("<b a=\"x\">'&'</b>").as_str(),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
        let name = "<script>".to_owned();
        let inner = html!("<i>{}</i>", "Hôn nhân & gia đình");
        let page = html!(
            "<p title=\"{}\">{} {:.2} {}</p>",
            name,
            inner,
            0.456,
            7usize
        );
        assert_eq!(
            page.as_str(),
            "<p title=\"&lt;script&gt;\"><i>Hôn nhân &amp; gia đình</i> 0.46 7</p>"
        );
        let joined: Html = ["a<", "b"]
            .iter()
            .map(|s| html!("<li>{}</li>", s))
            .collect();
        assert_eq!(joined.as_str(), "<li>a&lt;</li><li>b</li>");
        assert_eq!(
            url_encode("Hôn nhân & gia đình"),
            "H%C3%B4n%20nh%C3%A2n%20%26%20gia%20%C4%91%C3%ACnh"
        );
    }
}
