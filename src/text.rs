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
}
