//! Importer for the national codified compendium (`phapdien/phapdien_dieu.jsonl`): regroups the codified
//! articles by the source document they come from (`source.so_hieu`) and numbers them by the source
//! article number, so that the corpus cites "Điều 8 Luật Hôn nhân và gia đình", not a compendium code.
//!
//! The compendium pages were scraped into one record per codified article, but some records run on into
//! the following articles: either as a compendium block "Điều 12.1.LQ.44. <title>\n\n(Điều 44 Luật số
//! 59/2020/QH14, …)\n\n<text>", or as a plain "Điều 33. <title>" paragraph. Rather than cutting that text
//! away, both forms are split off into articles of their own (the block carries its own source citation,
//! so it may even belong to another document). When two pieces map to the same source article, the one
//! that is a record of its own wins, then the longer one; the loser is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::text::{self, HeadingKind};
use super::{Article, HeadingPath, ImportedDocument};

/// One line of `phapdien_dieu.jsonl`, with every field optional so that a malformed record is skipped
/// with a warning instead of failing the import.
#[derive(Debug, Deserialize)]
struct Record {
    id: Option<String>,
    dieu_title: Option<String>,
    de_muc: Option<String>,
    de_muc_slug: Option<String>,
    chu_de_slug: Option<String>,
    phapdien_chu_de_no: Option<u32>,
    phapdien_de_muc_no: Option<u32>,
    phan: Option<String>,
    chuong: Option<String>,
    muc: Option<String>,
    source: Option<Source>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Source {
    raw: Option<String>,
    unit: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::jsonutil::optional_string_or_number"
    )]
    unit_no: Option<String>,
    so_hieu: Option<String>,
    loai_van_ban: Option<String>,
    co_quan_ban_hanh: Option<String>,
    ngay_ban_hanh: Option<String>,
    ngay_hieu_luc: Option<String>,
}

/// One source article recovered from the compendium: a whole record, or a piece split off a record.
#[derive(Debug, Clone)]
pub struct Segment {
    pub so_hieu: String,
    pub number: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub phapdien_id: Option<String>,
    pub headings: HeadingPath,
    /// True when this is the record's own article (not a piece split off its text).
    pub is_record: bool,
    /// The compendium topic (đề mục) the record is filed under, e.g. "Hôn nhân và gia đình".
    pub de_muc: Option<String>,
    /// The record the segment was read from, for reports.
    pub record_id: String,
}

/// Segments of the wanted documents, grouped by số hiệu, plus what was skipped on the way.
#[derive(Debug, Default)]
pub struct PhapdienSegments {
    pub by_so_hieu: BTreeMap<String, Vec<Segment>>,
    /// What the records say about each wanted document (for front matter the curation does not give).
    pub facts: BTreeMap<String, DocumentFacts>,
    pub warnings: Vec<String>,
}

/// Document-level facts gathered from the source citations of a document's records. The first
/// non-empty value met is kept for each field; `citations` keeps every distinct raw citation.
#[derive(Debug, Default, Clone)]
pub struct DocumentFacts {
    pub loai_van_ban: Option<String>,
    pub co_quan_ban_hanh: Option<String>,
    /// As in the data: dd/mm/yyyy.
    pub ngay_ban_hanh: Option<String>,
    pub ngay_hieu_luc: Option<String>,
    /// Compendium topics (chủ đề slugs) the document's articles are filed under, in first-seen order.
    pub topics: Vec<String>,
    /// Distinct raw source citations ("(Điều 1 Luật số 32/2004/QH11 An ninh Quốc gia ngày …)").
    pub citations: BTreeSet<String>,
}

