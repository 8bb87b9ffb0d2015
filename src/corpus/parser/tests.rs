use super::*;
use crate::corpus::model::{Scope, Validity};

const FRONT: &str = "---
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
";

fn parse(body: &str) -> ParseOutcome {
    parse_document("test.md", &format!("{FRONT}{body}"))
}

fn messages(outcome: &ParseOutcome) -> Vec<String> {
    outcome.diagnostics.iter().map(|d| d.to_string()).collect()
}

#[test]
fn parses_article_with_clauses_and_points() {
    let outcome = parse(
        "# Chương II. KẾT HÔN

## Điều 8. Điều kiện kết hôn
<!-- phapdien_id: hon-nhan-va-gia-dinh::8.4.LQ.8 -->
1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:
a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;
b) Việc kết hôn do nam và nữ tự nguyện quyết định;
c) Không bị mất năng lực hành vi dân sự;
d) Việc kết hôn không thuộc một trong các trường hợp cấm kết hôn theo quy định tại các điểm a, b, c và d khoản 2 Điều 5 của Luật này.
2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.
",
    );
    assert!(outcome.diagnostics.is_empty(), "{:?}", messages(&outcome));
    let document = outcome.document.unwrap();
    assert_eq!(document.meta.tinh_trang, Validity::InForce);
    assert_eq!(document.meta.pham_vi, Scope::National);
    let article = &document.articles[0];
    assert_eq!(article.heading(), "Điều 8. Điều kiện kết hôn");
    assert_eq!(article.line, 15);
    assert_eq!(
        article.headings.chuong.as_deref(),
        Some("Chương II. KẾT HÔN")
    );
    assert_eq!(
        article.attributes["phapdien_id"],
        "hon-nhan-va-gia-dinh::8.4.LQ.8"
    );
    assert_eq!(article.clauses.len(), 2);
    let letters: Vec<&str> = article.clauses[0]
        .points
        .iter()
        .map(|p| p.letter.as_str())
        .collect();
    assert_eq!(letters, ["a", "b", "c", "d"]);
    assert!(article.clauses[0].points[0]
        .text()
        .starts_with("a) Nam từ đủ 20 tuổi"));
}

#[test]
fn heading_title_on_next_line_and_sections_of_parts() {
    let outcome = parse(
        "PHẦN THỨ NHẤT
QUY ĐỊNH CHUNG
Chương I
NHỮNG QUY ĐỊNH CHUNG
Mục 1
NGUYÊN TẮC
Điều 1. Phạm vi điều chỉnh
Bộ luật này quy định địa vị pháp lý.
",
    );
    let document = outcome.document.unwrap();
    let headings = &document.articles[0].headings;
    assert_eq!(
        headings.phan.as_deref(),
        Some("PHẦN THỨ NHẤT. QUY ĐỊNH CHUNG")
    );
    assert_eq!(
        headings.chuong.as_deref(),
        Some("Chương I. NHỮNG QUY ĐỊNH CHUNG")
    );
    assert_eq!(headings.muc.as_deref(), Some("Mục 1. NGUYÊN TẮC"));
    assert_eq!(
        document.articles[0].intro,
        ["Bộ luật này quy định địa vị pháp lý."]
    );
}

#[test]
fn running_text_is_not_mistaken_for_structure() {
    let outcome = parse(
        "Điều 3. Giải thích từ ngữ
Mục đích của hôn nhân là xây dựng gia đình.
Điều này không áp dụng cho trường hợp khác.
1.000.000 đồng là mức phạt tối thiểu.
Điều 5 của Luật này quy định việc cấm.
",
    );
    let document = outcome.document.unwrap();
    assert_eq!(document.articles.len(), 1);
    let article = &document.articles[0];
    assert!(article.clauses.is_empty());
    assert_eq!(article.intro.len(), 4);
    assert!(article.headings.muc.is_none());
}

