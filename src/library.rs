//! The corpus in memory, by article id: what answers quote from and `GET /v1/articles/{id}` serves.
//! The index stores chunks for search; the authoritative text of an article is always taken from
//! here, so a quote is exactly the corpus text.

use std::collections::HashMap;
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