impl DocumentFacts {
    fn absorb(&mut self, record: &Record, source: &Source) {
        fn keep(slot: &mut Option<String>, value: &Option<String>) {
            if slot.is_none() {
                *slot = value.clone().filter(|value| !value.trim().is_empty());
            }
        }
        keep(&mut self.loai_van_ban, &source.loai_van_ban);
        keep(&mut self.co_quan_ban_hanh, &source.co_quan_ban_hanh);
        keep(&mut self.ngay_ban_hanh, &source.ngay_ban_hanh);
        keep(&mut self.ngay_hieu_luc, &source.ngay_hieu_luc);
        if let Some(topic) = &record.chu_de_slug {
            if !self.topics.contains(topic) {
                self.topics.push(topic.clone());
            }
        }
        if let Some(raw) = &source.raw {
            self.citations.insert(raw.clone());
        }
    }
}

/// Which documents [`read_segments`] keeps.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    /// Every source document of the compendium.
    All,
    /// These số hiệu, as written in the data, e.g. "52/2014/QH13".
    Only(&'a BTreeSet<String>),
}

impl Wanted<'_> {
    fn contains(&self, so_hieu: &str) -> bool {
        match self {
            Wanted::All => !so_hieu.is_empty(),
            Wanted::Only(set) => set.contains(so_hieu),
        }
    }
}

/// Reads the compendium and keeps the segments whose source document is wanted.
pub fn read_segments(jsonl_path: &Path, wanted: Wanted<'_>) -> anyhow::Result<PhapdienSegments> {
    let file = std::fs::File::open(jsonl_path)
        .with_context(|| format!("opening {}", jsonl_path.display()))?;
    let mut result = PhapdienSegments::default();
    let mut ignored_other_documents: BTreeMap<String, usize> = BTreeMap::new();
    for (line_index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", jsonl_path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(&line) {
            Ok(record) => record,
            Err(error) => {
                result.warnings.push(format!(
                    "phapdien line {}: unreadable record skipped: {error}",
                    line_index + 1
                ));
                continue;
            }
        };
        // Cheap pre-filter: a record matters if its own document is wanted or its text embeds a wanted one.
        let own_so_hieu = record
            .source
            .as_ref()
            .and_then(|source| source.so_hieu.clone())
            .unwrap_or_default();
        let text_mentions_wanted = match wanted {
            Wanted::All => true,
            Wanted::Only(set) => record
                .text
                .as_deref()
                .is_some_and(|text| set.iter().any(|so_hieu| text.contains(so_hieu.as_str()))),
        };
        if !wanted.contains(&own_so_hieu) && !text_mentions_wanted {
            continue;
        }
        if wanted.contains(&own_so_hieu) {
            if let Some(source) = &record.source {
                result
                    .facts
                    .entry(own_so_hieu.clone())
                    .or_default()
                    .absorb(&record, source);
            }
        }
        let mut warnings = Vec::new();
        for segment in segments_from_record(&record, &mut warnings) {
            if wanted.contains(&segment.so_hieu) {
                result
                    .by_so_hieu
                    .entry(segment.so_hieu.clone())
                    .or_default()
                    .push(segment);
            } else if wanted.contains(&own_so_hieu) {
                *ignored_other_documents
                    .entry(segment.so_hieu.clone())
                    .or_default() += 1;
            }
        }
        if wanted.contains(&own_so_hieu) {
            result.warnings.extend(warnings);
        }
    }
    if !ignored_other_documents.is_empty() {
        let listing: Vec<String> = ignored_other_documents
            .iter()
            .map(|(so_hieu, count)| format!("{so_hieu} ×{count}"))
            .collect();
        result.warnings.push(format!(
            "phapdien: articles of unselected documents found inside selected records were left out: {}",
            listing.join(", ")
        ));
    }
    Ok(result)
}