#[test]
fn article_number_with_letter_suffix() {
    let outcome = parse("Điều 10a. Quy định bổ sung\nNội dung.\n");
    assert_eq!(outcome.document.unwrap().articles[0].number, "10a");
}

#[test]
fn duplicate_article_is_an_error_with_its_line() {
    let outcome = parse("Điều 1. Một\nA.\nĐiều 1. Lặp lại\nB.\n");
    assert!(outcome.has_errors());
    assert_eq!(
        messages(&outcome),
        ["test.md:15: error: duplicate article number 1"]
    );
}

#[test]
fn text_before_first_article_is_a_warning() {
    let outcome = parse("Văn bản này được sao chép từ nguồn khác.\nĐiều 1. Phạm vi\nNội dung.\n");
    assert!(!outcome.has_errors());
    assert_eq!(
        messages(&outcome),
        ["test.md:13: warning: text before the first article is not indexed"]
    );
    assert_eq!(outcome.document.unwrap().preamble.len(), 1);
}

#[test]
fn preamble_headings_are_expected() {
    let outcome = parse("QUỐC HỘI\nCăn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;\nĐiều 1. Phạm vi\nNội dung.\n");
    assert!(outcome.diagnostics.is_empty(), "{:?}", messages(&outcome));
}

#[test]
fn unknown_key_missing_key_and_bad_values_are_errors() {
    let source = "---
so_hieu: 1/2020/QH14
ten: Luật thử
loai_van_ban: Luật
tinh_trang: con_hieu_lu
ngay_ban_hanh: 20/06/2020
pham_vi: quang ngai
linh_vuc: [thu]
nguon: test
hieu_luc: 2020
---
Điều 1. A
B.
";
    let outcome = parse_document("bad.md", source);
    assert!(outcome.document.is_none());
    let found = messages(&outcome);
    for expected in [
        "bad.md:10: error: unknown front-matter key `hieu_luc`",
        "bad.md:1: error: required front-matter key `co_quan_ban_hanh` is missing or empty",
        "bad.md:6: error: `ngay_ban_hanh` must be a date YYYY-MM-DD, found \"20/06/2020\"",
        "bad.md:7: error: `pham_vi` must be `toan_quoc` or `tinh:<slug>`, found \"quang ngai\"",
    ] {
        assert!(
            found.iter().any(|m| m == expected),
            "missing {expected:?} in {found:?}"
        );
    }
    assert!(found
        .iter()
        .any(|m| m.starts_with("bad.md:5: error: `tinh_trang` must be one of")));
}

#[test]
fn missing_front_matter_and_empty_body() {
    let outcome = parse_document("x.md", "Điều 1. A\n");
    assert_eq!(
        messages(&outcome),
        ["x.md:1: error: missing front matter: the file must start with a `---` block"]
    );
    let outcome = parse("");
    assert!(outcome.has_errors());
}

#[test]
fn never_panics_on_hostile_input() {
    for source in [
        "",
        "---",
        "---\n---",
        "---\n:\n---\n",
        "---\nso_hieu: [\n---\n1.",
        "a)\n\u{0}\u{202e}Điều",
        "---\nlinh_vuc: [\"a, b\n---\nĐiều 9999999999999999999999. X\n1.\na)\nđ)\n",
        "Điều",
        "Điều .",
        "Chương",
        "# \n## Điều 1.\n",
        "1.\n2.\n",
    ] {
        let _ = parse_document("f.md", source);
        let _ = parse(source);
    }
}

#[test]
fn nfd_input_is_composed() {
    use unicode_normalization::UnicodeNormalization;
    let body: String = "Điều 2. Kết hôn\n1. Nam nữ kết hôn.\n".nfd().collect();
    let document = parse(&body).document.unwrap();
    assert_eq!(document.articles[0].title, "Kết hôn");
}

#[test]
fn out_of_order_clause_is_a_warning() {
    let outcome = parse("Điều 1. A\n1. Một.\n3. Ba.\n");
    assert_eq!(
        messages(&outcome),
        ["test.md:15: warning: clause 3 follows clause 1 in Điều 1"]
    );
}

