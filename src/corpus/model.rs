//! The typed tree of a legal document: metadata from the front matter, then articles (Điều) or
//! plan sections, each with clauses (Khoản) and points (Điểm).

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;

/// One legal document of the corpus, as parsed from one Markdown file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub meta: Metadata,
    /// Paragraphs before the first article (preamble, căn cứ). Kept for display, not indexed.
    pub preamble: Vec<String>,
    pub articles: Vec<Article>,
    /// Path of the source file relative to the corpus directory, for diagnostics and provenance;
    /// `<bundle>.md.zst:<file>` for a document of a bundle.
    pub source_file: String,
}

impl Document {
    /// Whether the document comes from a compressed bundle (the compendium layer) rather than a
    /// loose file of the curated core.
    pub fn is_bundled(&self) -> bool {
        self.source_file
            .contains(&format!("{}:", super::load::BUNDLE_EXTENSION))
    }
}

/// Front matter of a document. Field names follow the Vietnamese terms of `corpus/FORMAT.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub so_hieu: String,
    pub ten: String,
    pub loai_van_ban: String,
    pub co_quan_ban_hanh: String,
    pub ngay_ban_hanh: NaiveDate,
    pub ngay_hieu_luc: Option<NaiveDate>,
    pub tinh_trang: Validity,
    pub ngay_kiem_tra: Option<NaiveDate>,
    pub thay_the: Vec<String>,
    pub bi_thay_the_boi: Vec<String>,
    pub sua_doi_bo_sung: Vec<String>,
    pub duoc_sua_doi_boi: Vec<String>,
    pub pham_vi: Scope,
    pub linh_vuc: Vec<String>,
    pub nguon: String,
    pub ghi_chu: Option<String>,
    /// For documents taken from the Bộ Pháp điển without a reviewed status
    /// ([`Validity::PerCompendium`]): the date the compendium snapshot is current to.
    pub cap_nhat_den: Option<NaiveDate>,
}

impl Metadata {
    /// "Luật Hôn nhân và gia đình số 52/2014/QH13": how Vietnamese texts cite a document.
    pub fn citation_title(&self) -> String {
        format!("{} số {}", self.ten, self.so_hieu)
    }

    /// The validity as shown to users. For a compendium document whose status nobody reviewed, this
    /// names the source and its date instead of claiming "còn hiệu lực".
    pub fn validity_label(&self) -> String {
        match (self.tinh_trang, self.cap_nhat_den) {
            (Validity::PerCompendium, Some(date)) => format!(
                "{}, cập nhật đến {}",
                Validity::PerCompendium.label(),
                date.format("%d/%m/%Y")
            ),
            (validity, _) => validity.label().to_owned(),
        }
    }
}

/// Validity status (tình trạng hiệu lực) of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    InForce,
    PartlyExpired,
    Expired,
    NotYetInForce,
    /// Taken from the Bộ Pháp điển, which records no validity per document, and not listed as
    /// replaced in the reviewed registry (`corpus/validity.toml`): searched and quoted, but labelled
    /// with its source and snapshot date rather than as verified "còn hiệu lực".
    PerCompendium,
}

impl Validity {
    pub const ALL: [Validity; 5] = [
        Validity::InForce,
        Validity::PartlyExpired,
        Validity::Expired,
        Validity::NotYetInForce,
        Validity::PerCompendium,
    ];

    /// The slug used in front matter and in the index payload.
    pub fn slug(self) -> &'static str {
        match self {
            Validity::InForce => "con_hieu_luc",
            Validity::PartlyExpired => "het_hieu_luc_mot_phan",
            Validity::Expired => "het_hieu_luc",
            Validity::NotYetInForce => "chua_co_hieu_luc",
            Validity::PerCompendium => "theo_phap_dien",
        }
    }

    /// The wording shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Validity::InForce => "Còn hiệu lực",
            Validity::PartlyExpired => "Hết hiệu lực một phần",
            Validity::Expired => "Hết hiệu lực",
            Validity::NotYetInForce => "Chưa có hiệu lực",
            Validity::PerCompendium => "Theo Bộ Pháp điển",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Validity> {
        Validity::ALL.into_iter().find(|v| v.slug() == slug)
    }

    /// Whether an answer may rest on a text with this status without a warning.
    pub fn is_applicable(self) -> bool {
        matches!(
            self,
            Validity::InForce | Validity::PartlyExpired | Validity::PerCompendium
        )
    }
}

/// Territorial scope (phạm vi) of a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    National,
    Province(String),
}

