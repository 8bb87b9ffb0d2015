//! Builds the extractive answer: which articles and clauses to quote, their precise citations, and
//! the rendered Vietnamese text.

use std::collections::BTreeMap;

use super::prompts::{render, Prompts};
use super::relevance::coverage;
use super::{Citation, Quote};
use crate::corpus::{Clause, Point, Validity};
use crate::library::LibraryArticle;

/// Articles shorter than this are quoted whole: splitting them would lose context for no gain.
const QUOTE_WHOLE_ARTICLE_CHARS: usize = 1_200;
/// Clauses shorter than this are quoted whole even when only one of their points matches.
const QUOTE_WHOLE_CLAUSE_CHARS: usize = 700;
/// A point is singled out only when it matches the question at least this well.
const MIN_POINT_COVERAGE: f32 = 0.3;
const MAX_POINTS_PER_CLAUSE: usize = 2;

/// Chooses what to quote from one article: the whole article when short, otherwise the clauses
/// that best cover the question (those of the retrieved chunk first), in document order.
pub fn quotes_for_article(
    entry: &LibraryArticle,
    question: &str,
    retrieved_clauses: &[String],
    max_clauses: usize,
    prompts: &Prompts,
) -> Vec<Quote> {
    let article = &entry.article;
    let body = article.body_text();
    if article.clauses.is_empty() || body.chars().count() <= QUOTE_WHOLE_ARTICLE_CHARS {
        return vec![Quote {
            text: body,
            citation: citation(entry, None, &[], prompts),
        }];
    }
    let mut scored: Vec<(usize, f32)> = article
        .clauses
        .iter()
        .enumerate()
        .map(|(index, clause)| {
            let mut score = coverage(question, &clause.text());
            if retrieved_clauses.contains(&clause.number) {
                // The search already judged these clauses relevant as a whole.
                score += 0.25;
            }
            (index, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let best = scored[0].1;
    let mut chosen: Vec<usize> = scored
        .iter()
        .take(max_clauses.max(1))
        // Keep clauses that are nearly as relevant as the best; the best is always kept.
        .filter(|(_, score)| *score >= best * 0.6)
        .map(|(index, _)| *index)
        .collect();
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|index| clause_quote(entry, &article.clauses[index], question, prompts))
        .collect()
}

/// A clause in full, or, when it is long and only some of its points match the question, its
/// lead with those points, cited down to the point ("Điểm b khoản 2 Điều 5").
fn clause_quote(
    entry: &LibraryArticle,
    clause: &Clause,
    question: &str,
    prompts: &Prompts,
) -> Quote {
    let whole = || Quote {
        text: clause.text(),
        citation: citation(entry, Some(clause), &[], prompts),
    };
    if clause.points.len() < 2 || clause.text().chars().count() <= QUOTE_WHOLE_CLAUSE_CHARS {
        return whole();
    }
    let scores: Vec<f32> = clause
        .points
        .iter()
        .map(|point| coverage(question, &point.text()))
        .collect();
    let best = scores.iter().copied().fold(0.0, f32::max);
    if best < MIN_POINT_COVERAGE {
        return whole();
    }
    let mut chosen: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i] >= best * 0.8)
        .collect();
    chosen.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    chosen.truncate(MAX_POINTS_PER_CLAUSE);
    chosen.sort_unstable();
    let points: Vec<&Point> = chosen.iter().map(|&i| &clause.points[i]).collect();
    let mut lines = vec![format!("{}. {}", clause.number, clause.lead.join("\n"))];
    lines.extend(points.iter().map(|p| p.text()));
    Quote {
        text: lines.join("\n"),
        citation: citation(entry, Some(clause), &points, prompts),
    }
}

