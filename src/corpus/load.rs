//! Reads every document of a corpus directory, in a stable order: the loose Markdown files, then
//! the documents of compressed bundles (`*.md.zst`, the generated compendium layer). A loose file
//! wins over a bundled document with the same số hiệu, so the curated core and a document staff
//! edited are each indexed once, in their own version.

use std::collections::HashSet;
use std::io::Read;

use sha2::{Digest, Sha256};
use std::path::Path;

use super::model::{Diagnostic, Document, Severity};
use super::parser::parse_document;

/// Files in the corpus directory that document it rather than being legal texts.
const NOT_DOCUMENTS: &[&str] = &["README.md", "FORMAT.md"];

/// Extension of a bundle: zstd-compressed Markdown documents, each introduced by a
/// [`BUNDLE_SEPARATOR`] line naming its file.
pub const BUNDLE_EXTENSION: &str = ".md.zst";
/// Starts the line that introduces each document of a bundle: `%%% luat-32-2004-qh11.md`. No line of
/// a corpus document may start with it (the bundle writer checks).
pub const BUNDLE_SEPARATOR: &str = "%%% ";
/// A decompressed bundle larger than this is refused rather than read into memory.
const MAX_BUNDLE_BYTES: u64 = 512 * 1024 * 1024;

/// What loading a corpus directory produced.
#[derive(Debug, Default)]
pub struct CorpusLoad {
    /// Documents without errors, sorted by file name.
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files left out because they had errors.
    pub rejected_files: Vec<String>,
    /// Bundled documents left out because a loose file has the same số hiệu.
    pub overridden: Vec<String>,
    /// SHA-256 of every file name and text read, in order: the same digest means the same corpus,
    /// so a start with a complete index need not chunk it again.
    pub source_digest: String,
}

impl CorpusLoad {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Loads `dir/*.md`, then the documents of `dir/*.md.zst`. A file with errors is reported and left
/// out; the rest still load, so one bad file cannot take the whole service down.
pub fn load_corpus(dir: &Path) -> std::io::Result<CorpusLoad> {
    let mut markdown = Vec::new();
    let mut bundles = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(BUNDLE_EXTENSION) {
            bundles.push(path);
        } else if name.ends_with(".md") && !NOT_DOCUMENTS.contains(&name.as_str()) {
            markdown.push(path);
        }
    }
    markdown.sort();
    bundles.sort();

    let mut load = CorpusLoad::default();
    let mut digest = Sha256::new();
    for path in markdown {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let bytes = std::fs::read(&path)?;
        digest.update(name.as_bytes());
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(&bytes);
        match String::from_utf8(bytes) {
            Ok(source) => load.add(&name, &source),
            Err(_) => load.reject_not_utf8(name),
        }
    }
    let loose: HashSet<String> = load
        .documents
        .iter()
        .map(|document| so_hieu_key(&document.meta.so_hieu))
        .collect();
    for path in bundles {
        let bundle_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let text = match read_bundle(&path) {
            Ok(text) => text,
            Err(error) => {
                load.diagnostics.push(Diagnostic {
                    file: bundle_name.clone(),
                    line: 1,
                    severity: Severity::Error,
                    message: format!("the bundle cannot be read: {error}"),
                });
                load.rejected_files.push(bundle_name);
                continue;
            }
        };
        digest.update(bundle_name.as_bytes());
        digest.update((text.len() as u64).to_le_bytes());
        digest.update(text.as_bytes());
        for (name, source) in bundle_documents(&text) {
            let before = load.documents.len();
            load.add(&format!("{bundle_name}:{name}"), source);
            if load.documents.len() > before {
                let added = &load.documents[before];
                if loose.contains(&so_hieu_key(&added.meta.so_hieu)) {
                    let overridden = load.documents.pop().map(|d| d.source_file);
                    load.overridden.extend(overridden);
                }
            }
        }
    }
    load.source_digest = hex::encode(&digest.finalize()[..16]);
    Ok(load)
}

impl CorpusLoad {
    fn add(&mut self, name: &str, source: &str) {
        let outcome = parse_document(name, source);
        let has_errors = outcome.has_errors();
        self.diagnostics.extend(outcome.diagnostics);
        match outcome.document {
            Some(document) if !has_errors => self.documents.push(document),
            _ => self.rejected_files.push(name.to_owned()),
        }
    }

    fn reject_not_utf8(&mut self, name: String) {
        self.diagnostics.push(Diagnostic {
            file: name.clone(),
            line: 1,
            severity: Severity::Error,
            message: "the file is not valid UTF-8".into(),
        });
        self.rejected_files.push(name);
    }
}