/// Splits one record into the source articles it holds. Records that are not articles ("Mục", missing
/// source) give nothing and a warning.
fn segments_from_record(record: &Record, warnings: &mut Vec<String>) -> Vec<Segment> {
    let record_id = record.id.clone().unwrap_or_else(|| "<no id>".to_string());
    let Some(source) = &record.source else {
        warnings.push(format!("phapdien {record_id}: no source citation, skipped"));
        return Vec::new();
    };
    let (Some(so_hieu), Some(number)) = (&source.so_hieu, &source.unit_no) else {
        warnings.push(format!(
            "phapdien {record_id}: source without số hiệu or article number, skipped"
        ));
        return Vec::new();
    };
    let unit = source.unit.as_deref().unwrap_or("");
    if unit != "Điều" {
        warnings.push(format!(
            "phapdien {record_id}: source unit is {unit:?}, not an article, skipped"
        ));
        return Vec::new();
    }
    let number = text::squash_spaces(number).to_lowercase();
    if !text::is_article_number(&number) {
        warnings.push(format!(
            "phapdien {record_id}: article number {number:?} not understood, skipped"
        ));
        return Vec::new();
    }
    // The structured fields and the citation they were parsed from should agree; say so when they do not.
    if let Some(citation) = source.raw.as_deref().and_then(parse_source_citation) {
        if citation.number != number || citation.so_hieu != *so_hieu {
            warnings.push(format!(
                "phapdien {record_id}: source fields say Điều {number} {so_hieu} but the citation reads {:?}",
                citation.cleaned
            ));
        }
    }
    let Some(raw_text) = record
        .text
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    else {
        warnings.push(format!("phapdien {record_id}: empty text, skipped"));
        return Vec::new();
    };
    let cleaned = text::strip_related_notes(&text::normalize(raw_text));
    let code_prefix = match (record.phapdien_chu_de_no, record.phapdien_de_muc_no) {
        (Some(chu_de), Some(de_muc)) => Some(format!("{chu_de}.{de_muc}.")),
        _ => None,
    };

    let mut segments = Vec::new();
    let mut running_headings = HeadingPath {
        phan: record.phan.as_deref().map(clean_heading),
        chuong: record.chuong.as_deref().map(clean_heading),
        muc: record.muc.as_deref().map(clean_heading),
    };
    let pieces = split_compendium_blocks(&cleaned);
    for piece in &pieces {
        let (segment_so_hieu, segment_number, title, phapdien_id, is_record) = match &piece.block {
            None => (
                so_hieu.clone(),
                number.clone(),
                text::squash_spaces(&text::normalize(record.dieu_title.as_deref().unwrap_or(""))),
                record.id.clone(),
                true,
            ),
            Some(block) => {
                let Some(citation) = parse_source_citation(&block.raw) else {
                    warnings.push(format!(
                        "phapdien {record_id}: embedded article {} has an unreadable citation {:?}, dropped",
                        block.code, block.raw
                    ));
                    continue;
                };
                if citation.unit != "Điều" {
                    continue;
                }
                // The block's own compendium id follows the record's pattern when it sits in the same đề mục.
                let same_de_muc = code_prefix
                    .as_deref()
                    .is_some_and(|prefix| block.code.starts_with(prefix));
                let phapdien_id = match (&record.de_muc_slug, same_de_muc) {
                    (Some(slug), true) => Some(format!("{slug}::{}", block.code)),
                    _ => None,
                };
                (
                    citation.so_hieu,
                    citation.number,
                    block.title.clone(),
                    phapdien_id,
                    false,
                )
            }
        };
        let mut paragraphs = text::paragraphs(&text::unglue_heading_labels(&piece.body));
        let trailing_headings = text::take_trailing_headings(&mut paragraphs);
        // Headings in the text belong to the record's document; a block of another document gets none.
        let headings_for_this = if segment_so_hieu == *so_hieu {
            running_headings.clone()
        } else {
            HeadingPath::default()
        };

        // A plain "Điều N+1. Title" paragraph inside the text is the next article run on: split it off.
        let mut current_number = segment_number.clone();
        let mut current_title = title;
        let mut current_id = phapdien_id;
        let mut current_is_record = is_record;
        let mut current_paragraphs: Vec<String> = Vec::new();
        for paragraph in paragraphs {
            if let Some((next_number, next_title)) = text::article_heading(&paragraph) {
                let expected = text::article_sort_key(&current_number).0.saturating_add(1);
                if text::article_sort_key(&next_number) == (expected, String::new())
                    && !next_title.is_empty()
                {
                    warnings.push(format!(
                        "phapdien {record_id}: text of Điều {current_number} ran on into Điều {next_number}; split off"
                    ));
                    segments.push(Segment {
                        so_hieu: segment_so_hieu.clone(),
                        number: current_number,
                        title: current_title,
                        paragraphs: text::split_clauses_and_points(&current_paragraphs),
                        phapdien_id: current_id,
                        headings: headings_for_this.clone(),
                        is_record: current_is_record,
                        de_muc: record.de_muc.clone(),
                        record_id: record_id.clone(),
                    });
                    current_number = next_number;
                    current_title = next_title;
                    current_id = None;
                    current_is_record = false;
                    current_paragraphs = Vec::new();
                    continue;
                }
            }
            current_paragraphs.push(paragraph);
        }
        segments.push(Segment {
            so_hieu: segment_so_hieu.clone(),
            number: current_number,
            title: current_title,
            paragraphs: text::split_clauses_and_points(&current_paragraphs),
            phapdien_id: current_id,
            headings: headings_for_this,
            is_record: current_is_record,
            de_muc: record.de_muc.clone(),
            record_id: record_id.clone(),
        });
        if segment_so_hieu == *so_hieu || piece.block.is_none() {
            apply_headings(&mut running_headings, &trailing_headings);
        }
    }
    segments
}

