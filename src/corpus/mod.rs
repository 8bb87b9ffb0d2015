//! The corpus: legal documents as Markdown files (format in `corpus/FORMAT.md`), parsed into a typed
//! tree, with diagnostics for everything malformed.

pub mod edit;
pub mod front_matter;
pub mod load;
pub mod model;
pub mod parser;

pub use load::{load_corpus, CorpusLoad};
pub use model::*;
pub use parser::{parse_document, ParseOutcome};