/// The citation of an article, of one of its clauses, or of points of a clause.
pub fn citation(
    entry: &LibraryArticle,
    clause: Option<&Clause>,
    points: &[&Point],
    prompts: &Prompts,
) -> Citation {
    let meta = &entry.document;
    let article = entry.article.label();
    // Official style: "Điểm a khoản 1 Điều 8", "Các điểm a và c khoản 1 Điều 8"; the article keeps
    // its capital inside a citation.
    let unit = match (clause, points) {
        (None, _) => article,
        (Some(clause), []) => format!("Khoản {} {article}", clause.number),
        (Some(clause), [point]) => {
            format!("Điểm {} khoản {} {article}", point.letter, clause.number)
        }
        (Some(clause), points) => {
            let letters: Vec<String> = points.iter().map(|p| p.letter.clone()).collect();
            format!(
                "Các điểm {} khoản {} {article}",
                join_vietnamese(&letters),
                clause.number
            )
        }
    };
    let effective = meta.ngay_hieu_luc.map(|d| d.format("%d/%m/%Y").to_string());
    let validity_label = meta.validity_label();
    let validity_text = match &effective {
        Some(date) => render(
            &prompts.wording.citation_validity,
            &BTreeMap::from([
                ("effective", date.clone()),
                ("validity", lowercase_first(&validity_label)),
            ]),
        ),
        None => render(
            &prompts.wording.citation_validity_unknown_date,
            &BTreeMap::from([("validity", lowercase_first(&validity_label))]),
        ),
    };
    let recorded: Vec<&str> = entry
        .article
        .amendments
        .iter()
        .map(|amendment| amendment.by.as_str())
        .collect();
    let amended_by_unrecorded = meta
        .duoc_sua_doi_boi
        .iter()
        .filter(|so_hieu| {
            !recorded.contains(&so_hieu.as_str()) && !entry.recorded_amenders.contains(*so_hieu)
        })
        .cloned()
        .collect();
    let reference = format!("{unit} {}", meta.citation_title());
    Citation {
        article_id: entry.id.clone(),
        unit,
        heading: entry.article.heading(),
        document_title: meta.ten.clone(),
        so_hieu: meta.so_hieu.clone(),
        document_type: meta.loai_van_ban.clone(),
        effective_date: meta.ngay_hieu_luc,
        validity: meta.tinh_trang,
        text: format!("{reference} ({validity_text})"),
        reference,
        source_attribute: entry.article.attributes.get("trich_dan").cloned(),
        validity_label,
        amendments: entry.article.amendments.clone(),
        amended_by_unrecorded,
    }
}

/// "Theo Bộ Pháp điển, …" → "theo Bộ Pháp điển, …": the label inside a sentence. Only the first
/// letter: the rest holds proper names.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The lead sentence naming what the answer rests on.
pub fn lead(quotes: &[Quote], prompts: &Prompts) -> String {
    let mut references: Vec<String> = Vec::new();
    for quote in quotes {
        let article_reference = format!(
            "{} {}",
            quote.citation.article_label(),
            document_reference(&quote.citation)
        );
        if !references.contains(&article_reference) {
            references.push(article_reference);
        }
    }
    if references.len() == 1 {
        let heading = quotes[0].citation.heading_title();
        render(
            &prompts.wording.lead_single,
            &BTreeMap::from([("citation", references[0].clone()), ("heading", heading)]),
        )
    } else {
        render(
            &prompts.wording.lead_multiple,
            &BTreeMap::from([("citations", join_vietnamese(&references))]),
        )
    }
}

fn document_reference(citation: &Citation) -> String {
    format!("{} số {}", citation.document_title, citation.so_hieu)
}

/// "A", "A và B", "A, B và C".
fn join_vietnamese(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} và {last}", init.join(", ")),
    }
}

/// Warnings for quotes from documents that are not fully in force or whose validity nobody
/// reviewed, and for quoted articles that later documents amended: the quote is the wording as
/// first issued, so the answer must say what changed it.
pub fn validity_notices(quotes: &[Quote], prompts: &Prompts) -> Vec<String> {
    let mut notices = Vec::new();
    let mut push = |notice: String| {
        if !notices.contains(&notice) {
            notices.push(notice);
        }
    };
    for quote in quotes {
        let citation = &quote.citation;
        let document = document_reference(citation);
        match citation.validity {
            Validity::InForce => {}
            Validity::PerCompendium => push(render(
                &prompts.wording.unverified_validity,
                &BTreeMap::from([
                    ("document", document.clone()),
                    ("validity", lowercase_first(&citation.validity_label)),
                ]),
            )),
            validity => push(render(
                &prompts.wording.validity_warning,
                &BTreeMap::from([
                    ("document", document.clone()),
                    ("validity", validity.label().to_lowercase()),
                ]),
            )),
        }
        for amendment in &citation.amendments {
            let since = amendment.effective.map_or(String::new(), |date| {
                render(
                    &prompts.wording.amended_since,
                    &BTreeMap::from([("date", date.format("%d/%m/%Y").to_string())]),
                )
            });
            push(render(
                &prompts.wording.article_amended,
                &BTreeMap::from([
                    ("article", citation.article_label()),
                    ("document", document.clone()),
                    ("amended_by", amendment.by.clone()),
                    ("since", since),
                    ("detail", amendment.detail.clone()),
                ]),
            ));
        }
        if !citation.amended_by_unrecorded.is_empty() {
            push(render(
                &prompts.wording.document_amended,
                &BTreeMap::from([
                    ("document", document.clone()),
                    (
                        "amended_by",
                        join_vietnamese(&citation.amended_by_unrecorded),
                    ),
                ]),
            ));
        }
    }
    notices
}

