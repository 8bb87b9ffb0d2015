//! Vietnamese text normalisation shared by the parser, the lexical encoder and the answer composer.
//!
//! Everything that compares Vietnamese text goes through here first: input from phones arrives in
//! decomposed Unicode (NFD) as often as composed, and "thủ tục" typed as NFD would otherwise not match
//! the corpus at all.

use unicode_normalization::UnicodeNormalization;

/// Composes the text (NFC). Legal texts and queries are compared only in this form.
pub fn nfc(text: &str) -> String {
    // Nearly every text is composed already; the quick check says so without the decomposition
    // and reordering buffers of a full pass (the pass is the costliest step of comparing
    // candidates with a question).
    if unicode_normalization::is_nfc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes
    {
        return text.to_owned();
    }
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
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match stripped(c) {
            Some(Stripped::Keep(base)) => out.extend(base.to_lowercase()),
            Some(Stripped::Drop) => {}
            // A full decomposition may reorder marks across characters, and Σ lowercases by
            // context: the whole text takes the general path.
            None => return strip_diacritics_by_decomposition(text),
        }
    }
    out
}

/// [`strip_diacritics`] by full canonical decomposition: what it means, for any text.
fn strip_diacritics_by_decomposition(text: &str) -> String {
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

/// What one character becomes in [`strip_diacritics`] (before lowercasing).
enum Stripped {
    Keep(char),
    Drop,
}

/// Latin letters with diacritics (Latin-1 Supplement to Latin Extended-B, and Latin Extended
/// Additional, where Vietnamese's precomposed letters are).
const LATIN_RANGES: [(u32, u32); 2] = [(0x00C0, 0x024F), (0x1E00, 0x1EFF)];

/// One character's part of [`strip_diacritics`], when it can be decided alone: ASCII; the marks
/// it drops; the Latin letters of [`LATIN_RANGES`], from a table built once by canonical
/// decomposition (every mark in their decompositions is one it drops); and any other starter that
/// does not decompose (punctuation, other scripts' letters), which no decomposition touches.
/// `None` sends the whole text down the general path.
fn stripped(c: char) -> Option<Stripped> {
    if c.is_ascii() {
        return Some(Stripped::Keep(c));
    }
    if is_combining_mark(c) {
        return Some(Stripped::Drop);
    }
    let code = c as u32;
    let mut offset = 0;
    for (start, end) in LATIN_RANGES {
        if (start..=end).contains(&code) {
            return Some(Stripped::Keep(
                latin_table()[offset + (code - start) as usize],
            ));
        }
        offset += (end - start + 1) as usize;
    }
    if c == 'Σ' || unicode_normalization::char::canonical_combining_class(c) != 0 {
        return None;
    }
    let mut unchanged = true;
    unicode_normalization::char::decompose_canonical(c, |part| unchanged &= part == c);
    unchanged.then_some(Stripped::Keep(c))
}

fn latin_table() -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        LATIN_RANGES
            .iter()
            .flat_map(|&(start, end)| start..=end)
            .map(|code| {
                let c = char::from_u32(code).expect("Latin ranges hold no surrogates");
                match c {
                    'đ' => 'd',
                    'Đ' => 'D',
                    _ => {
                        let mut base = None;
                        unicode_normalization::char::decompose_canonical(c, |part| {
                            if base.is_none() && !is_combining_mark(part) {
                                base = Some(part);
                            }
                        });
                        base.expect("a Latin letter decomposes to a base letter and marks")
                    }
                }
            })
            .collect()
    })
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

    /// The per-character path of `strip_diacritics` is only a faster way to the decomposition's
    /// result: every character alone, each Latin letter beside marks it does not compose with,
    /// and (below) any text.
    #[test]
    fn stripping_character_by_character_equals_stripping_the_decomposed_text() {
        for code in 0..=0x10FFFF_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let alone = c.to_string();
            assert_eq!(
                strip_diacritics(&alone),
                strip_diacritics_by_decomposition(&alone),
                "U+{code:04X}"
            );
        }
        for text in [
            "Thủ tục ĐĂNG KÝ kết hôn",
            "a\u{0323}\u{0302} e\u{0301}\u{0323}",
            "ΣΑΣ",
            "“Điều 8” – 1½ §",
            "\u{1EA0}\u{0591}\u{0301}",
            "İstanbul ǅ ǲ",
        ] {
            assert_eq!(
                strip_diacritics(text),
                strip_diacritics_by_decomposition(text),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        #[test]
        fn stripping_any_text_equals_stripping_it_decomposed(
            text in crate::proptest_support::outside_text(120),
        ) {
            proptest::prop_assert_eq!(strip_diacritics(&text), strip_diacritics_by_decomposition(&text));
            proptest::prop_assert_eq!(nfc(&text), text.nfc().collect::<String>());
        }

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
