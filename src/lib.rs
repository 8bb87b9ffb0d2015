//! Hỏi Luật: answers Vietnamese legal questions from real legal texts, citing the exact article.
//!
//! See `ARCHITECTURE.md` for the map of modules and the invariants they keep.

pub mod import;
pub mod corpus;
pub mod text;
pub mod embed;
pub mod lexical;
pub mod store;
pub mod fsutil;
pub mod chunk;
pub mod config;
pub mod ingest;
pub mod library;
pub mod answer;
pub mod app;
pub mod http;