/// The full answer text, as channels show it.
pub fn render_answer(
    lead: &str,
    quotes: &[Quote],
    notices: &[String],
    prompts: &Prompts,
) -> String {
    let quotes_text: Vec<String> = quotes
        .iter()
        .map(|quote| {
            render(
                &prompts.quote_template,
                &BTreeMap::from([
                    ("text", quote.text.clone()),
                    ("citation", quote.citation.text.clone()),
                ]),
            )
            .trim_end()
            .to_owned()
        })
        .collect();
    let notices_text = if notices.is_empty() {
        String::new()
    } else {
        format!("{}\n", notices.join("\n"))
    };
    let text = render(
        &prompts.answer_template,
        &BTreeMap::from([
            ("lead", lead.to_owned()),
            ("quotes", format!("{}\n", quotes_text.join("\n\n"))),
            ("notices", notices_text),
            ("disclaimer", prompts.wording.disclaimer.clone()),
        ]),
    );
    collapse_blank_lines(&text)
}

fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.trim().lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::prompts::repo_prompts;
    use crate::corpus::parse_document;
    use crate::library::Library;

    fn library() -> Library {
        let source = "---
so_hieu: 52/2014/QH13
ten: Luật Hôn nhân và gia đình
loai_van_ban: Luật
co_quan_ban_hanh: Quốc hội
ngay_ban_hanh: 2014-06-19
ngay_hieu_luc: 2015-01-01
tinh_trang: con_hieu_luc
pham_vi: toan_quoc
linh_vuc: [hon-nhan-gia-dinh]
nguon: Bộ Pháp điển
---
Điều 8. Điều kiện kết hôn
1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:
a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;
b) Việc kết hôn do nam và nữ tự nguyện quyết định;
2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.
";
        let document = parse_document("hngd.md", source).document.unwrap();
        Library::from_documents(&[document])
    }

    #[test]
    fn renders_a_cited_answer() {
        let prompts = repo_prompts();
        let library = library();
        let entry = library.article("52-2014-qh13.dieu-8").unwrap();
        let quotes = quotes_for_article(
            entry,
            "Nam nữ bao nhiêu tuổi thì được kết hôn?",
            &[],
            3,
            &prompts,
        );
        assert_eq!(quotes.len(), 1);
        assert_eq!(
            quotes[0].citation.text,
            "Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13 (hiệu lực từ 01/01/2015, còn hiệu lực)"
        );
        let lead = lead(&quotes, &prompts);
        let text = render_answer(
            &lead,
            &quotes,
            &validity_notices(&quotes, &prompts),
            &prompts,
        );
        let expected = "Vấn đề bạn hỏi được quy định tại Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13 (Điều kiện kết hôn). Nội dung cụ thể như sau:

„1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:
a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;
b) Việc kết hôn do nam và nữ tự nguyện quyết định;
2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.“
— Điều 8 Luật Hôn nhân và gia đình số 52/2014/QH13 (hiệu lực từ 01/01/2015, còn hiệu lực)

