//! Importers: turn the shared data sets into corpus Markdown files (see `corpus/FORMAT.md`).
//!
//! `run_import` reads `corpus/curation.toml`, where a person has chosen each document and written its
//! front matter (title, status, dates: the data's own metadata is too uneven to publish unchecked), then
//! asks the importer for that source kind for the articles, and writes one file per document. Output is
//! deterministic: same data and curation give byte-identical files, so a regenerated corpus diffs cleanly.
//! Bad source records never abort an import; they are skipped and listed in the report.
//!
//! - `phapdien`: Bộ Pháp điển records regrouped by source document and source article number.
//! - `alqac`: ALQAC law files (whole laws absent from or partial in the compendium).
//! - `vanban`: recent decrees and circulars scraped as Markdown.
//! - `official`: official texts held as whole files (`laws-2024/`: the 2024 land, housing and
//!   road-traffic laws), through the same line reader as `vanban`.
//! - `compendium`: every other compendium document, as one compressed bundle (the broad layer).
//! - `registry`: the reviewed validity and amendment registries beside the curation.
//! - `text`: cleaning shared by the importers.

pub mod alqac;
pub mod compendium;
pub mod official;
pub mod phapdien;
pub mod registry;
mod render;
pub mod text;
pub mod vanban;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::fsutil::write_atomically;

/// One article (Điều) ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// "8", "10a".
    pub number: String,
    pub title: String,
    /// Clauses, points and continuation paragraphs, one per line in the output.
    pub paragraphs: Vec<String>,
    pub phapdien_id: Option<String>,
    /// How to cite the article, e.g. "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13".
    pub trich_dan: Option<String>,
    /// The compendium topic (đề mục) the article is filed under.
    pub de_muc: Option<String>,
    /// Later changes to the article (from `corpus/amendments.toml`).
    pub amendments: Vec<crate::corpus::Amendment>,
    /// The Phần/Chương/Mục the article sits in; written when it changes from the previous article.
    pub headings: HeadingPath,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadingPath {
    pub phan: Option<String>,
    pub chuong: Option<String>,
    pub muc: Option<String>,
}

/// What an importer produced for one document.
#[derive(Debug, Default)]
pub struct ImportedDocument {
    pub articles: Vec<Article>,
    pub warnings: Vec<String>,
}

/// `corpus/curation.toml`: one `[[tai_lieu]]` per corpus file, and optionally the compendium layer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curation {
    pub tai_lieu: Vec<CuratedDocument>,
    /// Every other compendium document, as one bundle (see [`compendium`]).
    pub bo_phap_dien: Option<compendium::CompendiumLayer>,
}

/// The registries beside a curation file.
pub const VALIDITY_REGISTRY: &str = "validity.toml";
pub const AMENDMENT_REGISTRY: &str = "amendments.toml";

/// Where a document's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `phapdien/phapdien_dieu.jsonl`; `khoa` is the source số hiệu.
    Phapdien,
    /// An ALQAC law file named by `tep_nguon`; `khoa` is the law's `id` there.
    Alqac,
    /// `vanban/vanban_docs.jsonl`; `khoa` is the số hiệu (or the record's `file` when ambiguous).
    Vanban,
    /// Written by hand under `corpus/`; the importer leaves the file alone.
    ThuCong,
    /// An official text held as a whole file (`tep_nguon`, continued by `tep_nguon_noi`): plain
    /// text from the Ministry of Justice's database or Markdown from the official PDF.
    VanBanGoc,
}