/// Decompresses a bundle, refusing one that would not fit comfortably in memory.
pub fn read_bundle(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut decoder = zstd::stream::read::Decoder::new(file)?.take(MAX_BUNDLE_BYTES + 1);
    let mut bytes = Vec::new();
    decoder.read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(std::io::Error::other(format!(
            "more than {MAX_BUNDLE_BYTES} bytes once decompressed"
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not valid UTF-8"))
}

/// Splits a decompressed bundle into `(file name, document source)` pairs. Text before the first
/// separator (there is none in a bundle the importer wrote) is ignored.
pub fn bundle_documents(text: &str) -> Vec<(&str, &str)> {
    let mut documents = Vec::new();
    let mut current: Option<(&str, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix(BUNDLE_SEPARATOR) {
            if let Some((previous, start)) = current {
                documents.push((previous, &text[start..offset]));
            }
            current = Some((name.trim(), offset + line.len()));
        }
        offset += line.len();
    }
    if let Some((name, start)) = current {
        documents.push((name, &text[start..]));
    }
    documents
}

/// Số hiệu compared without case or spaces: "45/2019/qh14" is "45/2019/QH14".
pub fn so_hieu_key(so_hieu: &str) -> String {
    crate::text::nfc(so_hieu)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(so_hieu: &str, title: &str) -> String {
        format!(
            "---\nso_hieu: {so_hieu}\nten: {title}\nloai_van_ban: Luật\nco_quan_ban_hanh: Quốc hội\nngay_ban_hanh: 2014-06-19\ntinh_trang: theo_phap_dien\npham_vi: toan_quoc\nlinh_vuc: [dan-su]\nnguon: test\n---\n### Điều 1. {title}\nNội dung.\n"
        )
    }

    fn write_bundle(dir: &Path, name: &str, documents: &[(&str, String)]) {
        let mut text = String::new();
        for (file, source) in documents {
            text.push_str(&format!("{BUNDLE_SEPARATOR}{file}\n{source}"));
        }
        let compressed = zstd::stream::encode_all(text.as_bytes(), 3).expect("compress");
        std::fs::write(dir.join(name), compressed).expect("write bundle");
    }

    #[test]
    fn bundled_documents_load_and_loose_files_win() {
        let dir = tempfile::tempdir().expect("temporary directory");
        write_bundle(
            dir.path(),
            "phap-dien.md.zst",
            &[
                ("luat-1-2000-qh10.md", document("1/2000/QH10", "Luật Một")),
                (
                    "luat-2-2000-qh10.md",
                    document("2/2000/qh10", "Luật Hai (cũ)"),
                ),
            ],
        );
        std::fs::write(
            dir.path().join("luat-2-2000-qh10.md"),
            document("2/2000/QH10", "Luật Hai"),
        )
        .expect("write loose file");
        let load = load_corpus(dir.path()).expect("loads");
        assert_eq!(load.error_count(), 0, "{:?}", load.diagnostics);
        let titles: Vec<(&str, bool)> = load
            .documents
            .iter()
            .map(|d| (d.meta.ten.as_str(), d.is_bundled()))
            .collect();
        assert_eq!(titles, [("Luật Hai", false), ("Luật Một", true)]);
        assert_eq!(
            load.overridden,
            ["phap-dien.md.zst:luat-2-2000-qh10.md"],
            "the bundled copy of a loose document is left out, compared without case"
        );
        assert_eq!(
            load.documents[1].source_file,
            "phap-dien.md.zst:luat-1-2000-qh10.md"
        );

        let digest = load.source_digest.clone();
        assert_eq!(
            load_corpus(dir.path()).expect("loads").source_digest,
            digest
        );
        std::fs::write(
            dir.path().join("luat-2-2000-qh10.md"),
            document("2/2000/QH10", "Luật Hai, sửa"),
        )
        .expect("edit");
        assert_ne!(
            load_corpus(dir.path()).expect("loads").source_digest,
            digest,
            "an edited file changes the digest"
        );
    }

    #[test]
    fn a_damaged_bundle_is_reported_and_the_rest_loads() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("broken.md.zst"), b"not zstd at all").expect("write");
        std::fs::write(
            dir.path().join("luat-1-2000-qh10.md"),
            document("1/2000/QH10", "Luật Một"),
        )
        .expect("write");
        let load = load_corpus(dir.path()).expect("loads");
        assert_eq!(load.documents.len(), 1);
        assert_eq!(load.rejected_files, ["broken.md.zst"]);
        assert!(load.diagnostics[0]
            .message
            .contains("bundle cannot be read"));
    }

    #[test]
    fn bundle_documents_split_on_separator_lines_only() {
        let text = "%%% a.md\n---\nx\n%%% b.md\nbody %%% not a separator\n";
        assert_eq!(
            bundle_documents(text),
            [("a.md", "---\nx\n"), ("b.md", "body %%% not a separator\n")]
        );
        assert!(bundle_documents("").is_empty());
    }
}