Thông tin trên chỉ nhằm phổ biến pháp luật, không phải là tư vấn pháp lý cho trường hợp cụ thể. Cần hỗ trợ, bạn có thể liên hệ Trung tâm Trợ giúp pháp lý nhà nước hoặc Sở Tư pháp tỉnh.";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_clause_is_cited_down_to_the_matching_point() {
        let prompts = repo_prompts();
        let filler = "thực hiện theo quy định của pháp luật có liên quan và hướng dẫn của cơ quan có thẩm quyền; ".repeat(5);
        let source = format!(
            "---\nso_hieu: 52/2014/QH13\nten: Luật Hôn nhân và gia đình\nloai_van_ban: Luật\nco_quan_ban_hanh: Quốc hội\nngay_ban_hanh: 2014-06-19\nngay_hieu_luc: 2015-01-01\ntinh_trang: con_hieu_luc\npham_vi: toan_quoc\nlinh_vuc: [hon-nhan-gia-dinh]\nnguon: test\n---\nĐiều 5. Bảo vệ chế độ hôn nhân và gia đình\n1. Quan hệ hôn nhân được tôn trọng.\n2. Cấm các hành vi sau đây:\na) Kết hôn giả tạo, ly hôn giả tạo; {filler}\nb) Tảo hôn, cưỡng ép kết hôn, lừa dối kết hôn, cản trở kết hôn; {filler}\nc) Người đang có vợ, có chồng mà kết hôn hoặc chung sống như vợ chồng với người khác; {filler}\n"
        );
        let document = parse_document("t.md", &source).document.unwrap();
        let library = Library::from_documents(&[document]);
        let entry = library.article("52-2014-qh13.dieu-5").unwrap();
        let quotes = quotes_for_article(
            entry,
            "Tảo hôn, cưỡng ép kết hôn có bị cấm không?",
            &[],
            1,
            &prompts,
        );
        assert_eq!(quotes.len(), 1);
        assert_eq!(quotes[0].citation.unit, "Điểm b khoản 2 Điều 5");
        assert!(
            quotes[0]
                .text
                .starts_with("2. Cấm các hành vi sau đây:\nb) Tảo hôn"),
            "{}",
            quotes[0].text
        );
        assert!(!quotes[0].text.contains("a) Kết hôn giả tạo"));
    }

    #[test]
    fn joins_lists_the_vietnamese_way() {
        let items: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        assert_eq!(join_vietnamese(&items), "A, B và C");
        assert_eq!(join_vietnamese(&items[..2]), "A và B");
    }

    #[test]
    fn amended_articles_and_unreviewed_validity_are_noticed() {
        let prompts = repo_prompts();
        let source = "---
so_hieu: 168/2024/NĐ-CP
ten: Nghị định quy định xử phạt vi phạm hành chính về trật tự, an toàn giao thông
loai_van_ban: Nghị định
co_quan_ban_hanh: Chính phủ
ngay_ban_hanh: 2024-12-26
ngay_hieu_luc: 2025-01-01
tinh_trang: con_hieu_luc
duoc_sua_doi_boi: [238/2026/NĐ-CP, 9/2027/NĐ-CP]
pham_vi: toan_quoc
linh_vuc: [giao-thong]
nguon: test
---
### Điều 7. Xử phạt người điều khiển xe mô tô
<!-- sua_doi: 238/2026/NĐ-CP | 2026-08-15 | theo khoản 2, khoản 3 Điều 19 -->
1. Phạt tiền từ 200.000 đồng đến 400.000 đồng.
### Điều 8. Xử phạt người điều khiển xe máy chuyên dùng
1. Phạt tiền.
";
        let document = parse_document("nd.md", source).document.unwrap();
        let library = Library::from_documents(&[document]);
        let quote_of = |id: &str| {
            quotes_for_article(library.article(id).unwrap(), "phạt tiền", &[], 2, &prompts)
        };
        let amended = quote_of("168-2024-nd-cp.dieu-7");
        assert_eq!(amended[0].citation.amendments.len(), 1);
        assert_eq!(
            amended[0].citation.amended_by_unrecorded,
            ["9/2027/NĐ-CP"],
            "238/2026 is recorded article by article; 9/2027 is not, so every quote names it"
        );
        let notices = validity_notices(&amended, &prompts);
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert_eq!(
            notices[0],
            "Lưu ý: Điều 7 Nghị định quy định xử phạt vi phạm hành chính về trật tự, an toàn giao thông số 168/2024/NĐ-CP đã được sửa đổi, bổ sung bởi văn bản số 238/2026/NĐ-CP, có hiệu lực từ ngày 15/08/2026 (theo khoản 2, khoản 3 Điều 19). Nội dung trích ở trên là văn bản gốc, chưa cập nhật phần sửa đổi."
        );
        assert!(notices[1].contains("9/2027/NĐ-CP"));
        let not_amended = quote_of("168-2024-nd-cp.dieu-8");
        assert_eq!(validity_notices(&not_amended, &prompts).len(), 1);

        let compendium = source
            .replace(
                "tinh_trang: con_hieu_luc",
                "tinh_trang: theo_phap_dien\ncap_nhat_den: 2025-11-14",
            )
            .replace("duoc_sua_doi_boi: [238/2026/NĐ-CP, 9/2027/NĐ-CP]\n", "");
        let document = parse_document("pd.md", &compendium).document.unwrap();
        let library = Library::from_documents(&[document]);
        let quotes = quotes_for_article(
            library.article("168-2024-nd-cp.dieu-8").unwrap(),
            "phạt tiền",
            &[],
            2,
            &prompts,
        );
        assert!(
            quotes[0]
                .citation
                .text
                .ends_with("(hiệu lực từ 01/01/2025, theo Bộ Pháp điển, cập nhật đến 14/11/2025)"),
            "{}",
            quotes[0].citation.text
        );
        let notices = validity_notices(&quotes, &prompts);
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].contains("chưa được cán bộ rà soát"),
            "{notices:?}"
        );
    }
}
