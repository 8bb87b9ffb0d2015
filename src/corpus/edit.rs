//! Changing the corpus directory's files in place: saving a new or corrected document, and changing
//! a document's validity in its front matter. The staff console's corpus pages call this.
//!
//! Why it works this way:
//! - The corpus directory stays the single source of truth. A change is written there, atomically,
//!   so it survives restarts and is what `hoiluat ingest` sees; a validity change rewrites the
//!   document's front matter rather than keeping an override elsewhere.
//! - Nothing is written that the parser rejects: a document with errors is refused with its
//!   diagnostics, and a front-matter edit that would break the file is not written.
//! - A document of a bundle (the compendium layer, `phap-dien.md.zst:<file>.md`) is never rewritten
//!   inside the bundle, which the importer regenerates: a change writes a loose `<file>.md` with the
//!   changed text, and a loose file wins over the bundled document with the same số hiệu.
//! - Changes are serialised ([`CorpusFiles`] holds a lock while it reads and rewrites), so two
//!   changes to one file cannot overwrite each other.
//!
//! Errors are typed ([`EditError`]); the console words them for staff.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::Utc;

use super::load::{bundle_documents, read_bundle, BUNDLE_EXTENSION};
use super::{load_corpus, parse_document, CorpusLoad, Diagnostic, Document, Validity};
use crate::chunk::document_slug;

/// Longest accepted document, in bytes of UTF-8 (the largest shipped code is ~0.6 MB).
pub const MAX_DOCUMENT_BYTES: usize = 3 * 1024 * 1024;
/// Files of the corpus directory that describe it rather than being documents.
const NOT_DOCUMENTS: &[&str] = &["README.md", "FORMAT.md"];
/// What diagnostics of an uploaded document name as its file.
const UPLOAD_LABEL: &str = "văn bản tải lên";

/// Why a change was not made. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the document is empty")]
    Empty,
    #[error("the document is longer than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("the document has errors")]
    Invalid { diagnostics: Vec<Diagnostic> },
    #[error("no file name can be made of the document's type and number")]
    NoFileName,
    #[error("the file name {file} is taken by document {so_hieu}")]
    FileNameTaken { file: String, so_hieu: String },
    #[error("not a document file name of the corpus")]
    NotADocumentFile,
    #[error("no such document file")]
    NotFound,
    #[error("the document file is not UTF-8")]
    NotUtf8,
    #[error("the document file has errors")]
    HasErrors,
    #[error("the document file has no front matter")]
    NoFrontMatter,
    #[error("the changed front matter would not parse")]
    WouldBreak,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A document that was saved.
#[derive(Debug)]
pub struct Saved {
    /// Its file name in the corpus directory.
    pub file: String,
    pub document: Box<Document>,
    /// It replaced the file of the document with the same số hiệu.
    pub replaced_existing: bool,
    pub warnings: Vec<Diagnostic>,
}

/// A change of a document's validity: its new status, and documents that replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityChange {
    pub validity: Validity,
    /// Added to `bi_thay_the_boi` (existing entries are kept).
    pub replaced_by: Vec<String>,
}

/// A validity change that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityChanged {
    /// The file written: the document's own, or the loose override of a bundled document.
    pub file: String,
    pub so_hieu: String,
    pub before: Validity,
    pub after: Validity,
    /// Every document recorded as replacing it now.
    pub replaced_by: Vec<String>,
}

/// The corpus directory, for changes. Blocking: call from a blocking thread.
#[derive(Debug)]
pub struct CorpusFiles {
    dir: PathBuf,
    /// Held while a change reads and rewrites files.
    writes: Mutex<()>,
    /// The last listing read, with the names, sizes and modification times of the files it was
    /// read from: the corpus page lists thousands of documents, and decompressing and parsing the
    /// compendium bundle on every page view would take seconds.
    listing: Mutex<Option<(Vec<FileStamp>, std::sync::Arc<CorpusLoad>)>>,
}

/// What identifies one version of a corpus file without reading it.
type FileStamp = (String, u64, Option<std::time::SystemTime>);

impl CorpusFiles {
    pub fn new(dir: impl Into<PathBuf>) -> CorpusFiles {
        CorpusFiles {
            dir: dir.into(),
            writes: Mutex::new(()),
            listing: Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The corpus as it is on disk now, read again only when a file was added, removed or changed.
    pub fn load(&self) -> std::io::Result<std::sync::Arc<CorpusLoad>> {
        let stamps = self.stamps()?;
        let mut listing = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, load)) = listing.as_ref() {
            if *cached == stamps {
                return Ok(load.clone());
            }
        }
        let load = std::sync::Arc::new(load_corpus(&self.dir)?);
        *listing = Some((stamps, load.clone()));
        Ok(load)
    }

