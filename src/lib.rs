//! Hỏi Luật: answers Vietnamese legal questions from real legal texts, citing the exact article.
//!
//! See `ARCHITECTURE.md` for the map of modules and the invariants they keep.

pub mod answer;
pub mod app;
pub mod bench;
pub mod channels;
pub mod chunk;
pub mod config;
pub mod corpus;
pub mod db;
pub mod embed;
pub mod eval;
pub mod fsutil;
pub mod http;
pub mod import;
pub mod ingest;
pub mod jsonutil;
pub mod lexical;
pub mod library;
pub mod logging;
pub mod metrics;
pub mod named;
pub mod platform;
pub mod ready;
pub mod staff;
pub mod store;
pub mod text;
pub mod vector_cache;

/// What the property tests share: how many cases each runs.
#[cfg(test)]
pub(crate) mod proptest_support {
    /// Cases per property: 2,000 in `make test`; `PROPTEST_CASES` raises it for the longer run
    /// (README, "Tests").
    pub fn config() -> proptest::prelude::ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000);
        proptest::prelude::ProptestConfig {
            cases,
            // Shrinking a failure is worth little time in CI; the failing input is printed.
            max_shrink_iters: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        }
    }

    /// Text people paste: letters with and without diacritics (NFC and NFD), every kind of space
    /// and line break, control and zero-width characters, emoji, and any other character.
    pub fn outside_text(max_chars: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => proptest::sample::select(vec![
                "Điều", "kết", "hôn", "nộp", "ở", "đâu", "Khoản", "thủ tục", "ly hôn",
                "ho so", "a)", "1.", "Chương I", "Mục 2", "0905 123 456", "(0255) 3822 123",
                "lan@gmail.com", "ko", "dc", "đc", "?", ".", ". ", "\n", "\n\n", " ", "\t", "\r\n",
                "\u{a0}", "\u{3000}", "\u{2003}", "\u{200b}", "\u{feff}", "\u{8}", "\u{85}",
                "\u{202e}", "👍", "👍🏻", "e\u{301}", "Nghị định 100/2019/NĐ-CP", "—", "–",
            ]).prop_map(str::to_owned),
            2 => any::<char>().prop_map(String::from),
            1 => "[a-zA-Z0-9 ]{1,12}",
        ];
        proptest::collection::vec(piece, 0..max_chars.max(1)).prop_map(|pieces| pieces.concat())
    }
}