fn clean_heading(heading: &str) -> String {
    text::squash_spaces(&text::normalize(heading))
}

/// Updates the heading path with headings met in the text: a new Phần resets Chương and Mục, a new
/// Chương resets Mục.
fn apply_headings(path: &mut HeadingPath, headings: &[(HeadingKind, String)]) {
    for (kind, heading) in headings {
        match kind {
            HeadingKind::Phan => {
                path.phan = Some(heading.clone());
                path.chuong = None;
                path.muc = None;
            }
            HeadingKind::Chuong => {
                path.chuong = Some(heading.clone());
                path.muc = None;
            }
            HeadingKind::Muc => path.muc = Some(heading.clone()),
        }
    }
}

/// A compendium block header found inside a record's text.
#[derive(Debug)]
struct BlockHeader {
    code: String,
    title: String,
    raw: String,
}

#[derive(Debug)]
struct Piece {
    /// `None` for the record's own text (before the first block).
    block: Option<BlockHeader>,
    body: String,
}

/// Splits a record's text at every "Điều <compendium code>. <title>\n\n(<source citation>)" block.
fn split_compendium_blocks(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut current = Piece {
        block: None,
        body: String::new(),
    };
    let mut cursor = 0;
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find("Điều ") {
        let start = search_from + found;
        match parse_block_header(&text[start..]) {
            Some((header, header_len)) => {
                current.body.push_str(&text[cursor..start]);
                pieces.push(current);
                current = Piece {
                    block: Some(header),
                    body: String::new(),
                };
                cursor = start + header_len;
                search_from = cursor;
            }
            None => search_from = start + "Điều ".len(),
        }
    }
    current.body.push_str(&text[cursor..]);
    pieces.push(current);
    pieces
}

/// Parses "Điều 12.1.NĐ.10.47. Đăng ký …\n\n(Điều 47 Nghị định số 01/2021/NĐ-CP, …)"; returns the header
/// and its byte length.
fn parse_block_header(text: &str) -> Option<(BlockHeader, usize)> {
    let after_word = &text["Điều ".len()..];
    let code_len: usize = after_word
        .chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == '.' || ch.is_uppercase())
        .map(char::len_utf8)
        .sum();
    let code_with_dot = &after_word[..code_len];
    let code = code_with_dot.strip_suffix('.')?;
    if !after_word[code_len..].starts_with(' ') || !is_compendium_code(code) {
        return None;
    }
    let title_start = code_len + 1;
    let title_end = after_word[title_start..]
        .find('\n')
        .map(|end| title_start + end)?;
    let title = text::squash_spaces(&after_word[title_start..title_end]);
    let after_title = &after_word[title_end..];
    let raw_start = after_title.len() - after_title.trim_start().len();
    let raw_text = &after_title[raw_start..];
    if !raw_text.starts_with('(') {
        return None;
    }
    let raw_end = raw_text.find(')')?;
    let raw = raw_text[..=raw_end].to_string();
    let total = "Điều ".len() + title_end + raw_start + raw_end + 1;
    Some((
        BlockHeader {
            code: code.to_string(),
            title,
            raw,
        },
        total,
    ))
}

