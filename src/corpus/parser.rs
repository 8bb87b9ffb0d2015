//! Parses one corpus Markdown file into a [`Document`] plus diagnostics. Never panics: every
//! malformed input becomes a diagnostic with its line.
//!
//! Structure is recognised from the first words of a line (Phần, Chương, Mục, Điều n., "1.", "a)"),
//! not from Markdown heading levels, so texts pasted from official gazettes parse as well as
//! generated files.

use std::collections::{BTreeMap, HashSet};

use super::front_matter;
use super::model::{
    Amendment, Article, Clause, Diagnostic, Document, Headings, Point, Severity, UnitKind,
};
use crate::text::nfc;

/// The result of parsing one file: the document when its front matter is usable, and every problem.
#[derive(Debug)]
pub struct ParseOutcome {
    pub document: Option<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ParseOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// A structural line, recognised by its first words.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    Phan(String),
    Chuong(String),
    Muc(String),
    Article { number: String, title: String },
    Section { numeral: String, title: String },
    Clause { number: String, rest: &'a str },
    Point { letter: String, rest: &'a str },
    Attribute { key: String, value: String },
    Text(&'a str),
}

/// Parses `source` (the whole file). `file` is used in diagnostics.
pub fn parse_document(file: &str, source: &str) -> ParseOutcome {
    let source = nfc(source);
    let mut diagnostics = Vec::new();
    let mut report = |line: usize, severity: Severity, message: String| {
        diagnostics.push(Diagnostic {
            file: file.to_owned(),
            line,
            severity,
            message,
        });
    };

    let lines: Vec<&str> = source.lines().collect();
    let Some(body_start) = front_matter_end(&lines) else {
        report(
            1,
            Severity::Error,
            "missing front matter: the file must start with a `---` block".into(),
        );
        return ParseOutcome {
            document: None,
            diagnostics,
        };
    };

    let mut problems = Vec::new();
    let raw = front_matter::parse_raw(&lines[1..body_start - 1], 2, &mut problems);
    let meta = front_matter::to_metadata(&raw, 1, &mut problems);
    for (line, severity, message) in problems {
        report(line, severity, message);
    }

    let (articles, preamble) = parse_body(&lines, body_start, &mut report);
    if articles.is_empty() {
        report(
            body_start,
            Severity::Error,
            "the document has no article (`Điều n.`) or section (`I.`)".into(),
        );
    }

    let document = meta.map(|meta| Document {
        meta,
        preamble,
        articles,
        source_file: file.to_owned(),
    });
    ParseOutcome {
        document,
        diagnostics,
    }
}

/// Returns the index of the first body line (after the closing `---`), or `None` without front matter.
fn front_matter_end(lines: &[&str]) -> Option<usize> {
    if lines.first().map(|l| l.trim()) != Some("---") {
        return None;
    }
    lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, line)| line.trim() == "---")
        .map(|(index, _)| index + 1)
}

/// Builds the article list from body lines starting at index `start` (0-based).
fn parse_body(
    lines: &[&str],
    start: usize,
    report: &mut impl FnMut(usize, Severity, String),
) -> (Vec<Article>, Vec<String>) {
    // Plans have no articles; their Roman-numeral sections are the citable unit. Decide once per
    // document so that an "I." line inside a law is never mistaken for a section.
    let uses_sections = !lines[start..]
        .iter()
        .any(|line| matches!(classify(line, false), Line::Article { .. }));

    let mut articles: Vec<Article> = Vec::new();
    let mut preamble = Vec::new();
    let mut headings = Headings::default();
    let mut seen_numbers = HashSet::new();
    // A heading whose title is on the next line ("Chương II" / "KẾT HÔN").
    let mut pending_heading_title: Option<HeadingLevel> = None;

    for (index, raw_line) in lines.iter().enumerate().skip(start) {
        let line_no = index + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let classified = classify(trimmed, uses_sections);

        if let Some(level) = pending_heading_title.take() {
            if let Line::Text(text) = &classified {
                if is_all_caps(text) {
                    append_heading_title(&mut headings, level, text);
                    continue;
                }
            }
        }

        match classified {
            Line::Phan(text) => {
                pending_heading_title = title_missing(&text).then_some(HeadingLevel::Phan);
                headings = Headings {
                    phan: Some(text),
                    chuong: None,
                    muc: None,
                };
            }
            Line::Chuong(text) => {
                pending_heading_title = title_missing(&text).then_some(HeadingLevel::Chuong);
                headings.chuong = Some(text);
                headings.muc = None;
            }
            Line::Muc(text) => {
                pending_heading_title = title_missing(&text).then_some(HeadingLevel::Muc);
                headings.muc = Some(text);
            }
            Line::Article { number, title }
            | Line::Section {
                numeral: number,
                title,
            } => {
                let kind = if uses_sections {
                    UnitKind::Section
                } else {
                    UnitKind::Article
                };
                if !seen_numbers.insert(number.clone()) {
                    let label = if uses_sections { "section" } else { "article" };
                    report(
                        line_no,
                        Severity::Error,
                        format!("duplicate {label} number {number}"),
                    );
                }
                articles.push(Article {
                    kind,
                    number,
                    title,
                    line: line_no,
                    headings: headings.clone(),
                    intro: Vec::new(),
                    clauses: Vec::new(),
                    attributes: BTreeMap::new(),
                    amendments: Vec::new(),
                });
            }
            Line::Attribute { key, value } => match articles.last_mut() {
                // Several amendments may be recorded for one article, one line each.
                Some(article) if key == AMENDMENT_ATTRIBUTE => match Amendment::parse(&value) {
                    Some(amendment) => article.amendments.push(amendment),
                    None => report(
                        line_no,
                        Severity::Error,
                        format!(
                            "`{AMENDMENT_ATTRIBUTE}` must be `<số hiệu> | <YYYY-MM-DD or empty> | <what changed>`, found {value:?}"
                        ),
                    ),
                },
                Some(article) => {
                    article.attributes.insert(key, value);
                }
                None => report(
                    line_no,
                    Severity::Warning,
                    format!("attribute `{key}` before the first article is ignored"),
                ),
            },
            Line::Clause { number, rest } => match articles.last_mut() {
                Some(article) => {
                    if let Some(previous) = article.clauses.last() {
                        if !follows(&previous.number, &number) {
                            report(
                                line_no,
                                Severity::Warning,
                                format!(
                                    "clause {number} follows clause {} in {}",
                                    previous.number,
                                    article.label()
                                ),
                            );
                        }
                    }
                    article.clauses.push(Clause {
                        number,
                        lead: vec![rest.to_owned()],
                        points: Vec::new(),
                    });
                }
                None => preamble_text(&mut preamble, trimmed, line_no, report),
            },
            Line::Point { letter, rest } => {
                match articles.last_mut().and_then(|a| a.clauses.last_mut()) {
                    Some(clause) => clause.points.push(Point {
                        letter,
                        paragraphs: vec![rest.to_owned()],
                    }),
                    // A point directly under an article (no clause): keep it as article text.
                    None => match articles.last_mut() {
                        Some(article) => article.intro.push(trimmed.to_owned()),
                        None => preamble_text(&mut preamble, trimmed, line_no, report),
                    },
                }
            }
            Line::Text(text) => match articles.last_mut() {
                Some(article) => append_paragraph(article, text),
                None => preamble_text(&mut preamble, text, line_no, report),
            },
        }
    }
    (articles, preamble)
}

#[derive(Debug, Clone, Copy)]
enum HeadingLevel {
    Phan,
    Chuong,
    Muc,
}

fn append_heading_title(headings: &mut Headings, level: HeadingLevel, title: &str) {
    let slot = match level {
        HeadingLevel::Phan => &mut headings.phan,
        HeadingLevel::Chuong => &mut headings.chuong,
        HeadingLevel::Muc => &mut headings.muc,
    };
    if let Some(heading) = slot {
        heading.push_str(". ");
        heading.push_str(title);
    }
}

/// "Chương II" has no title on its line; "Chương II. KẾT HÔN" has.
fn title_missing(heading: &str) -> bool {
    heading.split_whitespace().count() <= 3 && !heading.contains('.')
}

fn is_all_caps(text: &str) -> bool {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    !letters.is_empty() && letters.iter().all(|c| !c.is_lowercase())
}

/// Text before the first article: headings of the document itself (QUỐC HỘI, LUẬT …) and the
/// preamble (Căn cứ …) are expected; they are kept but not indexed, with a warning so that a
/// missing article heading does not silently swallow legal text.
fn preamble_text(
    preamble: &mut Vec<String>,
    text: &str,
    line_no: usize,
    report: &mut impl FnMut(usize, Severity, String),
) {
    let is_markdown_title = text.starts_with('#');
    let looks_like_preamble = text.starts_with("Căn cứ") || is_all_caps(text) || is_markdown_title;
    if !looks_like_preamble {
        report(
            line_no,
            Severity::Warning,
            "text before the first article is not indexed".into(),
        );
    }
    preamble.push(text.trim_start_matches('#').trim().to_owned());
}

fn append_paragraph(article: &mut Article, text: &str) {
    let Some(clause) = article.clauses.last_mut() else {
        article.intro.push(text.to_owned());
        return;
    };
    match clause.points.last_mut() {
        Some(point) => point.paragraphs.push(text.to_owned()),
        None => clause.lead.push(text.to_owned()),
    }
}

/// Whether clause `next` may follow clause `previous` ("1" → "2", "2" → "2a").
fn follows(previous: &str, next: &str) -> bool {
    let number = |s: &str| {
        s.trim_end_matches(|c: char| c.is_alphabetic())
            .parse::<u32>()
            .ok()
    };
    match (number(previous), number(next)) {
        (Some(p), Some(n)) => n == p + 1 || (n == p && next.len() > previous.len()),
        _ => true,
    }
}

/// What structure a body line would start if written bare into a document with articles: an
/// article or a Phần/Chương/Mục heading, or an attribute comment. Importers quote such paragraphs.
pub fn structure_started_by(line: &str) -> Option<&'static str> {
    match classify(line, false) {
        Line::Article { .. } => Some("article heading"),
        Line::Phan(_) | Line::Chuong(_) | Line::Muc(_) => Some("Phần/Chương/Mục heading"),
        Line::Attribute { .. } => Some("attribute comment"),
        _ => None,
    }
}

