//! Writes a corpus Markdown file (front matter + body) exactly as `corpus/FORMAT.md` describes, and flags
//! body lines that the corpus parser would misread as structure.

use super::{Article, CuratedDocument, HeadingPath};

pub struct Rendered {
    pub markdown: String,
    pub warnings: Vec<String>,
}

pub fn render_document(curated: &CuratedDocument, articles: &[Article]) -> Rendered {
    let mut out = String::new();
    let mut warnings = Vec::new();
    out.push_str("---\n");
    push_value(&mut out, "so_hieu", Some(&curated.so_hieu));
    push_value(&mut out, "ten", curated.ten.as_ref());
    push_value(&mut out, "loai_van_ban", curated.loai_van_ban.as_ref());
    push_value(
        &mut out,
        "co_quan_ban_hanh",
        curated.co_quan_ban_hanh.as_ref(),
    );
    push_value(&mut out, "ngay_ban_hanh", curated.ngay_ban_hanh.as_ref());
    push_value(&mut out, "ngay_hieu_luc", curated.ngay_hieu_luc.as_ref());
    push_value(&mut out, "tinh_trang", curated.tinh_trang.as_ref());
    push_value(&mut out, "ngay_kiem_tra", curated.ngay_kiem_tra.as_ref());
    push_list(&mut out, "thay_the", &curated.thay_the);
    push_list(&mut out, "bi_thay_the_boi", &curated.bi_thay_the_boi);
    push_list(&mut out, "sua_doi_bo_sung", &curated.sua_doi_bo_sung);
    push_list(&mut out, "duoc_sua_doi_boi", &curated.duoc_sua_doi_boi);
    push_value(&mut out, "pham_vi", curated.pham_vi.as_ref());
    push_list(&mut out, "linh_vuc", &curated.linh_vuc);
    push_value(&mut out, "nguon", curated.nguon.as_ref());
    push_value(&mut out, "ghi_chu", curated.ghi_chu.as_ref());
    push_value(&mut out, "cap_nhat_den", curated.cap_nhat_den.as_ref());
    out.push_str("---\n");

    let mut previous = HeadingPath::default();
    for article in articles {
        push_heading_changes(&mut out, &previous, &article.headings);
        previous = article.headings.clone();
        out.push('\n');
        if article.title.is_empty() {
            out.push_str(&format!("### Điều {}.\n", article.number));
        } else {
            out.push_str(&format!("### Điều {}. {}\n", article.number, article.title));
        }
        if let Some(id) = &article.phapdien_id {
            out.push_str(&format!("<!-- phapdien_id: {id} -->\n"));
        }
        if let Some(citation) = &article.trich_dan {
            out.push_str(&format!("<!-- trich_dan: {citation} -->\n"));
        }
        if let Some(topic) = &article.de_muc {
            out.push_str(&format!("<!-- de_muc: {topic} -->\n"));
        }
        for amendment in &article.amendments {
            out.push_str(&format!(
                "<!-- {}: {} -->\n",
                crate::corpus::parser::AMENDMENT_ATTRIBUTE,
                amendment.to_attribute()
            ));
        }
        for paragraph in &article.paragraphs {
            out.push('\n');
            if let Some(problem) = misread_as_structure(paragraph) {
                // Quoted, as the official texts quote the articles they amend: read bare, it would
                // start an article or chapter of this document (a duplicate number, a lost text).
                warnings.push(format!(
                    "Điều {}: a paragraph starts like an {problem}, quoted: {:.60}",
                    article.number, paragraph
                ));
                out.push('“');
                out.push_str(paragraph);
                out.push('”');
            } else {
                out.push_str(paragraph);
            }
            out.push('\n');
        }
    }
    Rendered {
        markdown: out,
        warnings,
    }
}

fn push_value(out: &mut String, key: &str, value: Option<&String>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        out.push_str(&format!("{key}: {value}\n"));
    }
}

fn push_list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let rendered: Vec<String> = items
        .iter()
        .map(|item| {
            if item.contains(',') {
                format!("\"{item}\"")
            } else {
                item.clone()
            }
        })
        .collect();
    out.push_str(&format!("{key}: [{}]\n", rendered.join(", ")));
}

/// Writes the Phần/Chương/Mục lines that differ from the previous article's. A heading is repeated when
/// a higher level changed, so each chapter opens under its part.
fn push_heading_changes(out: &mut String, previous: &HeadingPath, current: &HeadingPath) {
    let phan_changed = current.phan.is_some() && current.phan != previous.phan;
    let chuong_changed =
        current.chuong.is_some() && (phan_changed || current.chuong != previous.chuong);
    let muc_changed = current.muc.is_some() && (chuong_changed || current.muc != previous.muc);
    if phan_changed {
        out.push_str(&format!(
            "\n# {}\n",
            current.phan.as_deref().unwrap_or_default()
        ));
    }
    if chuong_changed {
        out.push_str(&format!(
            "\n# {}\n",
            current.chuong.as_deref().unwrap_or_default()
        ));
    }
    if muc_changed {
        out.push_str(&format!(
            "\n## {}\n",
            current.muc.as_deref().unwrap_or_default()
        ));
    }
}

/// The corpus parser reads structure from the first words of a line; a body paragraph that starts like
/// a heading would become one. Returns what it would be read as.
fn misread_as_structure(paragraph: &str) -> Option<&'static str> {
    crate::corpus::parser::structure_started_by(paragraph)
}