/// "12.1.LQ.44", "4.5.TT.6.2": chủ đề and đề mục numbers, a document-kind code, then numbers.
fn is_compendium_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('.').collect();
    parts.len() >= 4
        && parts[..2]
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|ch| ch.is_ascii_digit()))
        && !parts[2].is_empty()
        && parts[2].chars().all(char::is_uppercase)
        && parts[3..]
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|ch| ch.is_ascii_digit()))
}

/// The parts of a source citation such as "(Điều 8 Luật số 52/2014/QH13 Hôn nhân và gia đình ngày
/// 19/06/2014 của Quốc hội, có hiệu lực thi hành kể từ ngày 01/01/2015 )".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCitation {
    pub unit: String,
    pub number: String,
    pub so_hieu: String,
    /// The citation without parentheses and without the "ngày …" / "có hiệu lực …" tail,
    /// e.g. "Điều 8 Luật số 52/2014/QH13 Hôn nhân và gia đình".
    pub cleaned: String,
}

pub fn parse_source_citation(raw: &str) -> Option<SourceCitation> {
    let inner = text::squash_spaces(&text::normalize(raw));
    let inner = inner.trim_start_matches('(').trim_end_matches(')').trim();
    let mut words = inner.split(' ');
    let unit = words.next()?.to_string();
    let number = words.next()?.trim_end_matches(',').to_lowercase();
    let after_so = inner.find(" số ")? + " số ".len();
    let so_hieu: String = inner[after_so..]
        .chars()
        .take_while(|ch| !matches!(ch, ',' | ' ' | ')'))
        .collect();
    if so_hieu.is_empty() || !text::is_article_number(&number) {
        return None;
    }
    let mut cleaned = inner.to_string();
    for tail in [" ngày ", ", có hiệu lực", " có hiệu lực"] {
        if let Some(position) = cleaned.find(tail) {
            cleaned.truncate(position);
        }
    }
    Some(SourceCitation {
        unit,
        number,
        so_hieu,
        cleaned: cleaned.trim_end_matches(',').trim().to_string(),
    })
}

/// Turns the segments of one document into its articles, ordered by source article number, with the
/// citation "Điều <n> <citation_name>" (e.g. citation_name "Luật Hôn nhân và gia đình số 52/2014/QH13").
/// `use_headings` keeps the compendium's Phần/Chương/Mục, which only make sense for a document codified
/// in its own đề mục (a decree's records carry the law's chapters).
pub fn build_document(
    segments: &[Segment],
    citation_name: &str,
    use_headings: bool,
) -> ImportedDocument {
    let mut warnings = Vec::new();
    let mut chosen: BTreeMap<(u32, String), &Segment> = BTreeMap::new();
    for segment in segments {
        if segment.paragraphs.is_empty() {
            warnings.push(format!(
                "phapdien {}: Điều {} has no text, skipped",
                segment.record_id, segment.number
            ));
            continue;
        }
        let key = text::article_sort_key(&segment.number);
        match chosen.get(&key) {
            None => {
                chosen.insert(key, segment);
            }
            Some(existing) => {
                let preference = |candidate: &Segment| (candidate.is_record, text_len(candidate));
                let kept = if preference(segment) > preference(existing) {
                    segment
                } else {
                    *existing
                };
                warnings.push(format!(
                    "phapdien {}: Điều {} appears twice (from {} and {}); kept the one from {}",
                    segment.so_hieu,
                    segment.number,
                    existing.record_id,
                    segment.record_id,
                    kept.record_id
                ));
                chosen.insert(key, kept);
            }
        }
    }
    let articles = chosen
        .into_values()
        .map(|segment| Article {
            number: segment.number.clone(),
            title: segment.title.clone(),
            paragraphs: segment.paragraphs.clone(),
            phapdien_id: segment.phapdien_id.clone(),
            trich_dan: Some(format!("Điều {} {citation_name}", segment.number)),
            de_muc: segment.de_muc.clone(),
            amendments: Vec::new(),
            headings: if use_headings {
                segment.headings.clone()
            } else {
                HeadingPath::default()
            },
        })
        .collect();
    ImportedDocument { articles, warnings }
}