#[test]
fn plan_sections_are_citable_units() {
    let source = "---
so_hieu: 137/KH-UBND
ten: Kế hoạch chuyển đổi số trong công tác phổ biến, giáo dục pháp luật giai đoạn 2025-2030
loai_van_ban: Kế hoạch
co_quan_ban_hanh: UBND tỉnh Quảng Ngãi
ngay_ban_hanh: 2025-06-18
tinh_trang: con_hieu_luc
pham_vi: tinh:quang-ngai
linh_vuc: [pho-bien-giao-duc-phap-luat, chuyen-doi-so]
nguon: seed
---
I. MỤC ĐÍCH, YÊU CẦU
1. Mục đích
a) Đẩy mạnh ứng dụng công nghệ số.
II. CHỈ TIÊU
1. 80-90% người dân được tiếp cận thông tin pháp luật qua nền tảng số.
";
    let outcome = parse_document("kh.md", source);
    assert!(outcome.diagnostics.is_empty(), "{:?}", messages(&outcome));
    let document = outcome.document.unwrap();
    assert_eq!(document.meta.pham_vi, Scope::Province("quang-ngai".into()));
    let labels: Vec<String> = document.articles.iter().map(|a| a.heading()).collect();
    assert_eq!(labels, ["Mục I. MỤC ĐÍCH, YÊU CẦU", "Mục II. CHỈ TIÊU"]);
    assert_eq!(document.articles[0].clauses[0].points[0].letter, "a");
}

#[test]
fn amendments_are_read_one_per_line_and_checked() {
    let outcome = parse(
        "### Điều 7. Xử phạt người điều khiển xe mô tô
<!-- sua_doi: 238/2026/NĐ-CP | 2026-08-15 | theo khoản 2, khoản 3 Điều 19 -->
<!-- sua_doi: 1/2027/NĐ-CP |  | theo Điều 4 -->
1. Phạt tiền.
",
    );
    assert!(outcome.diagnostics.is_empty(), "{:?}", messages(&outcome));
    let article = &outcome.document.unwrap().articles[0];
    assert_eq!(article.amendments.len(), 2);
    assert_eq!(article.amendments[0].by, "238/2026/NĐ-CP");
    assert_eq!(
        article.amendments[0].effective,
        chrono::NaiveDate::from_ymd_opt(2026, 8, 15)
    );
    assert_eq!(article.amendments[1].effective, None);
    assert!(
        !article.attributes.contains_key("sua_doi"),
        "amendments are typed, not left as attributes"
    );

    let broken =
        parse("### Điều 7. X\n<!-- sua_doi: 238/2026/NĐ-CP | 15/8/2026 | theo Điều 2 -->\n");
    assert!(broken.has_errors(), "a date not in YYYY-MM-DD is an error");
    assert!(
        messages(&broken)[0].contains(":14: error: `sua_doi`"),
        "{:?}",
        messages(&broken)
    );
}

#[test]
fn compendium_documents_are_labelled_with_their_source_and_date() {
    let source = FRONT.replace(
        "tinh_trang: con_hieu_luc",
        "tinh_trang: theo_phap_dien\ncap_nhat_den: 2025-11-14",
    );
    let outcome = parse_document("x.md", &format!("{source}### Điều 1. A\nNội dung.\n"));
    assert!(outcome.diagnostics.is_empty(), "{:?}", messages(&outcome));
    let meta = outcome.document.unwrap().meta;
    assert_eq!(meta.tinh_trang, Validity::PerCompendium);
    assert!(meta.tinh_trang.is_applicable());
    assert_eq!(
        meta.validity_label(),
        "Theo Bộ Pháp điển, cập nhật đến 14/11/2025"
    );
}

