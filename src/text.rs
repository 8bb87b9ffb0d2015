//! Vietnamese text normalisation shared by the parser, the lexical encoder and the answer composer.
//!
//! Everything that compares Vietnamese text goes through here first: input from phones arrives in
//! decomposed Unicode (NFD) as often as composed, and "thủ tục" typed as NFD would otherwise not match
//! the corpus at all.

use unicode_normalization::UnicodeNormalization;

/// Composes the text (NFC). Legal texts and queries are compared only in this form.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// Lowercases after NFC. `Đ` lowercases to `đ` correctly with Rust's Unicode tables.
pub fn fold_case(text: &str) -> String {
    nfc(text).to_lowercase()
}

/// Removes Vietnamese tone marks and vowel diacritics, and maps `đ` to `d`, so "thủ tục ly hôn" and
/// "thu tuc ly hon" meet. Input may be in any normalisation form; output is lowercase ASCII for
/// Vietnamese letters (other scripts keep their base characters).
pub fn strip_diacritics(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            other => other,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Combining diacritical marks (U+0300–U+036F) are what NFD splits Vietnamese tones and vowel
/// modifiers into.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// True when the text carries no Vietnamese diacritics at all: a hint that the user typed without
/// them, so the diacritics-free lexical channel should weigh more.
pub fn lacks_diacritics(text: &str) -> bool {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return false;
    }
    letters.iter().all(|c| c.is_ascii())
}

/// Splits into syllables: maximal runs of alphanumeric characters after case folding.
/// Vietnamese words are written as space-separated syllables, so this is the natural lexical unit.
pub fn syllables(text: &str) -> Vec<String> {
    fold_case(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Collapses runs of whitespace to single spaces and trims.
pub fn squash_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What text pasted from documents and other apps carries that cannot matter, removed or replaced
/// before a question is checked: C0 and C1 control characters (line breaks and tabs stay; CR LF,
/// CR and NEL become LF), zero-width and direction-formatting characters, the soft hyphen, and
/// odd spaces (no-break, ideographic, thin…), which become plain spaces.
pub fn clean_input(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                // CR LF is one line break.
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}' => out.push(' '),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Zero-width characters, direction marks and overrides, the soft hyphen and the byte-order mark:
/// invisible, and meaningless in a question.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Whether `text` holds a Unicode noncharacter (U+FDD0–U+FDEF, or the last two code points of a
/// plane): no real text does, so such input is garbage, refused rather than guessed at.
pub fn has_unusable_characters(text: &str) -> bool {
    text.chars().any(|c| {
        let code = u32::from(c);
        (0xfdd0..=0xfdef).contains(&code) || code & 0xfffe == 0xfffe
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tones_and_d_bar() {
        assert_eq!(strip_diacritics("Thủ tục ly hôn"), "thu tuc ly hon");
        assert_eq!(strip_diacritics("Đăng ký kết hôn"), "dang ky ket hon");
        assert_eq!(strip_diacritics("người được hưởng"), "nguoi duoc huong");
    }

    #[test]
    fn nfd_input_composes() {
        let decomposed: String = "hôn nhân".nfd().collect();
        assert_ne!(decomposed, "hôn nhân");
        assert_eq!(nfc(&decomposed), "hôn nhân");
        assert_eq!(syllables(&decomposed), vec!["hôn", "nhân"]);
    }

    #[test]
    fn detects_missing_diacritics() {
        assert!(lacks_diacritics("thu tuc dang ky ket hon can giay to gi"));
        assert!(!lacks_diacritics("thủ tục đăng ký kết hôn"));
        assert!(!lacks_diacritics("123 ?"));
    }

    #[test]
    fn syllables_split_on_punctuation() {
        assert_eq!(
            syllables("Điều 8. Điều kiện kết hôn;"),
            vec!["điều", "8", "điều", "kiện", "kết", "hôn"]
        );
    }

    #[test]
    fn pasted_invisible_and_control_characters_are_removed() {
        assert_eq!(
            clean_input("\u{8}Thủ\u{a0}tục\u{200b} kết\u{3000}hôn?\r\nNộp\u{85}ở đâu\u{feff}"),
            "Thủ tục kết hôn?\nNộp\nở đâu"
        );
        assert_eq!(
            clean_input("a\tb\rc\u{1b}[31m\u{202e}d\u{9f}"),
            "a\tb\nc[31md"
        );
        assert_eq!(clean_input("👍🏻\u{fe0f}"), "👍🏻\u{fe0f}");
        assert!(has_unusable_characters("kết hôn\u{ffff}"));
        assert!(has_unusable_characters("\u{fdd0}"));
        assert!(has_unusable_characters("\u{10fffe}"));
        assert!(!has_unusable_characters("kết hôn\u{fffd} 👍 \u{e000}"));
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// Cleaning leaves no control character but line breaks and tabs, is idempotent, and
        /// keeps every letter and digit.
        #[test]
        fn cleaning_keeps_letters_and_drops_controls(
            text in crate::proptest_support::outside_text(120),
        ) {
            let cleaned = clean_input(&text);
            proptest::prop_assert!(cleaned.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            proptest::prop_assert_eq!(clean_input(&cleaned), cleaned.clone());
            let letters = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).collect::<String>();
            proptest::prop_assert_eq!(letters(&cleaned), letters(&text));
        }
    }
}