/// One curated document. Front-matter fields use the corpus keys (see `corpus/FORMAT.md`); the others
/// tell the importer where the text is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuratedDocument {
    /// Output file name under the corpus directory, e.g. "luat-52-2014-qh13.md".
    pub tep: String,
    pub nguon_du_lieu: SourceKind,
    /// Key of the document in its source (see `SourceKind`).
    pub khoa: Option<String>,
    /// Source file relative to the shared data directory, for `alqac` (e.g. "alqac/law.json") and
    /// `van_ban_goc`.
    pub tep_nguon: Option<String>,
    /// For `van_ban_goc`: files that continue `tep_nguon` (a law held in several parts).
    #[serde(default)]
    pub tep_nguon_noi: Vec<String>,
    /// The number of articles the document has: the import fails when the text gives another count.
    pub so_dieu: Option<usize>,
    /// How articles are cited after "Điều <n> "; defaults to "<ten> số <so_hieu>".
    pub trich_dan_ten: Option<String>,
    /// Keep the compendium's Phần/Chương/Mục headings (default true). Turn off for documents whose
    /// records sit under another document's chapters (decrees codified under their law).
    pub tieu_de_phap_dien: Option<bool>,
    /// Chapter headings set by hand for article ranges, overriding the source.
    #[serde(default)]
    pub sua_chuong: Vec<ChapterOverride>,
    /// Articles missing from the main source taken from an ALQAC file.
    pub bo_sung_alqac: Option<AlqacSupplement>,

    pub so_hieu: String,
    pub ten: Option<String>,
    pub loai_van_ban: Option<String>,
    pub co_quan_ban_hanh: Option<String>,
    pub ngay_ban_hanh: Option<String>,
    pub ngay_hieu_luc: Option<String>,
    pub tinh_trang: Option<String>,
    pub ngay_kiem_tra: Option<String>,
    #[serde(default)]
    pub thay_the: Vec<String>,
    #[serde(default)]
    pub bi_thay_the_boi: Vec<String>,
    #[serde(default)]
    pub sua_doi_bo_sung: Vec<String>,
    #[serde(default)]
    pub duoc_sua_doi_boi: Vec<String>,
    pub pham_vi: Option<String>,
    #[serde(default)]
    pub linh_vuc: Vec<String>,
    pub nguon: Option<String>,
    pub ghi_chu: Option<String>,
    pub cap_nhat_den: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChapterOverride {
    pub tu_dieu: u32,
    pub den_dieu: u32,
    /// Full heading, e.g. "Chương XIV. GIẢI QUYẾT TRANH CHẤP LAO ĐỘNG".
    pub chuong: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlqacSupplement {
    pub tep_nguon: String,
    pub khoa: String,
}

/// What `run_import` did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub documents: Vec<DocumentReport>,
    /// Hand-curated files listed in the curation and left untouched.
    pub hand_curated: Vec<String>,
    /// The compendium layer, when the curation asks for it.
    pub bundle: Option<compendium::BundleReport>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DocumentReport {
    pub file: String,
    pub so_hieu: String,
    pub articles: usize,
    /// Characters of article text (titles and paragraphs), the quantity that drives embedding time.
    pub chars: usize,
    pub source: String,
}

impl ImportReport {
    pub fn total_articles(&self) -> usize {
        self.documents
            .iter()
            .map(|document| document.articles)
            .sum()
    }

    pub fn total_chars(&self) -> usize {
        self.documents.iter().map(|document| document.chars).sum()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "{:<44} {:<18} {:>8} {:>10}  source",
            "file", "số hiệu", "articles", "chars"
        )?;
        for document in &self.documents {
            writeln!(
                formatter,
                "{:<44} {:<18} {:>8} {:>10}  {}",
                document.file, document.so_hieu, document.articles, document.chars, document.source
            )?;
        }
        writeln!(
            formatter,
            "total: {} documents, {} articles, {} characters",
            self.documents.len(),
            self.total_articles(),
            self.total_chars()
        )?;
        for file in &self.hand_curated {
            writeln!(formatter, "hand-curated, left alone: {file}")?;
        }
        if let Some(bundle) = &self.bundle {
            let articles: usize = bundle.documents.iter().map(|d| d.articles).sum();
            let chars: usize = bundle.documents.iter().map(|d| d.chars).sum();
            writeln!(
                formatter,
                "bundle {}: {} documents, {} articles, {} characters; {} documents marked from the validity registry; {} left to the curated files; {} bytes of Markdown in {} bytes",
                bundle.file,
                bundle.documents.len(),
                articles,
                chars,
                bundle.from_registry.len(),
                bundle.curated_elsewhere.len(),
                bundle.markdown_bytes,
                bundle.compressed_bytes
            )?;
        }
        writeln!(formatter, "{} warnings", self.warnings.len())?;
        for warning in &self.warnings {
            writeln!(formatter, "  - {warning}")?;
        }
        Ok(())
    }
}