impl Scope {
    pub fn parse(value: &str) -> Option<Scope> {
        if value == "toan_quoc" {
            return Some(Scope::National);
        }
        let slug = value.strip_prefix("tinh:")?;
        let valid = !slug.is_empty()
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        valid.then(|| Scope::Province(slug.to_owned()))
    }

    /// The slug stored in the index payload: `toan_quoc` or `tinh:<slug>`.
    pub fn slug(&self) -> String {
        match self {
            Scope::National => "toan_quoc".to_owned(),
            Scope::Province(slug) => format!("tinh:{slug}"),
        }
    }
}

/// Whether the citable unit is a numbered article (Điều) or a plan's Roman-numeral section (Mục).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    Article,
    Section,
}

/// The headings an article sits under.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headings {
    pub phan: Option<String>,
    pub chuong: Option<String>,
    pub muc: Option<String>,
}

/// One article (Điều) or plan section: the unit every citation points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub kind: UnitKind,
    /// "8", "10a", or a Roman numeral for sections.
    pub number: String,
    pub title: String,
    /// 1-based line of the heading in the source file.
    pub line: usize,
    pub headings: Headings,
    /// Paragraphs before the first clause (or the whole body when there are no clauses).
    pub intro: Vec<String>,
    pub clauses: Vec<Clause>,
    /// `<!-- key: value -->` attributes, e.g. `phapdien_id`, `trich_dan`.
    pub attributes: BTreeMap<String, String>,
    /// Later documents that changed this article (`<!-- sua_doi: … -->`, one line each): an answer
    /// quoting it must say so, because the text here is the wording as first issued.
    pub amendments: Vec<Amendment>,
}

/// One recorded change to an article by a later document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    /// Số hiệu of the amending document, e.g. "238/2026/NĐ-CP".
    pub by: String,
    /// When the change takes effect, when known.
    pub effective: Option<NaiveDate>,
    /// What changed, in the amending document's words: "khoản 2, khoản 3 Điều 19: bổ sung cụm từ …".
    pub detail: String,
}

impl Amendment {
    /// The attribute value: `<by> | <YYYY-MM-DD or empty> | <detail>`.
    pub fn parse(value: &str) -> Option<Amendment> {
        let mut parts = value.splitn(3, '|').map(str::trim);
        let by = parts.next().filter(|by| !by.is_empty())?.to_owned();
        let date = parts.next().unwrap_or_default();
        let effective = if date.is_empty() {
            None
        } else {
            Some(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?)
        };
        let detail = parts.next().unwrap_or_default().to_owned();
        Some(Amendment {
            by,
            effective,
            detail,
        })
    }

    /// The inverse of [`Amendment::parse`].
    pub fn to_attribute(&self) -> String {
        format!(
            "{} | {} | {}",
            self.by,
            self.effective
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            self.detail
        )
    }
}

impl Article {
    /// "Điều 8" or "Mục II".
    pub fn label(&self) -> String {
        match self.kind {
            UnitKind::Article => format!("Điều {}", self.number),
            UnitKind::Section => format!("Mục {}", self.number),
        }
    }

    /// The article heading as printed in the law: "Điều 8. Điều kiện kết hôn".
    pub fn heading(&self) -> String {
        if self.title.is_empty() {
            self.label()
        } else {
            format!("{}. {}", self.label(), self.title)
        }
    }

    /// The body as plain text with one clause or point per line, as in the source.
    pub fn body_text(&self) -> String {
        let mut lines: Vec<String> = self.intro.clone();
        for clause in &self.clauses {
            lines.push(clause.text());
        }
        lines.join("\n")
    }
}

/// One clause (Khoản) "1." with its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub number: String,
    /// Text of the clause before its points, without the leading "1. ".
    pub lead: Vec<String>,
    pub points: Vec<Point>,
}

impl Clause {
    /// The clause as printed, points included, one per line.
    pub fn text(&self) -> String {
        let mut lines = vec![format!("{}. {}", self.number, self.lead.join("\n"))];
        for point in &self.points {
            lines.push(point.text());
        }
        lines.join("\n")
    }
}

/// One point (Điểm) "a)".
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub letter: String,
    pub paragraphs: Vec<String>,
}

impl Point {
    pub fn text(&self) -> String {
        format!("{}) {}", self.letter, self.paragraphs.join("\n"))
    }
}

/// How serious a diagnostic is: errors make `hoiluat corpus check` fail and keep the document out
/// of the index; warnings are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A problem found in a corpus file, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}:{}: {level}: {}", self.file, self.line, self.message)
    }
}