fn text_len(segment: &Segment) -> usize {
    segment
        .paragraphs
        .iter()
        .map(|paragraph| paragraph.chars().count())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

    fn record(json: &str) -> Record {
        serde_json::from_str(json).expect("test record parses")
    }

    /// Reads the real records with the given ids from the shared compendium.
    fn real_records(ids: &[&str]) -> Vec<Record> {
        let path = Path::new(SHARED_DATA).join("phapdien/phapdien_dieu.jsonl");
        let file = std::fs::File::open(&path).expect("shared data is present next to the project");
        let needles: Vec<String> = ids.iter().map(|id| format!("{{\"id\": \"{id}\"")).collect();
        BufReader::new(file)
            .lines()
            .map(|line| line.expect("readable line"))
            .filter(|line| {
                needles
                    .iter()
                    .any(|needle| line.starts_with(needle.as_str()))
            })
            .map(|line| record(&line))
            .collect()
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn dieu_8_luat_hon_nhan_va_gia_dinh() {
        let records = real_records(&["hon-nhan-va-gia-dinh::8.4.LQ.8"]);
        assert_eq!(records.len(), 1);
        let mut warnings = Vec::new();
        let segments = segments_from_record(&records[0], &mut warnings);
        let document = build_document(&segments, "Luật Hôn nhân và gia đình số 52/2014/QH13", true);
        assert!(warnings.is_empty(), "{warnings:?}");
        let article = &document.articles[0];
        assert_eq!(
            (article.number.as_str(), article.title.as_str()),
            ("8", "Điều kiện kết hôn")
        );
        assert_eq!(
            article.trich_dan.as_deref(),
            Some("Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13")
        );
        assert_eq!(
            article.phapdien_id.as_deref(),
            Some("hon-nhan-va-gia-dinh::8.4.LQ.8")
        );
        assert_eq!(
            article.headings.chuong.as_deref(),
            Some("Chương II. KẾT HÔN")
        );
        let starts: Vec<&str> = article
            .paragraphs
            .iter()
            .map(|paragraph| &paragraph[..2])
            .collect();
        assert_eq!(starts, ["1.", "a)", "b)", "c)", "d)", "2."]);
        assert_eq!(
            article.paragraphs[1],
            "a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;"
        );
    }

    #[test]
    fn citation_is_cleaned_of_date_and_effect_tail() {
        let citation = parse_source_citation(
            "(Điều 8 Luật số 52/2014/QH13 Hôn nhân và gia đình ngày 19/06/2014 của Quốc hội, có hiệu lực thi hành kể từ ngày 01/01/2015 )",
        )
        .expect("parses");
        assert_eq!(citation.number, "8");
        assert_eq!(citation.so_hieu, "52/2014/QH13");
        assert_eq!(
            citation.cleaned,
            "Điều 8 Luật số 52/2014/QH13 Hôn nhân và gia đình"
        );
        let short = parse_source_citation(
            "(Điều 47 Nghị định số 01/2021/NĐ-CP, có hiệu lực thi hành kể từ ngày 04/01/2021)",
        )
        .expect("parses");
        assert_eq!(
            (short.number.as_str(), short.so_hieu.as_str()),
            ("47", "01/2021/NĐ-CP")
        );
        assert_eq!(short.cleaned, "Điều 47 Nghị định số 01/2021/NĐ-CP");
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn run_on_compendium_blocks_become_their_own_articles() {
        // Điều 43 Luật Doanh nghiệp carries Điều 44 and 45 and the next chapter's heading in its text.
        let records = real_records(&["doanh-nghiep::12.1.LQ.43"]);
        let mut warnings = Vec::new();
        let segments = segments_from_record(&records[0], &mut warnings);
        let numbers: Vec<&str> = segments
            .iter()
            .map(|segment| segment.number.as_str())
            .collect();
        assert_eq!(numbers, ["43", "44", "45"]);
        assert!(segments
            .iter()
            .all(|segment| segment.so_hieu == "59/2020/QH14"));
        assert_eq!(
            segments[1].title,
            "Chi nhánh, văn phòng đại diện và địa điểm kinh doanh của doanh nghiệp"
        );
        assert_eq!(
            segments[1].phapdien_id.as_deref(),
            Some("doanh-nghiep::12.1.LQ.44")
        );
        let last = segments[2].paragraphs.last().expect("Điều 45 has text");
        assert_eq!(last, "6. Chính phủ quy định chi tiết Điều này.");
        assert!(segments[0]
            .paragraphs
            .iter()
            .all(|paragraph| !paragraph.contains("Điều 12.1")));
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn blocks_of_another_document_keep_their_own_citation() {
        // Điều 30 Luật Doanh nghiệp runs on into Điều 47-… Nghị định 01/2021/NĐ-CP.
        let records = real_records(&["doanh-nghiep::12.1.LQ.30"]);
        let mut warnings = Vec::new();
        let segments = segments_from_record(&records[0], &mut warnings);
        assert_eq!(segments[0].number, "30");
        assert_eq!(segments[0].paragraphs.last().map(String::as_str), Some("5. Chính phủ quy định về hồ sơ, trình tự, thủ tục đăng ký thay đổi nội dung Giấy chứng nhận đăng ký doanh nghiệp."));
        assert_eq!(
            (segments[1].so_hieu.as_str(), segments[1].number.as_str()),
            ("01/2021/NĐ-CP", "47")
        );
    }

    #[test]
    #[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
    fn plain_next_article_is_split_off_and_duplicates_keep_the_record() {
        // Điều 32 Luật Trợ giúp pháp lý ends with the text of Điều 33, which also has a record of its own.
        let records = real_records(&["tro-giup-phap-ly::4.5.LQ.32", "tro-giup-phap-ly::4.5.LQ.33"]);
        let mut warnings = Vec::new();
        let segments: Vec<Segment> = records
            .iter()
            .flat_map(|record| segments_from_record(record, &mut warnings))
            .collect();
        assert!(
            warnings
                .iter()
                .any(|warning| warning.contains("ran on into Điều 33")),
            "{warnings:?}"
        );
        let document = build_document(&segments, "Luật Trợ giúp pháp lý số 11/2017/QH14", true);
        let dieu_33: Vec<&Article> = document
            .articles
            .iter()
            .filter(|article| article.number == "33")
            .collect();
        assert_eq!(dieu_33.len(), 1);
        assert_eq!(
            dieu_33[0].phapdien_id.as_deref(),
            Some("tro-giup-phap-ly::4.5.LQ.33")
        );
        assert!(document
            .warnings
            .iter()
            .any(|warning| warning.contains("appears twice")));
        let dieu_32 = document
            .articles
            .iter()
            .find(|article| article.number == "32")
            .expect("Điều 32 kept");
        assert!(dieu_32
            .paragraphs
            .iter()
            .all(|paragraph| !paragraph.starts_with("Điều 33")));
    }

    #[test]
    fn records_that_are_not_articles_are_skipped_with_a_warning() {
        let not_an_article = record(
            r#"{"id": "x::1.1.LQ.1", "dieu_title": "T", "source": {"raw": "(Mục 2 Luật số 1/2000/QH10)", "unit": "Mục", "unit_no": "2", "so_hieu": "1/2000/QH10"}, "text": "Nội dung."}"#,
        );
        let no_source = record(r#"{"id": "x::1.1.LQ.2", "text": "Nội dung."}"#);
        let mut warnings = Vec::new();
        assert!(segments_from_record(&not_an_article, &mut warnings).is_empty());
        assert!(segments_from_record(&no_source, &mut warnings).is_empty());
        assert_eq!(warnings.len(), 2);
    }
}
