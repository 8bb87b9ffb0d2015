//! Text cleaning shared by the importers: Unicode normalisation, paragraph splitting, clause/point line
//! breaks, editorial notes, and recognising structure headings (Phần/Chương/Mục) inside scraped text.
//!
//! Everything here is a pure function on strings so that each quirk of the sources can be tested with a
//! short real snippet. The crate has no regex dependency; the scanners below are small hand-written loops.

use unicode_normalization::UnicodeNormalization;

/// NFC-normalises and turns the whitespace variants found in the sources (no-break space, tabs, zero-width
/// characters, Windows line ends) into plain spaces and `\n`.
pub fn normalize(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let mut out = String::with_capacity(nfc.len());
    for ch in nfc.chars() {
        match ch {
            '\r' => {}
            '\u{a0}' | '\t' | '\u{2002}' | '\u{2003}' | '\u{2009}' | '\u{202f}' => out.push(' '),
            '\u{200b}' | '\u{feff}' | '\u{ad}' => {}
            _ => out.push(ch),
        }
    }
    out
}

/// Collapses runs of spaces and trims; used on every paragraph and title.
pub fn squash_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut previous_was_space = false;
    for ch in line.trim().chars() {
        if ch == ' ' {
            if !previous_was_space {
                out.push(' ');
            }
            previous_was_space = true;
        } else {
            out.push(ch);
            previous_was_space = false;
        }
    }
    out
}

/// Splits normalised text into non-empty, space-squashed paragraphs (one per source line). Markdown bold
/// markers left by the scrapers ("**Luật này quy định …**") are dropped: the corpus body is plain text.
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| squash_spaces(&line.replace("**", "")))
        .filter(|line| !line.is_empty())
        .collect()
}

/// The pháp điển pages append "(Điều này có nội dung liên quan đến …)" cross-reference notes to the article
/// text (also "Chương này", "Mục này", "Phần này"). They are navigation aids of the compendium, not law,
/// and they would pollute both the citation text and the embeddings, so they are removed. Parentheses
/// inside a note are balanced (notes quote titles such as "Điều kiện kết hôn (Điều 9)"); an unclosed note
/// runs to the end of the text.
pub fn strip_related_notes(text: &str) -> String {
    const NOTE_STARTS: [&str; 6] = [
        "(Điều này có nội dung liên quan đến",
        "(Khoản này có nội dung liên quan đến",
        "(Điểm này có nội dung liên quan đến",
        "(Chương này có nội dung liên quan đến",
        "(Mục này có nội dung liên quan đến",
        "(Phần này có nội dung liên quan đến",
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next_note = NOTE_STARTS
            .iter()
            .filter_map(|start| rest.find(start))
            .min();
        let Some(note_start) = next_note else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..note_start]);
        let mut depth = 0usize;
        let mut note_end = rest.len();
        for (offset, ch) in rest[note_start..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        note_end = note_start + offset + ch.len_utf8();
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[note_end..];
    }
}

/// A clause ("1.") or point ("a)") marker at the start of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Clause(u32),
    Point(char),
}

/// The Vietnamese point letters in legal order (no f, j, w, z; "đ" follows "d").
pub const POINT_LETTERS: [char; 24] = [
    'a', 'b', 'c', 'd', 'đ', 'e', 'g', 'h', 'i', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't',
    'u', 'v', 'x', 'y', 'ă',
];

fn next_point_letter(letter: char) -> Option<char> {
    let position = POINT_LETTERS
        .iter()
        .position(|candidate| *candidate == letter)?;
    POINT_LETTERS.get(position + 1).copied()
}

/// Reads a clause or point marker at the start of `text`; returns it and the byte length of the marker
/// (without the following space).
pub fn leading_marker(text: &str) -> Option<(Marker, usize)> {
    let digits: String = text.chars().take_while(|ch| ch.is_ascii_digit()).collect();
    if !digits.is_empty() && digits.len() <= 3 {
        let after = &text[digits.len()..];
        // "1.1" is sub-numbering inside a table or a quoted form, not a clause.
        if after.starts_with('.') && !after[1..].starts_with(|ch: char| ch.is_ascii_digit()) {
            return Some((Marker::Clause(digits.parse().ok()?), digits.len() + 1));
        }
        return None;
    }
    let mut chars = text.chars();
    let letter = chars.next()?;
    if POINT_LETTERS.contains(&letter) && chars.next() == Some(')') {
        return Some((Marker::Point(letter), letter.len_utf8() + 1));
    }
    None
}

