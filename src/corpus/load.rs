//! Reads every document of a corpus directory, in a stable order.

use std::path::Path;

use super::model::{Diagnostic, Document, Severity};
use super::parser::parse_document;

/// Files in the corpus directory that document it rather than being legal texts.
const NOT_DOCUMENTS: &[&str] = &["README.md", "FORMAT.md"];

/// What loading a corpus directory produced.
#[derive(Debug, Default)]
pub struct CorpusLoad {
    /// Documents without errors, sorted by file name.
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files left out because they had errors.
    pub rejected_files: Vec<String>,
}

impl CorpusLoad {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Loads `dir/*.md`. A file with errors is reported and left out; the rest still load, so one bad
/// file cannot take the whole service down.
pub fn load_corpus(dir: &Path) -> std::io::Result<CorpusLoad> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            !NOT_DOCUMENTS.contains(&name)
        })
        .collect();
    paths.sort();

    let mut load = CorpusLoad::default();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let bytes = std::fs::read(&path)?;
        let Ok(source) = String::from_utf8(bytes) else {
            load.diagnostics.push(Diagnostic {
                file: name.clone(),
                line: 1,
                severity: Severity::Error,
                message: "the file is not valid UTF-8".into(),
            });
            load.rejected_files.push(name);
            continue;
        };
        let outcome = parse_document(&name, &source);
        let has_errors = outcome.has_errors();
        load.diagnostics.extend(outcome.diagnostics);
        match outcome.document {
            Some(document) if !has_errors => load.documents.push(document),
            _ => load.rejected_files.push(name),
        }
    }
    Ok(load)
}
