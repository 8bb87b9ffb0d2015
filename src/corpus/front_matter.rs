//! The front matter of a corpus file: `key: value` lines between two `---` lines.
//!
//! A deliberately small format (not full YAML) so that every problem can be reported with its line
//! and no value is ever interpreted in a surprising way (YAML would read `no` as false).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::model::{Metadata, Scope, Severity, Validity};

/// A raw front-matter value: a string or a `[a, b]` list.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Text(String),
    List(Vec<String>),
}

/// Every key the format knows. Anything else is an error: a misspelt `tinh_trang` must not silently
/// leave a document without a validity status.
pub const KNOWN_KEYS: &[&str] = &[
    "so_hieu",
    "ten",
    "loai_van_ban",
    "co_quan_ban_hanh",
    "ngay_ban_hanh",
    "ngay_hieu_luc",
    "tinh_trang",
    "ngay_kiem_tra",
    "thay_the",
    "bi_thay_the_boi",
    "sua_doi_bo_sung",
    "duoc_sua_doi_boi",
    "pham_vi",
    "linh_vuc",
    "nguon",
    "ghi_chu",
    "cap_nhat_den",
];

/// A problem in the front matter at a 1-based line.
pub type Problem = (usize, Severity, String);

/// Parses the raw `key: value` lines. `first_line` is the file line of `lines[0]`.
pub fn parse_raw(
    lines: &[&str],
    first_line: usize,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, (usize, RawValue)> {
    let mut values = BTreeMap::new();
    for (offset, line) in lines.iter().enumerate() {
        let line_no = first_line + offset;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            problems.push((
                line_no,
                Severity::Error,
                format!("expected `key: value`, found {trimmed:?}"),
            ));
            continue;
        };
        let key = key.trim();
        if !KNOWN_KEYS.contains(&key) {
            problems.push((
                line_no,
                Severity::Error,
                format!("unknown front-matter key `{key}`"),
            ));
            continue;
        }
        if values.contains_key(key) {
            problems.push((
                line_no,
                Severity::Error,
                format!("front-matter key `{key}` appears twice"),
            ));
            continue;
        }
        values.insert(key.to_owned(), (line_no, parse_value(value.trim())));
    }
    values
}

fn parse_value(value: &str) -> RawValue {
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(inner) => RawValue::List(split_list(inner)),
        None => RawValue::Text(unquote(value).to_owned()),
    }
}

/// Splits `a, "b, c", d` on commas outside double quotes.
fn split_list(inner: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Turns raw values into typed metadata, reporting missing and malformed values. Returns `None`
/// when a required value is missing or invalid (the problems say which).
pub fn to_metadata(
    values: &BTreeMap<String, (usize, RawValue)>,
    header_line: usize,
    problems: &mut Vec<Problem>,
) -> Option<Metadata> {
    let mut reader = Reader {
        values,
        header_line,
        problems,
        ok: true,
    };
    let meta = Metadata {
        so_hieu: reader.required_text("so_hieu"),
        ten: reader.required_text("ten"),
        loai_van_ban: reader.required_text("loai_van_ban"),
        co_quan_ban_hanh: reader.required_text("co_quan_ban_hanh"),
        ngay_ban_hanh: reader.required_date("ngay_ban_hanh"),
        ngay_hieu_luc: reader.optional_date("ngay_hieu_luc"),
        tinh_trang: reader.validity(),
        ngay_kiem_tra: reader.optional_date("ngay_kiem_tra"),
        thay_the: reader.list("thay_the"),
        bi_thay_the_boi: reader.list("bi_thay_the_boi"),
        sua_doi_bo_sung: reader.list("sua_doi_bo_sung"),
        duoc_sua_doi_boi: reader.list("duoc_sua_doi_boi"),
        pham_vi: reader.scope(),
        linh_vuc: reader.required_list("linh_vuc"),
        nguon: reader.required_text("nguon"),
        ghi_chu: reader.optional_text("ghi_chu"),
        cap_nhat_den: reader.optional_date("cap_nhat_den"),
    };
    reader.ok.then_some(meta)
}

struct Reader<'a> {
    values: &'a BTreeMap<String, (usize, RawValue)>,
    header_line: usize,
    problems: &'a mut Vec<Problem>,
    ok: bool,
}