/// Puts every clause and point on its own paragraph, the way the corpus format recognises them.
///
/// Two source defects are repaired: a marker glued to its text ("1.Hôn nhân là …" becomes "1. Hôn nhân là
/// …"), and markers run into the previous paragraph ("… sau đây: a) Nam từ đủ …"). A run-in marker is only
/// split off when it is the next one expected (clause n+1 after clause n, point b) after a)) and follows
/// ":" / ";" / ".", so that references such as "khoản 1. " or "điểm a) " inside a sentence stay intact.
pub fn split_clauses_and_points(paragraphs_in: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(paragraphs_in.len());
    let mut last_clause = 0u32;
    let mut last_point: Option<char> = None;
    for paragraph in paragraphs_in {
        let mut rest = fix_glued_marker(paragraph);
        remember_marker(&rest, &mut last_clause, &mut last_point);
        loop {
            let expected_clause = last_clause + 1;
            let expected_point = match last_point {
                Some(letter) => next_point_letter(letter),
                None => Some('a'),
            };
            let Some(split_at) = find_run_in_marker(&rest, expected_clause, expected_point) else {
                break;
            };
            let head = rest[..split_at].trim_end().to_string();
            let tail = fix_glued_marker(rest[split_at..].trim_start());
            out.push(head);
            remember_marker(&tail, &mut last_clause, &mut last_point);
            rest = tail;
        }
        out.push(rest);
    }
    out
}

fn remember_marker(paragraph: &str, last_clause: &mut u32, last_point: &mut Option<char>) {
    match leading_marker(paragraph) {
        Some((Marker::Clause(number), _)) => {
            *last_clause = number;
            *last_point = None;
        }
        Some((Marker::Point(letter), _)) => *last_point = Some(letter),
        None => {}
    }
}

fn fix_glued_marker(paragraph: &str) -> String {
    if let Some((_, marker_len)) = leading_marker(paragraph) {
        let after = &paragraph[marker_len..];
        if after.starts_with(|ch: char| ch.is_alphabetic() || ch == '"' || ch == '“') {
            return format!("{} {}", &paragraph[..marker_len], after);
        }
    }
    paragraph.to_string()
}

fn find_run_in_marker(
    paragraph: &str,
    expected_clause: u32,
    expected_point: Option<char>,
) -> Option<usize> {
    let clause_marker = format!("{expected_clause}. ");
    let point_marker = expected_point.map(|letter| format!("{letter}) "));
    for (index, ch) in paragraph.char_indices() {
        if !matches!(ch, ':' | ';' | '.') {
            continue;
        }
        let after_punctuation = &paragraph[index + 1..];
        let Some(candidate) = after_punctuation.strip_prefix(' ') else {
            continue;
        };
        let candidate_start = index + 2;
        let is_clause = candidate.starts_with(&clause_marker)
            && candidate[clause_marker.len()..].starts_with(|c: char| c.is_uppercase());
        let is_point = point_marker.as_deref().is_some_and(|marker| {
            candidate.starts_with(marker)
                && candidate[marker.len()..].starts_with(|c: char| c.is_alphabetic())
        });
        // A point can only run in after ":" or ";" (lists of points end with ";"), a clause after any of the three.
        if is_clause || (is_point && ch != '.') {
            return Some(candidate_start);
        }
    }
    None
}

/// Structural heading kinds found inside scraped article text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadingKind {
    Phan,
    Chuong,
    Muc,
}

/// Recognises a bare heading label line such as "Chương III", "Mục 2", "Phần tư" or "Phần thứ hai"
/// (the title follows on the next line in the pháp điển pages).
pub fn heading_label(line: &str) -> Option<HeadingKind> {
    let (kind, rest) = if let Some(rest) = line.strip_prefix("Chương ") {
        (HeadingKind::Chuong, rest)
    } else if let Some(rest) = line.strip_prefix("Mục ") {
        (HeadingKind::Muc, rest)
    } else if let Some(rest) = line.strip_prefix("Phần ") {
        (HeadingKind::Phan, rest)
    } else {
        return None;
    };
    let rest = rest.trim_end_matches('.');
    let valid = match kind {
        HeadingKind::Chuong => is_roman_numeral(rest),
        HeadingKind::Muc => !rest.is_empty() && rest.chars().all(|ch| ch.is_ascii_digit()),
        HeadingKind::Phan => {
            // Only ordinal words: "Phần vốn góp …" at the start of a paragraph is ordinary text.
            const ORDINALS: [&str; 8] = ["nhất", "hai", "ba", "tư", "năm", "sáu", "bảy", "tám"];
            let ordinal = rest.strip_prefix("thứ ").unwrap_or(rest);
            ORDINALS.contains(&ordinal.to_lowercase().as_str())
        }
    };
    valid.then_some(kind)
}

