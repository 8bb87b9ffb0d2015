//! Importer for `vanban/vanban_docs.jsonl`: recent decrees and circulars scraped as Markdown, with
//! metadata fields of uneven quality ("Đang cập nhật", free-text dates). Only the text is taken from the
//! record; every front-matter value comes from the curation, which is where a person has checked it.
//!
//! The Markdown is a web page, not the corpus format: headings are `##`/`###` or bold, a table of document
//! properties and the preamble come first, and "Nơi nhận" and annexes come last. Amending documents quote
//! the articles they amend ("**Điều 4. Rút tố cáo**" inside Điều 1); such quoted headings are not
//! articles of this document, so they are kept as quoted text instead of starting an article.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::text::{self, HeadingKind};
use super::{Article, HeadingPath, ImportedDocument};

#[derive(Debug, Deserialize)]
pub struct VanbanRecord {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub so_hieu: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// Reads all records; unreadable lines are skipped and reported.
pub fn read_records(path: &Path) -> anyhow::Result<(Vec<VanbanRecord>, Vec<String>)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for (line_index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(record) => records.push(record),
            Err(error) => warnings.push(format!(
                "vanban line {}: unreadable record skipped: {error}",
                line_index + 1
            )),
        }
    }
    Ok((records, warnings))
}

/// Finds the record whose `so_hieu` (or, for records without a usable one, `file`) equals `key`.
pub fn find_record<'a>(records: &'a [VanbanRecord], key: &str) -> anyhow::Result<&'a VanbanRecord> {
    let wanted = text::normalize(key);
    let matches: Vec<&VanbanRecord> = records
        .iter()
        .filter(|record| {
            record.so_hieu.as_deref().map(text::normalize).as_deref() == Some(wanted.as_str())
                || record.file.as_deref() == Some(key)
        })
        .collect();
    match matches.as_slice() {
        [record] => Ok(record),
        [] => anyhow::bail!("no vanban record with số hiệu or file {key:?}"),
        _ => anyhow::bail!(
            "{} vanban records match {key:?}; use the file name as the key",
            matches.len()
        ),
    }
}

/// Builds the articles of one record, citing each as "Điều <n> <citation_name>".
pub fn build_document(record: &VanbanRecord, citation_name: &str) -> ImportedDocument {
    let key = record
        .so_hieu
        .clone()
        .or_else(|| record.file.clone())
        .unwrap_or_default();
    let Some(markdown) = record.text.as_deref() else {
        return ImportedDocument {
            articles: Vec::new(),
            warnings: vec![format!("vanban {key}: no text")],
        };
    };
    build_from_text(markdown, &format!("vanban {key}"), citation_name)
}