#[test]
fn structure_lines_are_recognised_for_quoting() {
    assert_eq!(
        structure_started_by("Điều 4. Rút tố cáo"),
        Some("article heading")
    );
    assert_eq!(
        structure_started_by("Chương II"),
        Some("Phần/Chương/Mục heading")
    );
    assert_eq!(structure_started_by("“Điều 4. Rút tố cáo”"), None);
    assert_eq!(structure_started_by("Mục đích của kế hoạch là"), None);
}

proptest::proptest! {
    #![proptest_config(crate::proptest_support::config())]

    /// Any body under valid front matter, made of structural lines and pasted text, parses
    /// without a panic: diagnostics point at lines of the file, articles at their heading, and
    /// every word of every parsed paragraph is a word of the file.
    #[test]
    fn any_body_parses_without_panic(lines in proptest::collection::vec(body_line(), 0..40)) {
        let body = lines.concat();
        let source = nfc(&format!("{FRONT}{body}"));
        let outcome = parse(&body);
        let line_count = source.lines().count();
        for diagnostic in &outcome.diagnostics {
            proptest::prop_assert!(diagnostic.line <= line_count + 1, "{diagnostic}");
        }
        let words: std::collections::HashSet<&str> = source.split_whitespace().collect();
        for article in outcome.document.iter().flat_map(|d| &d.articles) {
            proptest::prop_assert!(article.line >= 1 && article.line <= line_count);
            let paragraphs = article.intro.iter().chain(article.clauses.iter().flat_map(|c| {
                c.lead.iter().chain(c.points.iter().flat_map(|p| &p.paragraphs))
            }));
            for paragraph in paragraphs {
                for word in paragraph.split_whitespace() {
                    proptest::prop_assert!(
                        words.iter().any(|w| w.contains(word)),
                        "{word:?} of {paragraph:?} is not in the file"
                    );
                }
            }
        }
    }

    /// Any front matter lines are read or reported, never a panic, each problem at a line of
    /// the block.
    #[test]
    fn any_front_matter_is_read_or_reported(
        lines in proptest::collection::vec(front_matter_line(), 0..16),
    ) {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut problems = Vec::new();
        let values = front_matter::parse_raw(&lines, 2, &mut problems);
        let _ = front_matter::to_metadata(&values, 1, &mut problems);
        for (line, _, message) in &problems {
            proptest::prop_assert!(*line >= 1 && *line <= lines.len() + 2, "{line}: {message}");
        }
    }
}

/// One line of a body: a structural line with arbitrary text, or arbitrary text.
fn body_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let text = || crate::proptest_support::outside_text(12);
    prop_oneof![
        text().prop_map(|t| format!("## Điều {}. {t}\n", t.len() % 30)),
        text().prop_map(|t| format!("{}. {t}\n", t.len() % 9 + 1)),
        text().prop_map(|t| format!("a) {t}\n")),
        text().prop_map(|t| format!("# Chương {t}\n")),
        text().prop_map(|t| format!("<!-- {t} -->\n")),
        text().prop_map(|t| format!("{t}\n")),
    ]
}

/// One front-matter line: a known key with an arbitrary value, or arbitrary text.
fn front_matter_line() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let keys = proptest::sample::select(vec![
        "so_hieu",
        "ten",
        "loai_van_ban",
        "ngay_ban_hanh",
        "ngay_hieu_luc",
        "tinh_trang",
        "pham_vi",
        "linh_vuc",
        "bi_thay_the_boi",
        "khoa_la",
    ]);
    prop_oneof![
        (keys, crate::proptest_support::outside_text(10)).prop_map(|(k, v)| format!("{k}: {v}")),
        (keys_list(), crate::proptest_support::outside_text(10))
            .prop_map(|(k, v)| format!("{k}: [{v}, {v}]")),
        crate::proptest_support::outside_text(16),
    ]
}

fn keys_list() -> impl proptest::strategy::Strategy<Value = &'static str> {
    proptest::sample::select(vec!["linh_vuc", "thay_the", "sua_doi_bo_sung"])
}