/// True for upper-case Roman numerals ("I", "XIV").
pub fn is_roman_numeral(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|ch| matches!(ch, 'I' | 'V' | 'X' | 'L' | 'C'))
}

/// Value of an upper-case Roman numeral; `None` when it is not one.
pub fn roman_value(text: &str) -> Option<u32> {
    if !is_roman_numeral(text) {
        return None;
    }
    let digit = |ch: char| match ch {
        'I' => 1,
        'V' => 5,
        'X' => 10,
        'L' => 50,
        _ => 100,
    };
    let values: Vec<u32> = text.chars().map(digit).collect();
    let mut total = 0i64;
    for (index, value) in values.iter().enumerate() {
        let value = i64::from(*value);
        if values
            .get(index + 1)
            .is_some_and(|next| i64::from(*next) > value)
        {
            total -= value;
        } else {
            total += value;
        }
    }
    u32::try_from(total).ok()
}

/// True when a line is an all-capitals title (the second line of a heading): it has letters and none of
/// them is lower case.
pub fn is_upper_title(line: &str) -> bool {
    line.chars().any(char::is_alphabetic) && !line.chars().any(char::is_lowercase)
}

/// The pháp điển text sometimes glues the next heading to the last sentence ("…chi tiết Điều này.Chương
/// III\n\nCÔNG TY …"). This puts a line break before such a label so that `paragraphs` sees it alone.
pub fn unglue_heading_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut index = 0;
    while index < text.len() {
        let rest = &text[index..];
        let glued = [".Chương ", ".Mục ", ".Phần ", ";Chương ", ";Mục "]
            .iter()
            .find(|label| rest.starts_with(**label));
        if let Some(label) = glued {
            let label_line_end = rest[1..].find('\n').map_or(rest.len(), |end| end + 1);
            if heading_label(rest[1..label_line_end].trim()).is_some() {
                out.push_str(&label[..1]);
                out.push('\n');
                index += 1;
                continue;
            }
        }
        let ch = rest
            .chars()
            .next()
            .expect("index is on a char boundary inside the text");
        out.push(ch);
        index += ch.len_utf8();
    }
    out
}

/// Removes trailing heading paragraphs ("Chương III" + "CÔNG TY TRÁCH NHIỆM HỮU HẠN", "Mục 2" + …) that the
/// pháp điển text carries at the end of the article before them, and returns them in order as formatted
/// headings ("Chương III. CÔNG TY TRÁCH NHIỆM HỮU HẠN"). A label without a capitals title is kept as is.
pub fn take_trailing_headings(paragraphs_in: &mut Vec<String>) -> Vec<(HeadingKind, String)> {
    let mut taken = Vec::new();
    loop {
        let count = paragraphs_in.len();
        if count >= 2 && is_upper_title(&paragraphs_in[count - 1]) {
            if let Some(kind) = heading_label(&paragraphs_in[count - 2]) {
                let title = paragraphs_in.pop().expect("checked length");
                let label = paragraphs_in.pop().expect("checked length");
                taken.push((kind, format!("{}. {}", label.trim_end_matches('.'), title)));
                continue;
            }
        }
        if count >= 1 {
            if let Some(kind) = heading_label(&paragraphs_in[count - 1]) {
                let label = paragraphs_in.pop().expect("checked length");
                taken.push((kind, label));
                continue;
            }
        }
        break;
    }
    taken.reverse();
    taken
}

/// Article numbers sort numerically with an optional letter suffix ("10a" after "10").
pub fn article_sort_key(number: &str) -> (u32, String) {
    let digits: String = number
        .chars()
        .take_while(|ch| ch.is_ascii_digit())
        .collect();
    let value = digits.parse().unwrap_or(u32::MAX);
    (value, number[digits.len()..].to_string())
}

