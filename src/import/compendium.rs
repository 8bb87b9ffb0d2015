//! The broad layer of the corpus: every source document of the Bộ Pháp điển that the curation does not
//! hold, written as one compressed bundle (`corpus/<tep>.md.zst`, read by `corpus::load`).
//!
//! Nobody wrote front matter for these 3,500 documents, so it comes from the data: the title from the
//! records' source citations ("Điều 1 Luật số 32/2004/QH11 An ninh Quốc gia ngày …" → "Luật An ninh
//! Quốc gia"), the issuer and dates from their fields, the fields of law from the compendium topics.
//! Validity comes from the reviewed registry (`corpus/validity.toml`): a listed document is marked
//! replaced or partly expired, with what replaced it; every other one is labelled with its source and
//! snapshot date (`theo_phap_dien`, `cap_nhat_den`), never as verified "còn hiệu lực".

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::phapdien::{self, DocumentFacts, PhapdienSegments};
use super::registry::{AmendmentRegistry, ValidityRegistry};
use super::{render, CuratedDocument, DocumentReport, HeadingPath, SourceKind};
use crate::corpus::load::{so_hieu_key, BUNDLE_EXTENSION, BUNDLE_SEPARATOR};
use crate::corpus::Validity;

/// `[bo_phap_dien]` in the curation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompendiumLayer {
    /// Bundle file name under the corpus directory, ending in `.md.zst`.
    pub tep: String,
    /// The date the compendium snapshot is current to (shown with every citation of it).
    pub cap_nhat_den: String,
    /// Provenance, written into every document.
    pub nguon: String,
}

/// zstd level of the bundle: the slowest, smallest setting; import is rare and the file is committed.
const COMPRESSION_LEVEL: i32 = 19;
/// A title longer than this is cut at a word boundary: it heads every chunk and citation.
const MAX_TITLE_CHARS: usize = 180;

/// What the layer produced.
#[derive(Debug, Default)]
pub struct BundleReport {
    pub file: String,
    pub documents: Vec<DocumentReport>,
    /// Documents of the compendium left out because the curation holds them.
    pub curated_elsewhere: Vec<String>,
    /// Documents marked replaced or partly expired from the registry.
    pub from_registry: Vec<String>,
    pub compressed_bytes: u64,
    pub markdown_bytes: usize,
}