impl Reader<'_> {
    fn error(&mut self, line: usize, message: String) {
        self.problems.push((line, Severity::Error, message));
        self.ok = false;
    }

    fn optional_text(&mut self, key: &str) -> Option<String> {
        match self.values.get(key) {
            None => None,
            Some((_, RawValue::Text(text))) if text.is_empty() => None,
            Some((_, RawValue::Text(text))) => Some(text.clone()),
            Some((line, RawValue::List(_))) => {
                let line = *line;
                self.error(line, format!("`{key}` must be a single value, not a list"));
                None
            }
        }
    }

    fn required_text(&mut self, key: &str) -> String {
        let is_list = matches!(self.values.get(key), Some((_, RawValue::List(_))));
        match self.optional_text(key) {
            Some(text) => text,
            // A list was already reported by `optional_text`.
            None if is_list => String::new(),
            None => {
                let line = self
                    .values
                    .get(key)
                    .map_or(self.header_line, |(line, _)| *line);
                self.error(
                    line,
                    format!("required front-matter key `{key}` is missing or empty"),
                );
                String::new()
            }
        }
    }

    fn optional_date(&mut self, key: &str) -> Option<NaiveDate> {
        let text = self.optional_text(key)?;
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                let line = self.values[key].0;
                self.error(
                    line,
                    format!("`{key}` must be a date YYYY-MM-DD, found {text:?}"),
                );
                None
            }
        }
    }

    fn required_date(&mut self, key: &str) -> NaiveDate {
        let problems_before = self.problems.len();
        match self.optional_date(key) {
            Some(date) => date,
            None => {
                // A malformed date was already reported; report only an absent one here.
                if self.problems.len() == problems_before {
                    let line = self
                        .values
                        .get(key)
                        .map_or(self.header_line, |(line, _)| *line);
                    self.error(
                        line,
                        format!("required front-matter key `{key}` is missing or empty"),
                    );
                }
                NaiveDate::MIN
            }
        }
    }

    fn validity(&mut self) -> Validity {
        let text = self.required_text("tinh_trang");
        if text.is_empty() {
            return Validity::InForce;
        }
        match Validity::from_slug(&text) {
            Some(validity) => validity,
            None => {
                let line = self.values["tinh_trang"].0;
                let allowed: Vec<&str> = Validity::ALL.iter().map(|v| v.slug()).collect();
                self.error(
                    line,
                    format!("`tinh_trang` must be one of {allowed:?}, found {text:?}"),
                );
                Validity::InForce
            }
        }
    }

    fn scope(&mut self) -> Scope {
        let text = self.required_text("pham_vi");
        if text.is_empty() {
            return Scope::National;
        }
        match Scope::parse(&text) {
            Some(scope) => scope,
            None => {
                let line = self.values["pham_vi"].0;
                self.error(
                    line,
                    format!("`pham_vi` must be `toan_quoc` or `tinh:<slug>`, found {text:?}"),
                );
                Scope::National
            }
        }
    }

    fn list(&mut self, key: &str) -> Vec<String> {
        match self.values.get(key) {
            None => Vec::new(),
            Some((_, RawValue::List(items))) => items.clone(),
            // A single value is accepted as a one-item list: `bi_thay_the_boi: 31/2024/QH15`.
            Some((_, RawValue::Text(text))) if text.is_empty() => Vec::new(),
            Some((_, RawValue::Text(text))) => vec![text.clone()],
        }
    }

    fn required_list(&mut self, key: &str) -> Vec<String> {
        let items = self.list(key);
        if items.is_empty() {
            let line = self
                .values
                .get(key)
                .map_or(self.header_line, |(line, _)| *line);
            self.error(
                line,
                format!("required front-matter key `{key}` is missing or empty"),
            );
        }
        items
    }
}