const PHAPDIEN_FILE: &str = "phapdien/phapdien_dieu.jsonl";
const VANBAN_FILE: &str = "vanban/vanban_docs.jsonl";

/// Reads the curation, imports every non-hand-curated document from `shared_data_dir` and writes it to
/// `out_dir` (write to a temporary file, then rename, so a reader never sees half a file).
pub fn run_import(
    curation_toml: &Path,
    shared_data_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<ImportReport> {
    let curation_text = std::fs::read_to_string(curation_toml)
        .with_context(|| format!("reading {}", curation_toml.display()))?;
    let curation: Curation = toml::from_str(&curation_text)
        .with_context(|| format!("parsing {}", curation_toml.display()))?;
    validate_curation(&curation)?;
    let registry_dir = curation_toml.parent().unwrap_or(Path::new("."));
    let validity = registry::ValidityRegistry::read(&registry_dir.join(VALIDITY_REGISTRY))?;
    let amendments = registry::AmendmentRegistry::read(&registry_dir.join(AMENDMENT_REGISTRY))?;
    check_against_registry(&curation, &validity)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut report = ImportReport::default();
    let wanted_phapdien: BTreeSet<String> = curation
        .tai_lieu
        .iter()
        .filter(|document| document.nguon_du_lieu == SourceKind::Phapdien)
        .filter_map(|document| document.khoa.clone())
        .collect();
    let phapdien_segments = if curation.bo_phap_dien.is_some() {
        phapdien::read_segments(&shared_data_dir.join(PHAPDIEN_FILE), phapdien::Wanted::All)?
    } else if wanted_phapdien.is_empty() {
        phapdien::PhapdienSegments::default()
    } else {
        phapdien::read_segments(
            &shared_data_dir.join(PHAPDIEN_FILE),
            phapdien::Wanted::Only(&wanted_phapdien),
        )?
    };
    report
        .warnings
        .extend(phapdien_segments.warnings.iter().cloned());
    let mut vanban_records: Option<Vec<vanban::VanbanRecord>> = None;
    let mut alqac_files: BTreeMap<String, Vec<alqac::AlqacLaw>> = BTreeMap::new();

    for curated in &curation.tai_lieu {
        if curated.nguon_du_lieu == SourceKind::ThuCong {
            if !out_dir.join(&curated.tep).exists() {
                report
                    .warnings
                    .push(format!("hand-curated file {} is missing", curated.tep));
            }
            report.hand_curated.push(curated.tep.clone());
            continue;
        }
        let key = curated.khoa.clone().unwrap_or_default();
        let citation_name = curated.trich_dan_ten.clone().unwrap_or_else(|| {
            format!(
                "{} số {}",
                curated.ten.as_deref().unwrap_or_default(),
                curated.so_hieu
            )
        });
        let (mut imported, source_label) = match curated.nguon_du_lieu {
            SourceKind::Phapdien => {
                let segments = phapdien_segments
                    .by_so_hieu
                    .get(&key)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let use_headings = curated.tieu_de_phap_dien.unwrap_or(true);
                (
                    phapdien::build_document(segments, &citation_name, use_headings),
                    format!("phapdien {key}"),
                )
            }
            SourceKind::Alqac => {
                let file = curated.tep_nguon.clone().unwrap_or_default();
                let laws = load_alqac(&mut alqac_files, shared_data_dir, &file)?;
                (
                    alqac::build_document(laws, &key, &citation_name)?,
                    format!("{file} {key}"),
                )
            }
            SourceKind::Vanban => {
                if vanban_records.is_none() {
                    let (records, warnings) =
                        vanban::read_records(&shared_data_dir.join(VANBAN_FILE))?;
                    report.warnings.extend(warnings);
                    vanban_records = Some(records);
                }
                let records = vanban_records.as_deref().unwrap_or_default();
                let record = vanban::find_record(records, &key)?;
                (
                    vanban::build_document(record, &citation_name),
                    format!("vanban {key}"),
                )
            }
            SourceKind::VanBanGoc => {
                let mut files: Vec<String> = curated.tep_nguon.iter().cloned().collect();
                files.extend(curated.tep_nguon_noi.iter().cloned());
                let label = files.join(" + ");
                (
                    official::build_document(shared_data_dir, &files, &citation_name)?,
                    label,
                )
            }
            SourceKind::ThuCong => unreachable!("hand-curated documents were handled above"),
        };
        let mut source_label = source_label;
        if let Some(supplement) = &curated.bo_sung_alqac {
            let laws = load_alqac(&mut alqac_files, shared_data_dir, &supplement.tep_nguon)?;
            let extra = alqac::build_document(laws, &supplement.khoa, &citation_name)?;
            let added = merge_missing_articles(&mut imported.articles, extra.articles);
            source_label.push_str(&format!(
                " + {} {} ({added} articles)",
                supplement.tep_nguon, supplement.khoa
            ));
        }
        apply_chapter_overrides(&mut imported.articles, &curated.sua_chuong);
        apply_amendments(&mut imported.articles, &amendments, &curated.so_hieu);
        if let Some(expected) = curated.so_dieu {
            if imported.articles.len() != expected {
                bail!(
                    "{}: the source gives {} articles, the curation expects {expected} (so_dieu)",
                    curated.tep,
                    imported.articles.len()
                );
            }
        }
        if let Some(problem) = heading_order_problem(&imported.articles) {
            imported.warnings.push(format!(
                "{}: compendium chapters out of order ({problem}); headings dropped",
                curated.tep
            ));
            for article in &mut imported.articles {
                article.headings = HeadingPath::default();
            }
        }
        if imported.articles.is_empty() {
            report.warnings.push(format!(
                "{}: no articles imported, file not written",
                curated.tep
            ));
            report.warnings.extend(imported.warnings);
            continue;
        }
        let rendered = render::render_document(curated, &imported.articles);
        imported.warnings.extend(rendered.warnings);
        let path = out_dir.join(&curated.tep);
        write_atomically(&path, rendered.markdown.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        report.documents.push(DocumentReport {
            file: curated.tep.clone(),
            so_hieu: curated.so_hieu.clone(),
            articles: imported.articles.len(),
            chars: article_chars(&imported.articles),
            source: source_label,
        });
        report.warnings.extend(
            imported
                .warnings
                .into_iter()
                .map(|warning| format!("{}: {warning}", curated.tep)),
        );
    }
    if let Some(layer) = &curation.bo_phap_dien {
        let bundle = compendium::write_bundle(
            layer,
            &phapdien_segments,
            &compendium::curated_so_hieu(&curation),
            &validity,
            &amendments,
            out_dir,
            &mut report.warnings,
        )?;
        report.bundle = Some(bundle);
    }
    Ok(report)
}

/// Writes the amendments the registry records for `so_hieu` into its articles, and reports an
/// amendment of an article the document does not have as an error (a mistyped number would
/// otherwise silently drop a notice).
fn apply_amendments(
    articles: &mut [Article],
    amendments: &registry::AmendmentRegistry,
    so_hieu: &str,
) {
    let mut by_article = amendments.for_document(so_hieu);
    for article in articles.iter_mut() {
        if let Some(found) = by_article.remove(&article.number.to_lowercase()) {
            article.amendments = found;
        }
    }
}

/// A curated document the validity registry lists as replaced must not be curated as in force.
fn check_against_registry(
    curation: &Curation,
    validity: &registry::ValidityRegistry,
) -> anyhow::Result<()> {
    for document in &curation.tai_lieu {
        let Some(entry) = validity.get(&document.so_hieu) else {
            continue;
        };
        let curated = document.tinh_trang.as_deref().unwrap_or_default();
        if entry.tinh_trang == "het_hieu_luc" && curated != "het_hieu_luc" {
            bail!(
                "curation: {}: the validity registry says {} was replaced ({}), the curation says {curated}",
                document.tep,
                document.so_hieu,
                entry.can_cu
            );
        }
    }
    Ok(())
}

fn load_alqac<'a>(
    cache: &'a mut BTreeMap<String, Vec<alqac::AlqacLaw>>,
    shared_data_dir: &Path,
    file: &str,
) -> anyhow::Result<&'a [alqac::AlqacLaw]> {
    if !cache.contains_key(file) {
        let laws = alqac::read_laws(&shared_data_dir.join(file))?;
        cache.insert(file.to_string(), laws);
    }
    Ok(cache.get(file).map(Vec::as_slice).unwrap_or_default())
}