    fn stamps(&self) -> std::io::Result<Vec<FileStamp>> {
        let mut stamps = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".md") || name.ends_with(BUNDLE_EXTENSION)) {
                continue;
            }
            let metadata = entry.metadata()?;
            stamps.push((name, metadata.len(), metadata.modified().ok()));
        }
        stamps.sort();
        Ok(stamps)
    }

    /// The source of the document `file`, and the loose file a change of it is written to: itself,
    /// or for `<bundle>:<name>.md` a new loose `<name>.md` that overrides the bundled document.
    fn source_of(&self, file: &str) -> Result<(String, String), EditError> {
        let Some((bundle, inner)) = file.split_once(':') else {
            if !is_document_file_name(file) {
                return Err(EditError::NotADocumentFile);
            }
            let source = match std::fs::read(self.dir.join(file)) {
                Ok(bytes) => String::from_utf8(bytes).map_err(|_| EditError::NotUtf8)?,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(EditError::NotFound)
                }
                Err(error) => return Err(error.into()),
            };
            return Ok((file.to_owned(), source));
        };
        let plain_bundle = bundle.ends_with(BUNDLE_EXTENSION)
            && !bundle.starts_with('.')
            && bundle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plain_bundle || !is_document_file_name(inner) {
            return Err(EditError::NotADocumentFile);
        }
        self.check_free(inner)?;
        let text = match read_bundle(&self.dir.join(bundle)) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(EditError::NotFound)
            }
            Err(error) => return Err(error.into()),
        };
        let source = bundle_documents(&text)
            .into_iter()
            .find(|(name, _)| *name == inner)
            .map(|(_, source)| source.to_owned())
            .ok_or(EditError::NotFound)?;
        Ok((inner.to_owned(), source))
    }

    /// Refuses to write the override `file` of a bundled document over a loose file of another
    /// document (a loose file of the same document would have hidden the bundled one).
    fn check_free(&self, file: &str) -> Result<(), EditError> {
        match std::fs::read(self.dir.join(file)) {
            Ok(bytes) => {
                let source = String::from_utf8_lossy(&bytes);
                let so_hieu = parse_document(file, &source)
                    .document
                    .map(|d| d.meta.so_hieu)
                    .unwrap_or_else(|| "?".into());
                Err(EditError::FileNameTaken {
                    file: file.to_owned(),
                    so_hieu,
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Parses `markdown` and, when it has no error, writes it atomically: over the file of the
    /// document with the same số hiệu, or to a new `<loai>-<so-hieu>.md`.
    pub fn save(&self, markdown: &str) -> Result<Saved, EditError> {
        if markdown.trim().is_empty() {
            return Err(EditError::Empty);
        }
        if markdown.len() > MAX_DOCUMENT_BYTES {
            return Err(EditError::TooLarge {
                max_bytes: MAX_DOCUMENT_BYTES,
            });
        }
        let outcome = parse_document(UPLOAD_LABEL, markdown);
        let has_errors = outcome.has_errors();
        let document = match outcome.document {
            Some(document) if !has_errors => document,
            _ => {
                return Err(EditError::Invalid {
                    diagnostics: outcome.diagnostics,
                })
            }
        };
        let _writing = self.lock();
        let existing = load_corpus(&self.dir)?;
        let same_document = existing
            .documents
            .iter()
            .find(|d| d.meta.so_hieu == document.meta.so_hieu);
        let file = match same_document {
            Some(old) => match old.source_file.split_once(':') {
                // A bundled document: the corrected text becomes a loose file that overrides it.
                Some((_, inner)) => {
                    self.check_free(inner)?;
                    inner.to_owned()
                }
                None => old.source_file.clone(),
            },
            None => {
                let file = format!(
                    "{}-{}.md",
                    document_slug(&document.meta.loai_van_ban),
                    document_slug(&document.meta.so_hieu)
                );
                if NOT_DOCUMENTS.contains(&file.as_str()) || file.starts_with('-') {
                    return Err(EditError::NoFileName);
                }
                if let Some(other) = existing.documents.iter().find(|d| d.source_file == file) {
                    return Err(EditError::FileNameTaken {
                        file,
                        so_hieu: other.meta.so_hieu.clone(),
                    });
                }
                file
            }
        };
        crate::fsutil::write_atomically(&self.dir.join(&file), markdown.as_bytes())?;
        Ok(Saved {
            file,
            replaced_existing: same_document.is_some(),
            document: Box::new(document),
            warnings: outcome.diagnostics,
        })
    }

    /// Rewrites the front matter of the document `file` (a name in the corpus directory, or
    /// `<bundle>:<name>.md` for a bundled document, which gets a loose override): its status, its
    /// replacing documents, and today as the date its validity was checked.
    pub fn change_validity(
        &self,
        file: &str,
        change: &ValidityChange,
    ) -> Result<ValidityChanged, EditError> {
        let _writing = self.lock();
        let (target, source) = self.source_of(file)?;
        let path = self.dir.join(&target);
        let before = parse_document(file, &source);
        let has_errors = before.has_errors();
        let Some(old) = before.document.filter(|_| !has_errors) else {
            return Err(EditError::HasErrors);
        };
        let mut replaced_by = old.meta.bi_thay_the_boi.clone();
        for so_hieu in &change.replaced_by {
            if !replaced_by.contains(so_hieu) {
                replaced_by.push(so_hieu.clone());
            }
        }
        let mut updates = vec![
            ("tinh_trang", change.validity.slug().to_owned()),
            (
                "ngay_kiem_tra",
                Utc::now().date_naive().format("%Y-%m-%d").to_string(),
            ),
        ];
        if !replaced_by.is_empty() {
            updates.push(("bi_thay_the_boi", format!("[{}]", replaced_by.join(", "))));
        }
        let rewritten = set_front_matter(&source, &updates).ok_or(EditError::NoFrontMatter)?;
        // Never write a file the corpus would reject (the document would leave the index).
        let after = parse_document(file, &rewritten);
        if after.has_errors() || after.document.is_none() {
            return Err(EditError::WouldBreak);
        }
        crate::fsutil::write_atomically(&path, rewritten.as_bytes())?;
        Ok(ValidityChanged {
            file: target,
            so_hieu: old.meta.so_hieu,
            before: old.meta.tinh_trang,
            after: change.validity,
            replaced_by,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A plain `*.md` name of the corpus directory (no path), not one of its description files.
pub fn is_document_file_name(file: &str) -> bool {
    file.ends_with(".md")
        && file.len() <= 200
        && !file.starts_with('.')
        && !NOT_DOCUMENTS.contains(&file)
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Sets `key: value` lines of the front matter (the block between the first two `---` lines),
/// replacing a key's line where it exists and adding it before the closing `---` otherwise.
/// Everything else of the file is kept byte for byte. `None` without front matter.
pub fn set_front_matter(source: &str, updates: &[(&str, String)]) -> Option<String> {
    let mut lines: Vec<String> = source.split('\n').map(str::to_owned).collect();
    if lines.first().map(|l| l.trim()) != Some("---") {
        return None;
    }
    let mut end = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, line)| line.trim() == "---")
        .map(|(index, _)| index)?;
    for (key, value) in updates {
        let found = lines[1..end].iter().position(|line| {
            let trimmed = line.trim_start();
            !trimmed.starts_with('#')
                && trimmed
                    .split_once(':')
                    .is_some_and(|(name, _)| name.trim() == *key)
        });
        let line = format!("{key}: {value}");
        match found {
            Some(offset) => lines[1 + offset] = line,
            None => {
                lines.insert(end, line);
                end += 1;
            }
        }
    }
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "---\nso_hieu: 1/2020/QH14\n# a comment: tinh_trang\ntinh_trang: con_hieu_luc\nten: Luật A\n---\n\nĐiều 1. A\n\ntinh_trang: body text\n";

    #[test]
    fn front_matter_lines_are_replaced_or_added_and_the_rest_kept() {
        let out = set_front_matter(
            SOURCE,
            &[
                ("tinh_trang", "het_hieu_luc".into()),
                ("bi_thay_the_boi", "[2/2025/QH15]".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "---\nso_hieu: 1/2020/QH14\n# a comment: tinh_trang\ntinh_trang: het_hieu_luc\nten: Luật A\nbi_thay_the_boi: [2/2025/QH15]\n---\n\nĐiều 1. A\n\ntinh_trang: body text\n"
        );
        assert_eq!(set_front_matter("Điều 1. A\n", &[]), None);
        assert_eq!(set_front_matter("---\nso_hieu: x\n", &[]), None);
    }

    #[test]
    fn only_plain_document_names_are_accepted() {
        assert!(is_document_file_name("luat-52-2014-qh13.md"));
        for bad in [
            "../x.md",
            "a/b.md",
            "README.md",
            "FORMAT.md",
            ".hidden.md",
            "x.toml",
            "",
        ] {
            assert!(!is_document_file_name(bad), "{bad}");
        }
    }

    #[test]
    fn nothing_is_written_for_a_refused_change() {
        let dir = tempfile::tempdir().unwrap();
        let files = CorpusFiles::new(dir.path());
        assert!(matches!(files.save("  \n"), Err(EditError::Empty)));
        let invalid = files.save("---\nso_hieu: 1\n---\n").unwrap_err();
        assert!(
            matches!(&invalid, EditError::Invalid { diagnostics } if !diagnostics.is_empty()),
            "{invalid:?}"
        );
        let change = ValidityChange {
            validity: Validity::Expired,
            replaced_by: Vec::new(),
        };
        assert!(matches!(
            files.change_validity("../x.md", &change),
            Err(EditError::NotADocumentFile)
        ));
        assert!(matches!(
            files.change_validity("luat-1.md", &change),
            Err(EditError::NotFound)
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    fn bundled(so_hieu: &str, title: &str) -> String {
        format!(
            "---\nso_hieu: {so_hieu}\nten: {title}\nloai_van_ban: Luật\nco_quan_ban_hanh: Quốc hội\nngay_ban_hanh: 2014-06-19\ntinh_trang: theo_phap_dien\npham_vi: toan_quoc\nlinh_vuc: [dan-su]\nnguon: test\n---\n### Điều 1. {title}\nNội dung.\n"
        )
    }

    fn write_bundle(dir: &Path, documents: &[(&str, String)]) -> Vec<u8> {
        let mut text = String::new();
        for (file, source) in documents {
            text.push_str(&format!(
                "{}{file}\n{source}",
                super::super::load::BUNDLE_SEPARATOR
            ));
        }
        let compressed = zstd::stream::encode_all(text.as_bytes(), 3).expect("compress");
        std::fs::write(dir.join("phap-dien.md.zst"), &compressed).expect("write bundle");
        compressed
    }

    #[test]
    fn a_bundled_document_is_changed_through_a_loose_override() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = write_bundle(
            dir.path(),
            &[
                ("luat-1-2000-qh10.md", bundled("1/2000/QH10", "Luật Một")),
                ("luat-2-2000-qh10.md", bundled("2/2000/QH10", "Luật Hai")),
            ],
        );
        let files = CorpusFiles::new(dir.path());
        assert_eq!(files.load().unwrap().documents.len(), 2);

        let change = ValidityChange {
            validity: Validity::Expired,
            replaced_by: vec!["9/2024/QH15".into()],
        };
        let changed = files
            .change_validity("phap-dien.md.zst:luat-1-2000-qh10.md", &change)
            .unwrap();
        assert_eq!(changed.file, "luat-1-2000-qh10.md");
        assert_eq!(changed.before, Validity::PerCompendium);
        // The bundle is untouched; the override wins and the listing is read again.
        assert_eq!(
            std::fs::read(dir.path().join("phap-dien.md.zst")).unwrap(),
            bundle
        );
        let load = files.load().unwrap();
        let one = load
            .documents
            .iter()
            .find(|d| d.meta.so_hieu == "1/2000/QH10")
            .unwrap();
        assert_eq!(one.source_file, "luat-1-2000-qh10.md");
        assert_eq!(one.meta.tinh_trang, Validity::Expired);
        assert_eq!(one.meta.bi_thay_the_boi, vec!["9/2024/QH15".to_owned()]);
        assert_eq!(load.documents.len(), 2);

        // A corrected text of the other bundled document also becomes a loose file.
        let saved = files
            .save(&bundled("2/2000/QH10", "Luật Hai (đã sửa)"))
            .unwrap();
        assert_eq!(saved.file, "luat-2-2000-qh10.md");
        assert!(saved.replaced_existing);

        // Names that are not a bundled document of this directory are refused.
        for bad in [
            "phap-dien.md.zst:../x.md",
            "../b.md.zst:luat-1-2000-qh10.md",
            "phap-dien.md.zst:khong-co.md",
            "khong-co.md.zst:luat-1-2000-qh10.md",
        ] {
            assert!(files.change_validity(bad, &change).is_err(), "{bad}");
        }
    }
}
