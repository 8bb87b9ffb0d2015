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