/// Adds the articles whose number the main source lacks, keeping number order; returns how many.
fn merge_missing_articles(articles: &mut Vec<Article>, extra: Vec<Article>) -> usize {
    let present: BTreeSet<(u32, String)> = articles
        .iter()
        .map(|article| text::article_sort_key(&article.number))
        .collect();
    let before = articles.len();
    articles.extend(
        extra
            .into_iter()
            .filter(|article| !present.contains(&text::article_sort_key(&article.number))),
    );
    articles.sort_by_key(|article| text::article_sort_key(&article.number));
    articles.len() - before
}

/// Sets the chapter of the articles in each range. The Mục is kept: in the case this exists for (Bộ luật
/// Lao động, whose Chương XI the compendium files under Chương X) the sections are right and only the
/// chapter is wrong; articles taken from ALQAC have no Mục anyway.
fn apply_chapter_overrides(articles: &mut [Article], overrides: &[ChapterOverride]) {
    for article in articles {
        let number = text::article_sort_key(&article.number).0;
        if let Some(chapter) = overrides
            .iter()
            .find(|range| range.tu_dieu <= number && number <= range.den_dieu)
        {
            article.headings.chuong = Some(chapter.chuong.clone());
        }
    }
}

/// The compendium files a few articles under another document's chapters; when chapter numbers go
/// backwards in article order the headings would mislead, so the caller drops them.
fn heading_order_problem(articles: &[Article]) -> Option<String> {
    let mut previous: Option<(u32, &str)> = None;
    for article in articles {
        let Some(chapter) = article.headings.chuong.as_deref() else {
            continue;
        };
        let numeral = chapter
            .trim_start_matches("Chương ")
            .split(['.', ' '])
            .next()
            .unwrap_or("");
        let Some(value) = text::roman_value(numeral) else {
            return Some(format!(
                "Điều {}: chapter {chapter:?} has no Roman numeral",
                article.number
            ));
        };
        if let Some((previous_value, previous_number)) = previous {
            if value < previous_value {
                return Some(format!(
                    "Điều {} after Điều {previous_number}",
                    article.number
                ));
            }
        }
        previous = Some((value, &article.number));
    }
    None
}