/// Builds the articles of an official text given as Markdown or plain lines (headings by their first
/// words: "Chương I" then its title, "Mục 1", "Điều 1. …"), from the first article to the end of
/// the body (signature, "Nơi nhận", annexes). `label` names the source in warnings.
pub fn build_from_text(markdown: &str, label: &str, citation_name: &str) -> ImportedDocument {
    let mut warnings = Vec::new();
    let mut articles: Vec<Article> = Vec::new();
    let mut headings = HeadingPath::default();
    let mut pending_label: Option<(HeadingKind, String)> = None;
    let mut quoted_headings = 0usize;
    let normalized = text::normalize(markdown);
    for raw_line in normalized.lines() {
        let raw_line = raw_line.trim();
        let line = strip_markdown(raw_line);
        if line.is_empty() || line.chars().all(|ch| ch == '-' || ch == '*' || ch == '_') {
            continue;
        }
        // A heading label on its own line waits for its capitals title on the next line (which
        // may itself start like the end of the body: "Chương III" then "PHỤ LỤC, BIỂU MẪU, …").
        if let Some((kind, label)) = pending_label.take() {
            if text::is_upper_title(&line) {
                set_heading(
                    &mut headings,
                    kind,
                    format!("{}. {line}", label.trim_end_matches('.')),
                );
                continue;
            }
            set_heading(&mut headings, kind, label);
        }
        if !articles.is_empty() && is_end_of_body(&line) {
            break;
        }
        let inside_amending_article = articles
            .last()
            .is_some_and(|article| is_amending(&article.title));
        if let Some(kind) = text::heading_label(&line) {
            if !inside_amending_article {
                pending_label = Some((kind, line));
                continue;
            }
        }
        if let Some((number, title)) = text::article_heading(&line) {
            let expected = articles
                .last()
                .map_or(1, |article| text::article_sort_key(&article.number).0 + 1);
            let whole_line_bold = raw_line.len() > 4
                && raw_line.starts_with("**")
                && raw_line.ends_with("**")
                && !raw_line[2..raw_line.len() - 2].contains("**");
            let is_own_article = text::article_sort_key(&number) == (expected, String::new())
                && !(whole_line_bold && inside_amending_article);
            if is_own_article {
                articles.push(Article {
                    number: number.clone(),
                    title: title.trim_end_matches(':').trim().to_string(),
                    paragraphs: Vec::new(),
                    phapdien_id: None,
                    trich_dan: Some(format!("Điều {number} {citation_name}")),
                    de_muc: None,
                    amendments: Vec::new(),
                    headings: headings.clone(),
                });
                continue;
            }
            if let Some(article) = articles.last_mut() {
                // Quoted so that the corpus parser does not read it as an article of this document.
                quoted_headings += 1;
                article.paragraphs.push(format!("“{line}”"));
            }
            continue;
        }
        // Preamble (properties table, "Căn cứ …") before the first article is not citable text.
        if let Some(article) = articles.last_mut() {
            article.paragraphs.push(line);
        }
    }
    for article in &mut articles {
        article.paragraphs = text::split_clauses_and_points(&article.paragraphs);
    }
    if articles.is_empty() {
        warnings.push(format!("{label}: no article headings found"));
    }
    if quoted_headings > 0 {
        warnings.push(format!(
            "{label}: {quoted_headings} quoted article headings of amended documents kept as text"
        ));
    }
    ImportedDocument { articles, warnings }
}

fn set_heading(path: &mut HeadingPath, kind: HeadingKind, heading: String) {
    match kind {
        HeadingKind::Phan => {
            *path = HeadingPath {
                phan: Some(heading),
                chuong: None,
                muc: None,
            }
        }
        HeadingKind::Chuong => {
            path.chuong = Some(heading);
            path.muc = None;
        }
        HeadingKind::Muc => path.muc = Some(heading),
    }
}

/// Titles of amending articles ("Sửa đổi, bổ sung Điều 4 như sau") announce quoted text.
fn is_amending(title: &str) -> bool {
    let lower = title.to_lowercase();
    lower.contains("sửa đổi")
        || lower.contains("bổ sung")
        || lower.contains("như sau")
        || lower.contains("thay thế")
}

fn is_end_of_body(line: &str) -> bool {
    let upper = line.to_uppercase();
    upper.starts_with("NƠI NHẬN")
        || upper.starts_with("PHỤ LỤC")
        || upper.starts_with("TM. CHÍNH PHỦ")
        || upper.starts_with("KT. BỘ TRƯỞNG")
        || upper.starts_with("KT. THỦ TƯỚNG")
        || (upper.starts_with("BỘ TRƯỞNG") && line == upper)
        || (upper.starts_with("CHỦ TỊCH QUỐC HỘI") && line == upper)
        || (upper.starts_with("THỦ TƯỚNG") && line == upper)
        // The adoption formula that closes a law, after its last article.
        || line.starts_with("Luật này đã được Quốc hội")
}