/// Recognises the kind of a trimmed line.
fn classify(line: &str, uses_sections: bool) -> Line<'_> {
    let line = line.trim();
    if let Some(attribute) = parse_attribute(line) {
        return attribute;
    }
    let unmarked = line.trim_start_matches('#').trim_start();
    let is_heading_marked = unmarked.len() != line.len();

    if let Some(rest) = strip_word(unmarked, &["Điều", "ĐIỀU"]) {
        if let Some((number, title)) = split_number(rest, |c| c.is_ascii_digit(), true) {
            return Line::Article { number, title };
        }
    }
    if let Some(rest) = strip_word(unmarked, &["Phần", "PHẦN"]) {
        if starts_like_numbering(rest) {
            return Line::Phan(squash(unmarked));
        }
    }
    if let Some(rest) = strip_word(unmarked, &["Chương", "CHƯƠNG"]) {
        if starts_like_numbering(rest) {
            return Line::Chuong(squash(unmarked));
        }
    }
    if let Some(rest) = strip_word(unmarked, &["Mục", "MỤC"]) {
        if starts_like_numbering(rest) {
            return Line::Muc(squash(unmarked));
        }
    }
    if uses_sections {
        if let Some((numeral, title)) = split_number(unmarked, is_roman_digit, false) {
            if numeral.chars().all(is_roman_digit) {
                return Line::Section { numeral, title };
            }
        }
    }
    if is_heading_marked {
        return Line::Text(line);
    }
    if let Some((number, rest)) = split_clause(unmarked) {
        return Line::Clause { number, rest };
    }
    if let Some((letter, rest)) = split_point(unmarked) {
        return Line::Point { letter, rest };
    }
    Line::Text(line)
}

