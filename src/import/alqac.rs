//! Importer for the ALQAC law files (`alqac/law.json`, `alqac/law2022.json`): `[{id: <law name or số
//! hiệu>, articles: [{id: <article number>, text}]}]`, where the first line of `text` is the article title.
//!
//! ALQAC carries laws the compendium snapshot lacks (Luật Cư trú 2020) or has only in part (Bộ luật Lao động
//! 2019 stops at Điều 169 there). It has no chapter headings and no compendium ids; the curation can add
//! chapter headings by article range.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::text;
use super::{Article, HeadingPath, ImportedDocument};

#[derive(Debug, Deserialize)]
pub struct AlqacLaw {
    pub id: String,
    #[serde(default)]
    pub articles: Vec<AlqacArticle>,
}

#[derive(Debug, Deserialize)]
pub struct AlqacArticle {
    #[serde(deserialize_with = "crate::jsonutil::string_or_number")]
    pub id: String,
    #[serde(default)]
    pub text: String,
}

/// Reads a whole ALQAC law file.
pub fn read_laws(path: &Path) -> anyhow::Result<Vec<AlqacLaw>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Builds the articles of the law whose `id` is `law_id` (exact match after NFC), citing each as
/// "Điều <n> <citation_name>". Articles with an unusable number or no text are skipped with a warning.
pub fn build_document(
    laws: &[AlqacLaw],
    law_id: &str,
    citation_name: &str,
) -> anyhow::Result<ImportedDocument> {
    let wanted = text::normalize(law_id);
    let law = laws
        .iter()
        .find(|law| text::normalize(&law.id) == wanted)
        .with_context(|| format!("no law {law_id:?} in the ALQAC file"))?;
    let mut warnings = Vec::new();
    let mut articles: Vec<Article> = Vec::new();
    for source_article in &law.articles {
        let number = text::squash_spaces(&source_article.id).to_lowercase();
        if !text::is_article_number(&number) {
            warnings.push(format!(
                "alqac {law_id}: article id {:?} is not an article number, skipped",
                source_article.id
            ));
            continue;
        }
        let Some(article) = article_from_text(&number, &source_article.text, citation_name) else {
            warnings.push(format!(
                "alqac {law_id}: Điều {number} has no text, skipped"
            ));
            continue;
        };
        if articles.iter().any(|existing| existing.number == number) {
            warnings.push(format!(
                "alqac {law_id}: Điều {number} appears twice; kept the first"
            ));
            continue;
        }
        articles.push(article);
    }
    articles.sort_by_key(|article| text::article_sort_key(&article.number));
    Ok(ImportedDocument { articles, warnings })
}

/// First line is the title; the rest is the body. The last article of a law ends with the passing
/// formula and the signature ("Luật này được Quốc hội … thông qua ngày …", "CHỦ TỊCH QUỐC HỘI", the name),
/// which is not part of the article and is cut.
fn article_from_text(number: &str, raw_text: &str, citation_name: &str) -> Option<Article> {
    let mut lines = text::paragraphs(&text::normalize(raw_text));
    if lines.is_empty() {
        return None;
    }
    let title = lines.remove(0);
    if let Some(signature_start) = lines.iter().position(|line| is_passing_formula(line)) {
        lines.truncate(signature_start);
    }
    if lines.is_empty() {
        return None;
    }
    Some(Article {
        number: number.to_string(),
        title,
        paragraphs: text::split_clauses_and_points(&lines),
        phapdien_id: None,
        trich_dan: Some(format!("Điều {number} {citation_name}")),
        de_muc: None,
        amendments: Vec::new(),
        headings: HeadingPath::default(),
    })
}

fn is_passing_formula(line: &str) -> bool {
    (line.starts_with("Luật này được Quốc hội") || line.starts_with("Bộ luật này được Quốc hội"))
        && line.contains("thông qua")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

    #[test]
    fn title_line_becomes_the_article_title_and_signature_is_cut() {
        let laws: Vec<AlqacLaw> = serde_json::from_str(
            r#"[{"id": "Luật Cư trú", "articles": [
                {"id": "1", "text": "Phạm vi điều chỉnh\n\nLuật này quy định về việc thực hiện quyền tự do cư trú của công dân Việt Nam."},
                {"id": "38", "text": "Hiệu lực thi hành\n\n1. Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2021.\n\nLuật này được Quốc hội nước Cộng hòa xã hội chủ nghĩa Việt Nam khóa XIV, kỳ họp thứ 10 thông qua ngày 13 tháng 11 năm 2020.\n\nNỮ CHỦ TỊCH QUỐC HỘI\n\n(Đã ký)\n\n\nNguyễn Thị Kim Ngân"},
                {"id": "x", "text": "Không phải điều"}
            ]}]"#,
        )
        .expect("parses");
        let document =
            build_document(&laws, "Luật Cư trú", "Luật Cư trú số 68/2020/QH14").expect("law found");
        assert_eq!(document.articles.len(), 2);
        assert_eq!(document.articles[0].title, "Phạm vi điều chỉnh");
        assert_eq!(
            document.articles[1].paragraphs,
            ["1. Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2021."]
        );
        assert_eq!(
            document.articles[1].trich_dan.as_deref(),
            Some("Điều 38 Luật Cư trú số 68/2020/QH14")
        );
        assert_eq!(document.warnings.len(), 1);
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn real_luat_cu_tru_has_38_articles() {
        let laws = read_laws(&Path::new(SHARED_DATA).join("alqac/law.json"))
            .expect("shared data readable");
        let document =
            build_document(&laws, "Luật Cư trú", "Luật Cư trú số 68/2020/QH14").expect("law found");
        assert_eq!(document.articles.len(), 38);
        let dieu_2 = &document.articles[1];
        assert_eq!(dieu_2.title, "Giải thích từ ngữ");
        assert!(
            dieu_2.paragraphs[1].starts_with("1. Chỗ ở hợp pháp là nơi được sử dụng để sinh sống")
        );
        let last = document.articles.last().expect("has articles");
        assert!(last
            .paragraphs
            .iter()
            .all(|paragraph| !paragraph.contains("CHỦ TỊCH QUỐC HỘI")));
    }

    #[test]
    fn unknown_law_is_an_error() {
        let laws: Vec<AlqacLaw> =
            serde_json::from_str(r#"[{"id": "Luật A", "articles": []}]"#).expect("parses");
        assert!(build_document(&laws, "Luật B", "Luật B").is_err());
    }
}