/// Removes heading hashes, emphasis markers and block-quote marks; the corpus format carries structure by
/// the first words of a line, not by Markdown.
fn strip_markdown(line: &str) -> String {
    let without_hashes = line.trim_start_matches('#').trim_start();
    let without_quote = without_hashes.trim_start_matches('>').trim_start();
    let without_bold = without_quote.replace("**", "");
    let trimmed = without_bold.trim();
    let unitalic = if trimmed.len() > 2 && trimmed.starts_with('*') && trimmed.ends_with('*') {
        &trimmed[1..trimmed.len() - 1]
    } else {
        trimmed
    };
    text::squash_spaces(unitalic)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

    fn record(text: &str) -> VanbanRecord {
        VanbanRecord {
            file: None,
            so_hieu: Some("1/2026/NĐ-CP".into()),
            title: None,
            text: Some(text.into()),
        }
    }

    #[test]
    fn headings_articles_and_end_of_body() {
        let document = build_document(
            &record(
                "## THÔNG TIN VĂN BẢN\n\n| **Số hiệu** | 1/2026/NĐ-CP |\n\nCăn cứ Luật Tổ chức Chính phủ;\n\n## Chương I\n\n### QUY ĐỊNH CHUNG\n\n**Điều 1.** Phạm vi điều chỉnh\n\nNghị định này quy định về X.\n\n### Điều 2. Đối tượng áp dụng\n\n1. Cơ quan nhà nước.\n\n## NƠI NHẬN\n\n- Như Điều 2;",
            ),
            "Nghị định số 1/2026/NĐ-CP",
        );
        assert_eq!(document.articles.len(), 2);
        assert_eq!(document.articles[0].title, "Phạm vi điều chỉnh");
        assert_eq!(
            document.articles[0].paragraphs,
            ["Nghị định này quy định về X."]
        );
        assert_eq!(
            document.articles[0].headings.chuong.as_deref(),
            Some("Chương I. QUY ĐỊNH CHUNG")
        );
        assert_eq!(document.articles[1].paragraphs, ["1. Cơ quan nhà nước."]);
    }

    #[test]
    fn quoted_articles_of_the_amended_decree_stay_inside_the_amending_article() {
        let document = build_document(
            &record(
                "## NỘI DUNG\n\n### Điều 1. Sửa đổi, bổ sung Điều 4 như sau\n\n**Điều 4. Rút tố cáo**\n\n1. Đơn rút tố cáo phải ghi rõ ngày, tháng, năm.\n\n### Điều 2. Hiệu lực thi hành\n\nNghị định này có hiệu lực từ ngày 01 tháng 7 năm 2026.",
            ),
            "Nghị định số 1/2026/NĐ-CP",
        );
        let numbers: Vec<&str> = document
            .articles
            .iter()
            .map(|article| article.number.as_str())
            .collect();
        assert_eq!(numbers, ["1", "2"]);
        assert_eq!(document.articles[0].paragraphs[0], "“Điều 4. Rút tố cáo”");
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn real_nghi_dinh_156_2026() {
        let (records, _) = read_records(&Path::new(SHARED_DATA).join("vanban/vanban_docs.jsonl"))
            .expect("readable");
        let found = find_record(&records, "156/2026/NĐ-CP").expect("present");
        let document = build_document(found, "Nghị định số 156/2026/NĐ-CP");
        assert!(
            document.articles.len() >= 3,
            "{:?}",
            document
                .articles
                .iter()
                .map(|a| &a.number)
                .collect::<Vec<_>>()
        );
        assert_eq!(document.articles[0].number, "1");
        assert!(document
            .articles
            .iter()
            .flat_map(|a| &a.paragraphs)
            .all(|p| !p.starts_with("Điều ")));
        assert!(document
            .articles
            .iter()
            .flat_map(|a| &a.paragraphs)
            .all(|p| !p.contains("Ban Bí thư")));
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn ambiguous_keys_are_refused() {
        let (records, _) = read_records(&Path::new(SHARED_DATA).join("vanban/vanban_docs.jsonl"))
            .expect("readable");
        assert!(find_record(&records, "Đang cập nhật").is_err());
    }
}