/// Builds and writes the bundle. `curated` are the số hiệu the curation holds in its own files.
pub fn write_bundle(
    layer: &CompendiumLayer,
    segments: &PhapdienSegments,
    curated: &BTreeSet<String>,
    validity: &ValidityRegistry,
    amendments: &AmendmentRegistry,
    out_dir: &Path,
    warnings: &mut Vec<String>,
) -> anyhow::Result<BundleReport> {
    if !layer.tep.ends_with(BUNDLE_EXTENSION) || layer.tep.contains('/') {
        bail!("curation: bo_phap_dien.tep must be a plain file name ending in {BUNDLE_EXTENSION}");
    }
    let curated_keys: BTreeSet<String> = curated.iter().map(|s| so_hieu_key(s)).collect();
    let mut report = BundleReport {
        file: layer.tep.clone(),
        ..BundleReport::default()
    };
    let mut bundle = String::new();
    let mut used_names = BTreeSet::new();
    for (so_hieu, document_segments) in &segments.by_so_hieu {
        if curated_keys.contains(&so_hieu_key(so_hieu)) {
            report.curated_elsewhere.push(so_hieu.clone());
            continue;
        }
        let facts = segments.facts.get(so_hieu).cloned().unwrap_or_default();
        let mut curated_document = front_matter(layer, so_hieu, &facts, validity);
        if curated_document.tinh_trang.as_deref() != Some(Validity::PerCompendium.slug()) {
            report.from_registry.push(so_hieu.clone());
        }
        curated_document.tep = unique_file_name(&curated_document, &mut used_names);
        let citation_name = format!(
            "{} số {}",
            curated_document.ten.as_deref().unwrap_or_default(),
            so_hieu
        );
        let use_headings = is_law_level(curated_document.loai_van_ban.as_deref());
        let mut imported =
            phapdien::build_document(document_segments, &citation_name, use_headings);
        if let Some(problem) = super::heading_order_problem(&imported.articles) {
            imported.warnings.push(format!(
                "compendium chapters out of order ({problem}); headings dropped"
            ));
            for article in &mut imported.articles {
                article.headings = HeadingPath::default();
            }
        }
        super::apply_amendments(&mut imported.articles, amendments, so_hieu);
        warnings.extend(
            imported
                .warnings
                .iter()
                .map(|warning| format!("{}: {warning}", curated_document.tep)),
        );
        if imported.articles.is_empty() {
            warnings.push(format!("{so_hieu}: no articles, left out of the bundle"));
            continue;
        }
        let rendered = render::render_document(&curated_document, &imported.articles);
        warnings.extend(
            rendered
                .warnings
                .iter()
                .map(|warning| format!("{}: {warning}", curated_document.tep)),
        );
        if let Some(line) = rendered
            .markdown
            .lines()
            .find(|line| line.starts_with(BUNDLE_SEPARATOR))
        {
            bail!(
                "{so_hieu}: a line starts like a bundle separator and would split the document: {line:.60}"
            );
        }
        bundle.push_str(BUNDLE_SEPARATOR);
        bundle.push_str(&curated_document.tep);
        bundle.push('\n');
        bundle.push_str(&rendered.markdown);
        report.documents.push(DocumentReport {
            file: curated_document.tep.clone(),
            so_hieu: so_hieu.clone(),
            articles: imported.articles.len(),
            chars: super::article_chars(&imported.articles),
            source: format!("phapdien {so_hieu}"),
        });
    }
    report.markdown_bytes = bundle.len();
    let compressed = zstd::stream::encode_all(bundle.as_bytes(), COMPRESSION_LEVEL)
        .context("compressing the compendium bundle")?;
    report.compressed_bytes = compressed.len() as u64;
    crate::fsutil::write_atomically(&out_dir.join(&layer.tep), &compressed)
        .with_context(|| format!("writing {}", out_dir.join(&layer.tep).display()))?;
    Ok(report)
}

/// Front matter of one compendium document, from its records' facts and the validity registry.
fn front_matter(
    layer: &CompendiumLayer,
    so_hieu: &str,
    facts: &DocumentFacts,
    validity: &ValidityRegistry,
) -> CuratedDocument {
    let loai = facts
        .loai_van_ban
        .clone()
        .or_else(|| type_from_citations(&facts.citations))
        .unwrap_or_else(|| "Văn bản".to_owned());
    let ten = document_title(&loai, so_hieu, &facts.citations);
    let mut notes = Vec::new();
    let issued = facts
        .ngay_ban_hanh
        .as_deref()
        .and_then(iso_date)
        .or_else(|| issue_date_from_citations(&facts.citations));
    let ngay_ban_hanh = issued.unwrap_or_else(|| {
        notes
            .push("ngày ban hành không có trong dữ liệu, ghi tạm ngày 01/01 của năm trong số hiệu");
        format!("{}-01-01", year_of(so_hieu))
    });
    let issuer = facts
        .co_quan_ban_hanh
        .clone()
        .or_else(|| issuer_from_so_hieu(so_hieu).map(str::to_owned))
        .unwrap_or_else(|| "Không rõ (Bộ Pháp điển không ghi)".to_owned());
    let mut linh_vuc: Vec<String> = facts.topics.iter().take(3).cloned().collect();
    if linh_vuc.is_empty() {
        linh_vuc.push("khac".to_owned());
    }
    let (tinh_trang, bi_thay_the_boi, ngay_kiem_tra, can_cu) = match validity.get(so_hieu) {
        Some(entry) => (
            entry.tinh_trang.clone(),
            entry.bi_thay_the_boi.clone(),
            Some(entry.ngay_kiem_tra.clone()),
            Some(format!(
                "Hiệu lực theo danh mục đã rà soát: {}",
                entry.can_cu
            )),
        ),
        None => (
            Validity::PerCompendium.slug().to_owned(),
            Vec::new(),
            None,
            None,
        ),
    };
    let mut ghi_chu: Vec<String> = can_cu.into_iter().collect();
    ghi_chu.extend(notes.iter().map(|note| (*note).to_owned()));
    CuratedDocument {
        tep: String::new(),
        nguon_du_lieu: SourceKind::Phapdien,
        khoa: Some(so_hieu.to_owned()),
        tep_nguon: None,
        tep_nguon_noi: Vec::new(),
        so_dieu: None,
        trich_dan_ten: None,
        tieu_de_phap_dien: None,
        sua_chuong: Vec::new(),
        bo_sung_alqac: None,
        so_hieu: so_hieu.to_owned(),
        ten: Some(ten),
        loai_van_ban: Some(loai),
        co_quan_ban_hanh: Some(issuer),
        ngay_ban_hanh: Some(ngay_ban_hanh),
        ngay_hieu_luc: facts.ngay_hieu_luc.as_deref().and_then(iso_date),
        tinh_trang: Some(tinh_trang),
        ngay_kiem_tra,
        thay_the: Vec::new(),
        bi_thay_the_boi,
        sua_doi_bo_sung: Vec::new(),
        duoc_sua_doi_boi: Vec::new(),
        pham_vi: Some("toan_quoc".to_owned()),
        linh_vuc,
        nguon: Some(layer.nguon.clone()),
        ghi_chu: (!ghi_chu.is_empty()).then(|| one_line(&ghi_chu.join("; "))),
        cap_nhat_den: Some(layer.cap_nhat_den.clone()),
    }
}

