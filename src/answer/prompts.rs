//! Loads the fixed wording and templates of `prompts/` and renders them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
#[error("prompt file {file}: {message}")]
pub struct PromptError {
    pub file: String,
    pub message: String,
}

/// Everything answers are worded with.
#[derive(Debug, Clone)]
pub struct Prompts {
    pub wording: Wording,
    pub out_of_scope: Vec<OutOfScopeCategory>,
    /// Topics whose questions are always flagged for staff (`sensitive.toml`).
    pub sensitive: Vec<SensitiveTopic>,
    pub answer_template: String,
    pub quote_template: String,
    /// Chat wording → legal terms, for searching (`vocabulary.toml`).
    pub vocabulary: super::query::Vocabulary,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    pub lead_single: String,
    pub lead_multiple: String,
    pub validity_warning: String,
    pub review_notice: String,
    pub disclaimer: String,
    pub declined_no_answer: String,
    pub declined_not_in_force: String,
    pub replaced_by: String,
    pub citation_validity: String,
    pub citation_validity_unknown_date: String,
    pub unverified_validity: String,
    pub article_amended: String,
    pub amended_since: String,
    pub document_amended: String,
    /// After the text of a curated (staff-approved) answer.
    pub curated_notice: String,
    /// The articles a curated answer rests on: `{references}`.
    pub curated_basis: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfScopeCategory {
    pub id: String,
    pub patterns: Vec<String>,
    pub reply: String,
    /// Declines of this category are flagged for staff review.
    #[serde(default)]
    pub review: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveTopic {
    pub id: String,
    /// Shown to staff: "Trẻ em".
    pub label: String,
    pub patterns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveFile {
    topic: Vec<SensitiveTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutOfScopeFile {
    category: Vec<OutOfScopeCategory>,
}

impl Prompts {
    pub fn load(dir: &Path) -> Result<Prompts, PromptError> {
        let wording: Wording = parse_toml(dir, "wording.toml")?;
        let out_of_scope: OutOfScopeFile = parse_toml(dir, "out_of_scope.toml")?;
        let prompts = Prompts {
            wording,
            out_of_scope: out_of_scope.category,
            sensitive: parse_toml::<SensitiveFile>(dir, "sensitive.toml")?.topic,
            answer_template: read(dir, "answer.md")?,
            quote_template: read(dir, "quote.md")?,
            vocabulary: super::query::Vocabulary::from_file(parse_toml(dir, "vocabulary.toml")?),
        };
        prompts.check()?;
        Ok(prompts)
    }

    /// Fails at start-up rather than mid-answer when a template lost a placeholder.
    fn check(&self) -> Result<(), PromptError> {
        let required: [(&str, &str, &[&str]); 8] = [
            (
                "answer.md",
                &self.answer_template,
                &["{lead}", "{quotes}", "{disclaimer}"],
            ),
            ("quote.md", &self.quote_template, &["{text}", "{citation}"]),
            ("wording.toml", &self.wording.lead_single, &["{citation}"]),
            (
                "wording.toml",
                &self.wording.lead_multiple,
                &["{citations}"],
            ),
            (
                "wording.toml",
                &self.wording.article_amended,
                &["{article}", "{document}", "{amended_by}"],
            ),
            (
                "wording.toml",
                &self.wording.document_amended,
                &["{document}", "{amended_by}"],
            ),
            (
                "wording.toml",
                &self.wording.unverified_validity,
                &["{document}", "{validity}"],
            ),
            (
                "wording.toml",
                &self.wording.curated_basis,
                &["{references}"],
            ),
        ];
        for (file, template, placeholders) in required {
            for placeholder in placeholders {
                if !template.contains(placeholder) {
                    return Err(PromptError {
                        file: file.into(),
                        message: format!("missing placeholder {placeholder}"),
                    });
                }
            }
        }
        Ok(())
    }
}

fn read(dir: &Path, name: &str) -> Result<String, PromptError> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| PromptError {
        file: name.into(),
        message: e.to_string(),
    })
}

fn parse_toml<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T, PromptError> {
    toml::from_str(&read(dir, name)?).map_err(|e| PromptError {
        file: name.into(),
        message: e.to_string(),
    })
}

/// Replaces `{name}` placeholders. Unknown placeholders stay as they are, so a typo shows up in the
/// rendered text (and in the rendering tests) instead of vanishing.
pub fn render(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The repository's own `prompts/` directory, for tests.
#[cfg(test)]
pub fn repo_prompts() -> Prompts {
    Prompts::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")).expect("prompts/ loads")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_prompts_load() {
        let prompts = repo_prompts();
        assert!(prompts.out_of_scope.len() >= 4);
        assert!(prompts
            .wording
            .disclaimer
            .contains("không phải là tư vấn pháp lý"));
    }

    #[test]
    fn render_fills_known_placeholders_only() {
        let values = BTreeMap::from([("a", "một".to_owned())]);
        assert_eq!(render("{a} và {b}", &values), "một và {b}");
    }

    #[test]
    fn missing_placeholder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        for file in [
            "wording.toml",
            "out_of_scope.toml",
            "sensitive.toml",
            "answer.md",
            "vocabulary.toml",
        ] {
            std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
        }
        std::fs::write(dir.path().join("quote.md"), "{text}").unwrap();
        let error = Prompts::load(dir.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "prompt file quote.md: missing placeholder {citation}"
        );
    }
}
