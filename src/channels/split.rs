//! Splitting long replies into the parts a platform accepts: on a paragraph break if one is near
//! the limit, else a line break, else the end of a sentence, else a space — never inside a word,
//! unless one "word" (a long URL) is itself longer than the limit.

/// Length as the platform counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Unicode scalar values (Zalo's 2,000 characters).
    Chars,
    /// UTF-16 code units (Telegram's 4,096).
    Utf16,
}

impl Measure {
    pub fn len(self, text: &str) -> usize {
        match self {
            Measure::Chars => text.chars().count(),
            Measure::Utf16 => text.encode_utf16().count(),
        }
    }

    fn char_len(self, c: char) -> usize {
        match self {
            Measure::Chars => 1,
            Measure::Utf16 => c.len_utf16(),
        }
    }
}

/// Splits `text` into trimmed, non-empty parts of at most `max` units each.
pub fn split_message(text: &str, max: usize, measure: Measure) -> Vec<String> {
    assert!(max >= 16, "a part limit below 16 units makes no sense");
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if measure.len(rest) <= max {
            parts.push(rest.to_owned());
            break;
        }
        // The longest prefix that fits, as a byte offset.
        let mut units = 0;
        let mut fit = 0;
        for (offset, c) in rest.char_indices() {
            units += measure.char_len(c);
            if units > max {
                break;
            }
            fit = offset + c.len_utf8();
        }
        let window = &rest[..fit];
        let cut = best_cut(window, rest[fit..].starts_with(char::is_whitespace)).unwrap_or(fit);
        let (part, tail) = rest.split_at(cut);
        let part = part.trim();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        rest = tail.trim_start();
    }
    parts
}

/// Where to cut `window` (a byte offset after the boundary), preferring bigger boundaries that are
/// not too early. `next_is_space`: the text right after the window starts with whitespace, so
/// cutting at the window's end does not split a word.
fn best_cut(window: &str, next_is_space: bool) -> Option<usize> {
    let len = window.len();
    let late_enough = |at: usize, fraction: usize| at * fraction >= len;
    if let Some(at) = window.rfind("\n\n").filter(|&at| late_enough(at, 2)) {
        return Some(at + 2);
    }
    if let Some(at) = window.rfind('\n').filter(|&at| late_enough(at, 2)) {
        return Some(at + 1);
    }
    let sentence_end = [". ", "? ", "! ", "; ", ": "]
        .iter()
        .filter_map(|end| window.rfind(end).map(|at| at + end.len()))
        .max();
    if let Some(at) = sentence_end.filter(|&at| late_enough(at, 3)) {
        return Some(at);
    }
    if next_is_space {
        return Some(len);
    }
    // After the whole space: a no-break space (U+00A0, common in text pasted from Word or the
    // web) or an ideographic one is 2-3 bytes, and a cut inside it would not be a char boundary.
    window
        .char_indices()
        .rev()
        .find(|&(at, c)| at > 0 && c.is_whitespace())
        .map(|(at, c)| at + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(
            split_message("  Xin chào.  ", 2000, Measure::Chars),
            vec!["Xin chào."]
        );
        assert!(split_message("   ", 2000, Measure::Chars).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_sentences_and_never_cuts_words() {
        let paragraph =
            "Điều kiện kết hôn gồm nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên. "
                .repeat(12);
        let text = format!("{paragraph}\n\n{paragraph}\n\n{paragraph}");
        let parts = split_message(&text, 2000, Measure::Chars);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert!(
            parts[0].ends_with("trở lên."),
            "cut at a paragraph end: {:?}",
            &parts[0][parts[0].len() - 30..]
        );
        // Without paragraph breaks it still ends parts on sentences.
        let long = "Người lao động có quyền đơn phương chấm dứt hợp đồng. ".repeat(100);
        let parts = split_message(&long, 300, Measure::Chars);
        for part in &parts {
            assert!(part.chars().count() <= 300);
            assert!(part.ends_with("đồng."), "{part}");
        }
        // Joined back, nothing is lost.
        let words: Vec<&str> = long.split_whitespace().collect();
        let joined = parts.join(" ");
        assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), words);
    }

    #[test]
    fn words_are_kept_whole_and_long_tokens_are_cut() {
        let text = "hợp đồng ".repeat(50);
        for part in split_message(&text, 37, Measure::Chars) {
            assert!(part.chars().count() <= 37);
            for word in part.split(' ') {
                assert!(word == "hợp" || word == "đồng", "{word:?}");
            }
        }
        let url = format!("https://vbpl.vn/{}", "a".repeat(100));
        let parts = split_message(&url, 40, Measure::Chars);
        assert_eq!(parts.concat(), url);
    }

    #[test]
    fn multi_byte_spaces_are_cut_after_whole_characters() {
        // U+00A0 (pasted from Word or a web page), U+3000 and U+2003 are whitespace of 2-3 bytes.
        for space in ['\u{a0}', '\u{3000}', '\u{2003}'] {
            let text = format!("Điều{space}kiện").repeat(300);
            for measure in [Measure::Chars, Measure::Utf16] {
                let parts = split_message(&text, 2000, measure);
                assert!(parts.iter().all(|p| measure.len(p) <= 2000));
                let kept: String = parts
                    .concat()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let sent: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                assert_eq!(kept, sent);
            }
        }
    }

    #[test]
    fn utf16_measure_counts_astral_characters_twice() {
        let text = "👍".repeat(30);
        let parts = split_message(&text, 20, Measure::Utf16);
        assert!(parts.iter().all(|p| Measure::Utf16.len(p) <= 20));
        assert_eq!(parts.concat(), text);
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Every part fits, is trimmed and non-empty, and nothing but whitespace is lost, for any
        /// text and limit, in both measures.
        #[test]
        fn parts_fit_and_keep_every_character(
            text in crate::proptest_support::outside_text(600),
            max in 16usize..300,
            utf16 in proptest::bool::ANY,
        ) {
            let measure = if utf16 { Measure::Utf16 } else { Measure::Chars };
            let parts = split_message(&text, max, measure);
            for part in &parts {
                proptest::prop_assert!(measure.len(part) <= max, "{} > {max}", measure.len(part));
                proptest::prop_assert!(!part.is_empty());
                proptest::prop_assert_eq!(part.trim(), part.as_str());
            }
            let kept: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let sent: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            proptest::prop_assert_eq!(kept, sent);
        }
    }
}