/// Laws are codified under their own chapters; a decree's or circular's records sit under the
/// chapters of the law they implement, which would mislead.
fn is_law_level(loai: Option<&str>) -> bool {
    matches!(
        loai,
        Some("Luật" | "Bộ luật" | "Pháp lệnh" | "Hiến pháp" | "Luật tổ chức")
    )
}

/// "Luật An ninh Quốc gia", "Nghị định quy định về việc khôi phục …": the document type and the
/// summary that follows the số hiệu in the longest source citation.
pub fn document_title(loai: &str, so_hieu: &str, citations: &BTreeSet<String>) -> String {
    let summary = citations
        .iter()
        .filter_map(|raw| phapdien::parse_source_citation(raw))
        .filter_map(|citation| {
            let position = citation.cleaned.find(citation.so_hieu.as_str())?;
            let after = citation.cleaned[position + citation.so_hieu.len()..]
                .trim()
                .trim_end_matches(['.', ',', ';'])
                .trim();
            (!after.is_empty() && so_hieu_key(&citation.so_hieu) == so_hieu_key(so_hieu))
                .then(|| after.to_owned())
        })
        .max_by_key(|summary| (summary.chars().count(), summary.clone()));
    let Some(summary) = summary else {
        return loai.to_owned();
    };
    // "Thông tư số 72/2023/TT-BTC Thông tư quy định …": the type is not repeated.
    let summary = summary
        .strip_prefix(loai)
        .map(str::trim_start)
        .filter(|rest| !rest.is_empty())
        .unwrap_or(&summary)
        .trim_matches(['"', '“', '”'])
        .to_owned();
    let summary = if is_law_level(Some(loai)) {
        summary
    } else {
        lowercase_first(&summary)
    };
    let title = format!("{loai} {summary}");
    one_line(&truncate_words(&title, MAX_TITLE_CHARS))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // An acronym ("UBND", "QCVN") keeps its case.
        Some(first) if !chars.clone().next().is_some_and(char::is_uppercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        if out.chars().count() + word.chars().count() + 1 > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push('…');
    out
}

/// Front-matter values are one line and do not start with `[` or `"`.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches(['[', '"'])
        .to_owned()
}

fn type_from_citations(citations: &BTreeSet<String>) -> Option<String> {
    const TYPES: [&str; 10] = [
        "Thông tư liên tịch",
        "Nghị quyết liên tịch",
        "Bộ luật",
        "Luật",
        "Pháp lệnh",
        "Nghị quyết",
        "Nghị định",
        "Quyết định",
        "Thông tư",
        "Chỉ thị",
    ];
    citations.iter().find_map(|raw| {
        let citation = phapdien::parse_source_citation(raw)?;
        let after_number = citation.cleaned.splitn(3, ' ').nth(2)?;
        TYPES
            .iter()
            .find(|kind| after_number.starts_with(&format!("{kind} số")))
            .map(|kind| (*kind).to_owned())
    })
}