fn squash(text: &str) -> String {
    crate::text::squash_whitespace(text)
}

/// The article attribute that records a later amendment (see [`Amendment`]).
pub const AMENDMENT_ATTRIBUTE: &str = "sua_doi";

/// `<!-- key: value -->`
fn parse_attribute(line: &str) -> Option<Line<'static>> {
    let inner = line.strip_prefix("<!--")?.strip_suffix("-->")?.trim();
    let (key, value) = inner.split_once(':')?;
    let key = key.trim();
    let valid_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    valid_key.then(|| Line::Attribute {
        key: key.to_owned(),
        value: value.trim().to_owned(),
    })
}

/// Strips a leading keyword followed by whitespace.
fn strip_word<'a>(line: &'a str, words: &[&str]) -> Option<&'a str> {
    words.iter().find_map(|word| {
        let rest = line.strip_prefix(word)?;
        rest.starts_with(char::is_whitespace)
            .then(|| rest.trim_start())
    })
}

/// "thứ nhất", "I", "1", "IV." — what follows Phần/Chương/Mục in a heading, as opposed to
/// "Mục đích của …" in running text.
fn starts_like_numbering(rest: &str) -> bool {
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '.' && *c != ':')
        .collect();
    if word.is_empty() {
        return false;
    }
    word.chars().all(|c| c.is_ascii_digit())
        || word.chars().all(is_roman_digit)
        || word.to_lowercase() == "thứ"
}