fn article_chars(articles: &[Article]) -> usize {
    articles
        .iter()
        .map(|article| {
            article.title.chars().count()
                + article
                    .paragraphs
                    .iter()
                    .map(|p| p.chars().count())
                    .sum::<usize>()
        })
        .sum()
}

const STATUSES: [&str; 5] = [
    "con_hieu_luc",
    "het_hieu_luc_mot_phan",
    "het_hieu_luc",
    "chua_co_hieu_luc",
    "theo_phap_dien",
];

/// The curation is written by people; mistakes in it are errors (not warnings), because they would
/// publish wrong metadata.
fn validate_curation(curation: &Curation) -> anyhow::Result<()> {
    let mut files = BTreeSet::new();
    for document in &curation.tai_lieu {
        let name = &document.tep;
        if !files.insert(name.clone()) {
            bail!("curation: file {name} is listed twice");
        }
        if name.contains('/') || !name.ends_with(".md") {
            bail!("curation: {name}: tep must be a plain .md file name");
        }
        if document.nguon_du_lieu == SourceKind::ThuCong {
            continue;
        }
        let required = [
            ("khoa", &document.khoa),
            ("ten", &document.ten),
            ("loai_van_ban", &document.loai_van_ban),
            ("co_quan_ban_hanh", &document.co_quan_ban_hanh),
            ("ngay_ban_hanh", &document.ngay_ban_hanh),
            ("tinh_trang", &document.tinh_trang),
            ("pham_vi", &document.pham_vi),
            ("nguon", &document.nguon),
        ];
        for (key, value) in required {
            if value.as_deref().is_none_or(|value| value.trim().is_empty()) {
                bail!("curation: {name}: {key} is required");
            }
        }
        if matches!(
            document.nguon_du_lieu,
            SourceKind::Alqac | SourceKind::VanBanGoc
        ) && document.tep_nguon.is_none()
        {
            bail!("curation: {name}: tep_nguon is required for alqac and van_ban_goc");
        }
        if document.linh_vuc.is_empty() {
            bail!("curation: {name}: linh_vuc is required");
        }
        for (key, value) in [
            ("ngay_ban_hanh", &document.ngay_ban_hanh),
            ("ngay_hieu_luc", &document.ngay_hieu_luc),
            ("ngay_kiem_tra", &document.ngay_kiem_tra),
            ("cap_nhat_den", &document.cap_nhat_den),
        ] {
            if let Some(date) = value {
                chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").with_context(|| {
                    format!("curation: {name}: {key} {date:?} is not YYYY-MM-DD")
                })?;
            }
        }
        let status = document.tinh_trang.as_deref().unwrap_or_default();
        if !STATUSES.contains(&status) {
            bail!("curation: {name}: tinh_trang {status:?} is not one of {STATUSES:?}");
        }
        if status == "het_hieu_luc" && document.bi_thay_the_boi.is_empty() {
            bail!("curation: {name}: an expired document needs bi_thay_the_boi");
        }
        let scope = document.pham_vi.as_deref().unwrap_or_default();
        if scope != "toan_quoc" && !scope.starts_with("tinh:") {
            bail!("curation: {name}: pham_vi must be toan_quoc or tinh:<slug>");
        }
        for value in [&document.ten, &document.ghi_chu, &document.nguon]
            .into_iter()
            .flatten()
        {
            if value.contains('\n') || value.starts_with('[') || value.starts_with('"') {
                bail!("curation: {name}: front-matter values must be one line and not start with [ or \"");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

    fn article(number: &str, chapter: Option<&str>) -> Article {
        Article {
            number: number.into(),
            title: "T".into(),
            paragraphs: vec!["Nội dung.".into()],
            phapdien_id: None,
            trich_dan: None,
            de_muc: None,
            amendments: Vec::new(),
            headings: HeadingPath {
                phan: None,
                chuong: chapter.map(Into::into),
                muc: None,
            },
        }
    }

    #[test]
    fn chapters_going_backwards_are_detected() {
        let in_order = [
            article("1", Some("Chương I. A")),
            article("2", Some("Chương II. B")),
        ];
        assert_eq!(heading_order_problem(&in_order), None);
        let backwards = [
            article("1", Some("Chương III. C")),
            article("2", Some("Chương I. A")),
        ];
        assert!(heading_order_problem(&backwards).is_some());
    }

    #[test]
    fn supplement_fills_only_missing_numbers() {
        let mut articles = vec![article("1", None), article("3", None)];
        let added =
            merge_missing_articles(&mut articles, vec![article("2", None), article("3", None)]);
        assert_eq!(added, 1);
        let numbers: Vec<&str> = articles.iter().map(|a| a.number.as_str()).collect();
        assert_eq!(numbers, ["1", "2", "3"]);
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn import_is_deterministic_and_atomic() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let curation = directory.path().join("curation.toml");
        std::fs::write(
            &curation,
            r#"
[[tai_lieu]]
tep = "luat-35-2013-qh13.md"
nguon_du_lieu = "phapdien"
khoa = "35/2013/QH13"
so_hieu = "35/2013/QH13"
ten = "Luật Hòa giải ở cơ sở"
loai_van_ban = "Luật"
co_quan_ban_hanh = "Quốc hội"
ngay_ban_hanh = "2013-06-20"
ngay_hieu_luc = "2014-01-01"
tinh_trang = "con_hieu_luc"
pham_vi = "toan_quoc"
linh_vuc = ["hoa-giai-co-so"]
nguon = "test"

[[tai_lieu]]
tep = "ke-hoach.md"
nguon_du_lieu = "thu_cong"
so_hieu = "137/KH-UBND"
"#,
        )
        .expect("write curation");
        let first_dir = directory.path().join("a");
        let second_dir = directory.path().join("b");
        let report =
            run_import(&curation, Path::new(SHARED_DATA), &first_dir).expect("import runs");
        run_import(&curation, Path::new(SHARED_DATA), &second_dir).expect("import runs again");
        let first = std::fs::read(first_dir.join("luat-35-2013-qh13.md")).expect("written");
        let second = std::fs::read(second_dir.join("luat-35-2013-qh13.md")).expect("written");
        assert_eq!(first, second);
        assert_eq!(report.documents.len(), 1);
        assert_eq!(report.documents[0].articles, 33);
        assert!(report
            .warnings
            .iter()
            .any(|warning| warning.contains("ke-hoach.md is missing")));
        let names: Vec<String> = std::fs::read_dir(&first_dir)
            .expect("listable")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["luat-35-2013-qh13.md"],
            "no temporary file is left behind"
        );
        let text = String::from_utf8(first).expect("utf-8");
        assert!(text.starts_with("---\nso_hieu: 35/2013/QH13\nten: Luật Hòa giải ở cơ sở\n"));
        assert!(
            text.contains("\n### Điều 1. Phạm vi điều chỉnh\n<!-- phapdien_id: hoa-giai-o-co-so::")
        );
    }

    #[test]
    fn curation_mistakes_are_errors() {
        let bad: Curation = toml::from_str(
            r#"
[[tai_lieu]]
tep = "x.md"
nguon_du_lieu = "phapdien"
khoa = "1/2000/QH10"
so_hieu = "1/2000/QH10"
ten = "Luật X"
loai_van_ban = "Luật"
co_quan_ban_hanh = "Quốc hội"
ngay_ban_hanh = "20/06/2013"
tinh_trang = "con_hieu_luc"
pham_vi = "toan_quoc"
linh_vuc = ["dan-su"]
nguon = "test"
"#,
        )
        .expect("parses");
        assert!(
            validate_curation(&bad).is_err(),
            "a dd/mm/yyyy date is refused"
        );
        assert!(toml::from_str::<Curation>("[[tai_lieu]]\ntep = \"x.md\"\nnguon_du_lieu = \"thu_cong\"\nso_hieu = \"1\"\nkhong_co = 1\n").is_err());
    }

    /// The 2024 land, housing and traffic laws import through the real curation with the article
    /// counts it states (`so_dieu`, checked by `run_import`), and the registry's amendments land in
    /// the articles they name.
    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn the_2024_laws_import_with_their_article_counts_and_amendments() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let curation_text =
            std::fs::read_to_string(corpus.join("curation.toml")).expect("curation readable");
        let blocks: Vec<&str> = curation_text
            .split("[[tai_lieu]]")
            .skip(1)
            .map(|block| block.split("\n[bo_phap_dien]").next().unwrap_or(block))
            .filter(|block| block.contains("nguon_du_lieu = \"van_ban_goc\""))
            .collect();
        assert_eq!(blocks.len(), 14, "the 14 documents of laws-2024/");
        let directory = tempfile::tempdir().expect("temporary directory");
        let curation = directory.path().join("curation.toml");
        let text: String = blocks
            .iter()
            .map(|block| format!("[[tai_lieu]]{block}"))
            .collect();
        std::fs::write(&curation, text).expect("write curation");
        for registry in [VALIDITY_REGISTRY, AMENDMENT_REGISTRY] {
            std::fs::copy(corpus.join(registry), directory.path().join(registry))
                .expect("copy registry");
        }
        let out = directory.path().join("out");
        let report = run_import(&curation, Path::new(SHARED_DATA), &out).expect("import runs");
        let counts: BTreeMap<&str, usize> = report
            .documents
            .iter()
            .map(|document| (document.so_hieu.as_str(), document.articles))
            .collect();
        for (so_hieu, articles) in [
            ("31/2024/QH15", 260),
            ("27/2023/QH15", 198),
            ("36/2024/QH15", 89),
            ("35/2024/QH15", 86),
            ("168/2024/NĐ-CP", 55),
            ("79/2024/TT-BCA", 40),
        ] {
            assert_eq!(counts[so_hieu], articles, "{so_hieu}");
        }
        let decree =
            std::fs::read_to_string(out.join("nghi-dinh-168-2024-nd-cp.md")).expect("written");
        let dieu_7 = &decree[decree.find("### Điều 7.").expect("Điều 7")..];
        let dieu_7 = &dieu_7[..dieu_7.find("### Điều 8.").expect("Điều 8")];
        assert!(
            dieu_7.contains("<!-- sua_doi: 238/2026/NĐ-CP | 2026-08-15 |"),
            "Điều 7 of Nghị định 168/2024 records its amendment by Nghị định 238/2026"
        );
        let land = std::fs::read_to_string(out.join("luat-31-2024-qh15.md")).expect("written");
        assert!(
            land.contains("ngay_hieu_luc: 2024-08-01"),
            "Luật Đất đai took effect on 01/8/2024"
        );
        assert!(land.contains("thay_the: [45/2013/QH13]"));
    }

    #[test]
    fn a_curated_document_the_registry_lists_as_replaced_cannot_be_in_force() {
        let curation: Curation = toml::from_str(
            r#"
[[tai_lieu]]
tep = "luat-81-2006-qh11.md"
nguon_du_lieu = "phapdien"
khoa = "81/2006/QH11"
so_hieu = "81/2006/QH11"
ten = "Luật Cư trú"
loai_van_ban = "Luật"
co_quan_ban_hanh = "Quốc hội"
ngay_ban_hanh = "2006-11-29"
tinh_trang = "con_hieu_luc"
pham_vi = "toan_quoc"
linh_vuc = ["cu-tru"]
nguon = "test"
"#,
        )
        .expect("parses");
        let registry: registry::ValidityRegistry = toml::from_str(
            "[[van_ban]]\nso_hieu = \"81/2006/QH11\"\nten = \"Luật Cư trú 2006\"\ntinh_trang = \"het_hieu_luc\"\nbi_thay_the_boi = [\"68/2020/QH14\"]\ntu_ngay = \"2021-07-01\"\ncan_cu = \"Khoản 2 Điều 38 Luật Cư trú số 68/2020/QH14\"\nngay_kiem_tra = \"2026-12-05\"\n",
        )
        .expect("parses");
        let error = check_against_registry(&curation, &registry).expect_err("refused");
        assert!(error.to_string().contains("68/2020/QH14"), "{error}");
    }
}