/// "… ngày 03/12/2004 của Quốc hội …" in a citation.
fn issue_date_from_citations(citations: &BTreeSet<String>) -> Option<String> {
    citations.iter().find_map(|raw| {
        let position = raw.find(" ngày ")?;
        let date: String = raw[position + " ngày ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '/')
            .collect();
        let rest = &raw[position + " ngày ".len() + date.len()..];
        rest.trim_start()
            .starts_with("của")
            .then(|| iso_date(&date))?
    })
}

/// dd/mm/yyyy → yyyy-mm-dd.
fn iso_date(date: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(date.trim(), "%d/%m/%Y")
        .ok()
        .map(|date| date.format("%Y-%m-%d").to_string())
}

fn year_of(so_hieu: &str) -> String {
    so_hieu
        .split('/')
        .find(|part| part.len() == 4 && part.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or("2000")
        .to_owned()
}

/// The issuer that a số hiệu's suffix names without doubt.
fn issuer_from_so_hieu(so_hieu: &str) -> Option<&'static str> {
    let suffix = so_hieu.rsplit('/').next()?;
    if suffix.starts_with("QH") {
        Some("Quốc hội")
    } else if suffix.starts_with("UBTVQH") {
        Some("Ủy ban Thường vụ Quốc hội")
    } else if suffix == "NĐ-CP" || suffix == "NQ-CP" {
        Some("Chính phủ")
    } else if suffix == "QĐ-TTg" || suffix == "CT-TTg" {
        Some("Thủ tướng Chính phủ")
    } else {
        None
    }
}

/// "<loai>-<số hiệu>.md", made unique.
fn unique_file_name(document: &CuratedDocument, used: &mut BTreeSet<String>) -> String {
    let stem = format!(
        "{}-{}",
        crate::chunk::document_slug(document.loai_van_ban.as_deref().unwrap_or("van-ban")),
        crate::chunk::document_slug(&document.so_hieu)
    );
    let mut name = format!("{stem}.md");
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{stem}-{n}.md");
        n += 1;
    }
    name
}

/// The compendium's số hiệu of every curated document, to leave out of the bundle.
pub fn curated_so_hieu(curation: &super::Curation) -> BTreeSet<String> {
    curation
        .tai_lieu
        .iter()
        .map(|document| document.so_hieu.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citations(raws: &[&str]) -> BTreeSet<String> {
        raws.iter().map(|raw| (*raw).to_owned()).collect()
    }

    #[test]
    fn titles_come_from_the_longest_source_citation() {
        let law = citations(&[
            "(Điều 2 Luật số 32/2004/QH11, có hiệu lực thi hành kể từ ngày 01/07/2005)",
            "(Điều 1 Luật số 32/2004/QH11 An ninh Quốc gia ngày 03/12/2004 của Quốc hội, có hiệu lực thi hành kể từ ngày 01/07/2005 )",
        ]);
        assert_eq!(
            document_title("Luật", "32/2004/QH11", &law),
            "Luật An ninh Quốc gia"
        );
        let circular = citations(&["(Điều 1 Thông tư số 72/2023/TT-BTC Thông tư quy định tiêu chí phân loại đơn vị sự nghiệp ngày 01/12/2023 của Bộ Tài chính, có hiệu lực thi hành kể từ ngày 01/02/2024"]);
        assert_eq!(
            document_title("Thông tư", "72/2023/TT-BTC", &circular),
            "Thông tư quy định tiêu chí phân loại đơn vị sự nghiệp"
        );
        assert_eq!(
            document_title(
                "Thông tư",
                "01/2020/TT-BTP",
                &citations(&["(Điều 20 Thông tư số 01/2020/TT-BTP, có hiệu lực thi hành kể từ ngày 20/04/2020)"])
            ),
            "Thông tư"
        );
        assert_eq!(
            issue_date_from_citations(&law).as_deref(),
            Some("2004-12-03")
        );
    }
}
