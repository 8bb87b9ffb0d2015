//! Importer for official texts held as whole files (`laws-2024/`): plain text fetched from the
//! Ministry of Justice's database (one line per paragraph, "Chương I" and its title on two lines), and
//! Markdown with a YAML header extracted from the official PDFs ("## Chương I - TITLE" on one line).
//! Both are brought to the line shape the scraped-decree importer reads ([`vanban::build_from_text`]),
//! which recognises chapters, articles, clauses and points, keeps the quoted articles of an amending
//! document as text, and stops at the signature.
//!
//! A document may come in several files (Luật 36/2024/QH15 is held in two parts); they are read in
//! order as one text.

use std::path::Path;

use anyhow::Context;

use super::vanban;
use super::ImportedDocument;

/// Reads `files` (relative to `shared_data_dir`) as one document.
pub fn build_document(
    shared_data_dir: &Path,
    files: &[String],
    citation_name: &str,
) -> anyhow::Result<ImportedDocument> {
    let mut text = String::new();
    for file in files {
        let path = shared_data_dir.join(file);
        let raw = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        text.push_str(&normalize_layout(&raw));
        text.push('\n');
    }
    Ok(vanban::build_from_text(
        &text,
        &files.join(" + "),
        citation_name,
    ))
}

/// Drops a YAML header and splits one-line headings ("Chương II - HÀNH VI VI PHẠM", "Mục 1 - …") into
/// the label and its title on two lines, the shape of the official text.
pub fn normalize_layout(raw: &str) -> String {
    let body = strip_yaml_header(raw);
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let unmarked = line.trim().trim_start_matches('#').trim();
        match split_one_line_heading(unmarked) {
            Some((label, title)) => {
                out.push_str(label);
                out.push('\n');
                out.push_str(title);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn strip_yaml_header(raw: &str) -> &str {
    let Some(rest) = raw.strip_prefix("---\n") else {
        return raw;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + "\n---\n".len()..],
        None => raw,
    }
}

/// "Chương I - NHỮNG QUY ĐỊNH CHUNG" → ("Chương I", "NHỮNG QUY ĐỊNH CHUNG"); also "Mục 2 - …" and
/// "Phần thứ nhất - …". Only a dash-separated title counts: "Chương này quy định …" is text.
fn split_one_line_heading(line: &str) -> Option<(&str, &str)> {
    let (label, title) = line.split_once(" - ")?;
    let label = label.trim();
    let title = title.trim();
    (super::text::heading_label(label).is_some() && !title.is_empty()).then_some((label, title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_headings_become_label_and_title() {
        let text = normalize_layout(
            "---\ntitle: x\n---\n\n## Chương I - NHỮNG QUY ĐỊNH CHUNG\n\n### Điều 1. Phạm vi\n\nChương này quy định - ví dụ.\n",
        );
        assert_eq!(
            text,
            "\nChương I\nNHỮNG QUY ĐỊNH CHUNG\n\n### Điều 1. Phạm vi\n\nChương này quy định - ví dụ.\n"
        );
    }

    #[test]
    fn plain_text_law_keeps_chapters_and_stops_at_the_adoption_formula() {
        let text = "QUỐC HỘI\nLuật số: 1/2024/QH15\nLUẬT\nĐẤT ĐAI\nCăn cứ Hiến pháp;\n\nChương I\nQUY ĐỊNH CHUNG\n\nĐiều 1. Phạm vi điều chỉnh\nLuật này quy định về đất.\n\nĐiều 2. Đối tượng áp dụng\n1. Cơ quan nhà nước.\n2. Người sử dụng đất.\na) Cá nhân;\nb) Tổ chức.\nLuật này đã được Quốc hội khóa XV thông qua ngày 18 tháng 01 năm 2024.\nCHỦ TỊCH QUỐC HỘI\nVương Đình Huệ\n";
        let document =
            vanban::build_from_text(&normalize_layout(text), "test", "Luật số 1/2024/QH15");
        assert_eq!(document.articles.len(), 2);
        assert_eq!(
            document.articles[0].headings.chuong.as_deref(),
            Some("Chương I. QUY ĐỊNH CHUNG")
        );
        assert_eq!(
            document.articles[1].paragraphs,
            [
                "1. Cơ quan nhà nước.",
                "2. Người sử dụng đất.",
                "a) Cá nhân;",
                "b) Tổ chức."
            ]
        );
    }
}
