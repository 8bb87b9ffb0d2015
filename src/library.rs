//! The corpus in memory, by article id: what answers quote from and `GET /v1/articles/{id}` serves.
//! The index stores chunks for search; the authoritative text of an article is always taken from
//! here, so a quote is exactly the corpus text.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::chunk::article_id;
use crate::corpus::{Article, Document, Metadata};

/// One article with the metadata of its document.
#[derive(Debug, Clone)]
pub struct LibraryArticle {
    pub id: String,
    pub document: Arc<Metadata>,
    pub article: Article,
    /// Index of the article within its document, for quoting in the law's order.
    pub position: usize,
    /// How many articles its document has (the position's scale, for ranking).
    pub document_len: usize,
    /// Bytes of the article's body text (a ranking feature), counted once here: building the
    /// text for each candidate of each question cost more than ranking it.
    pub body_len: usize,
    /// Whether its document is a loose corpus file (the curated core) rather than bundled.
    pub core: bool,
    /// The amending documents whose changes to this document are recorded article by article
    /// (any article's `sua_doi`). An amending document listed in the front matter but not here
    /// may have changed any article, so every quote of the document mentions it.
    pub recorded_amenders: Arc<BTreeSet<String>>,
}

#[derive(Debug, Default)]
pub struct Library {
    articles: HashMap<String, LibraryArticle>,
    documents: Vec<Arc<Metadata>>,
}

impl Library {
    pub fn from_documents(documents: &[Document]) -> Library {
        let mut library = Library::default();
        for document in documents {
            let meta = Arc::new(document.meta.clone());
            library.documents.push(meta.clone());
            let recorded_amenders: Arc<BTreeSet<String>> = Arc::new(
                document
                    .articles
                    .iter()
                    .flat_map(|article| &article.amendments)
                    .map(|amendment| amendment.by.clone())
                    .collect(),
            );
            for (position, article) in document.articles.iter().enumerate() {
                let id = article_id(&meta.so_hieu, article);
                library
                    .articles
                    .entry(id.clone())
                    .or_insert_with(|| LibraryArticle {
                        id,
                        document: meta.clone(),
                        article: article.clone(),
                        position,
                        document_len: document.articles.len(),
                        body_len: article.body_text().len(),
                        core: !document.is_bundled(),
                        recorded_amenders: recorded_amenders.clone(),
                    });
            }
        }
        library
    }

    pub fn article(&self, id: &str) -> Option<&LibraryArticle> {
        self.articles.get(id)
    }

    pub fn documents(&self) -> &[Arc<Metadata>] {
        &self.documents
    }

    /// Every article, in no particular order.
    pub fn articles(&self) -> impl Iterator<Item = &LibraryArticle> {
        self.articles.values()
    }

    pub fn article_count(&self) -> usize {
        self.articles.len()
    }
}