fn is_roman_digit(c: char) -> bool {
    matches!(c, 'I' | 'V' | 'X' | 'L' | 'C')
}

/// Splits "8. Điều kiện kết hôn" into ("8", "Điều kiện kết hôn"). The number is a run of `digit`
/// characters, optionally followed by one lowercase letter ("10a") when `allow_suffix`; it must be
/// followed by `.` or `:` then whitespace or the end of the line.
fn split_number(
    rest: &str,
    digit: impl Fn(char) -> bool,
    allow_suffix: bool,
) -> Option<(String, String)> {
    let digits_end = rest
        .char_indices()
        .find(|(_, c)| !digit(*c))
        .map_or(rest.len(), |(i, _)| i);
    if digits_end == 0 {
        return None;
    }
    let mut number_end = digits_end;
    if allow_suffix {
        if let Some(c) = rest[digits_end..].chars().next() {
            if c.is_ascii_lowercase() {
                number_end += c.len_utf8();
            }
        }
    }
    let after = &rest[number_end..];
    let title = after
        .strip_prefix('.')
        .or_else(|| after.strip_prefix(':'))?;
    if !(title.is_empty() || title.starts_with(char::is_whitespace)) {
        return None;
    }
    Some((rest[..number_end].to_owned(), squash(title)))
}

/// "1. Nam, nữ …" → ("1", "Nam, nữ …"). Not "1.000 đồng" (no space after the dot).
fn split_clause(line: &str) -> Option<(String, &str)> {
    let digits_end = line
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, _)| i)?;
    if digits_end == 0 || digits_end > 3 {
        return None;
    }
    let rest = line[digits_end..].strip_prefix('.')?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some((line[..digits_end].to_owned(), rest.trim_start()))
}

/// "a) Nam từ đủ 20 tuổi …" → ("a", "Nam từ đủ 20 tuổi …"); also "đ)".
fn split_point(line: &str) -> Option<(String, &str)> {
    let mut chars = line.chars();
    let letter = chars.next()?;
    if !(letter.is_ascii_lowercase() || letter == 'đ') {
        return None;
    }
    let rest = chars.as_str();
    let rest = rest.strip_prefix(')')?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    Some((letter.to_string(), rest.trim_start()))
}

#[cfg(test)]
mod tests;