/// True for an article number as the format allows it: digits with an optional lower-case letter suffix.
pub fn is_article_number(number: &str) -> bool {
    let digits = number.chars().take_while(|ch| ch.is_ascii_digit()).count();
    let suffix = &number[digits..];
    digits > 0
        && digits <= 4
        && suffix.chars().count() <= 1
        && suffix.chars().all(|ch| ch.is_lowercase())
}

/// If a paragraph begins with "Điều <n>. <title>", returns `(n, title)`.
pub fn article_heading(paragraph: &str) -> Option<(String, String)> {
    let rest = paragraph.strip_prefix("Điều ")?;
    let dot = rest.find('.')?;
    let number = &rest[..dot];
    let after_dot = &rest[dot + 1..];
    // "Điều 12.1.LQ.44." is a compendium code, not an article number.
    if !is_article_number(number) || !(after_dot.is_empty() || after_dot.starts_with(' ')) {
        return None;
    }
    let title = after_dot.trim();
    Some((number.to_string(), title.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| line.to_string()).collect()
    }

    #[test]
    fn glued_clause_marker_gets_a_space() {
        // Điều 3 Luật HNGĐ in the compendium: "1.Hôn nhân là quan hệ …".
        let out = split_clauses_and_points(&strings(&[
            "1.Hôn nhân là quan hệ giữa vợ và chồng sau khi kết hôn.",
        ]));
        assert_eq!(
            out,
            strings(&["1. Hôn nhân là quan hệ giữa vợ và chồng sau khi kết hôn."])
        );
    }

    #[test]
    fn run_in_points_are_split_but_references_are_not() {
        let input = strings(&[
            "1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây: a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên; b) Việc kết hôn do nam và nữ tự nguyện quyết định;",
            "d) Việc kết hôn không thuộc một trong các trường hợp cấm kết hôn theo quy định tại các điểm a, b, c và d khoản 2 Điều 5 của Luật này. 2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.",
        ]);
        let out = split_clauses_and_points(&input);
        assert_eq!(
            out,
            strings(&[
                "1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:",
                "a) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;",
                "b) Việc kết hôn do nam và nữ tự nguyện quyết định;",
                "d) Việc kết hôn không thuộc một trong các trường hợp cấm kết hôn theo quy định tại các điểm a, b, c và d khoản 2 Điều 5 của Luật này.",
                "2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.",
            ])
        );
    }

    #[test]
    fn related_notes_are_removed_with_nested_parentheses() {
        let text = "2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính.(Điều này có nội dung liên quan đến Điều 1. Điều kiện kết hôn (Điều 9) của Nghị quyết 02/2000/NQ-HĐTP; Điều 15.3.LQ.18. Thủ tục đăng ký kết hôn)";
        assert_eq!(
            strip_related_notes(text),
            "2. Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính."
        );
    }

    #[test]
    fn trailing_chapter_heading_is_taken_off_the_article() {
        let text = unglue_heading_labels(
            "6. Chính phủ quy định chi tiết Điều này.Chương III\n\nCÔNG TY TRÁCH NHIỆM HỮU HẠN",
        );
        let mut body = paragraphs(&text);
        let headings = take_trailing_headings(&mut body);
        assert_eq!(body, strings(&["6. Chính phủ quy định chi tiết Điều này."]));
        assert_eq!(
            headings,
            vec![(
                HeadingKind::Chuong,
                "Chương III. CÔNG TY TRÁCH NHIỆM HỮU HẠN".to_string()
            )]
        );
    }

    #[test]
    fn roman_numerals_and_article_numbers() {
        assert_eq!(roman_value("XIV"), Some(14));
        assert_eq!(roman_value("IX"), Some(9));
        assert_eq!(roman_value("Ix"), None);
        assert!(article_sort_key("10") < article_sort_key("10a"));
        assert!(article_sort_key("9") < article_sort_key("10"));
        assert_eq!(
            article_heading("Điều 33. Đại diện ngoài tố tụng"),
            Some(("33".into(), "Đại diện ngoài tố tụng".into()))
        );
        assert_eq!(article_heading("Điều 12.1.LQ.44. Chi nhánh"), None);
        assert_eq!(article_heading("Điều 5 của Luật này"), None);
    }

    #[test]
    fn normalize_composes_and_cleans_whitespace() {
        // "ộ" written as o + combining circumflex + combining dot below.
        let decomposed = "H\u{006f}\u{0323}\u{0302}i\u{a0}Luật\r\n";
        assert_eq!(normalize(decomposed), "Hội Luật\n");
    }
}
