//! Question-set formats, read into one [`Question`] shape. See the module docs of `eval`.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// What the service should do with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Answer, citing a gold article (when the gold is in the index).
    Answer,
    /// Decline: out of scope, unlawful, or law the corpus does not hold.
    Decline,
}

/// A gold article, by document (số hiệu or, for ALQAC, the law's name) and article number, or by
/// pháp điển id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoldRef {
    pub so_hieu: Option<String>,
    pub law: Option<String>,
    pub dieu: String,
    pub phapdien_ids: Vec<String>,
}

/// One evaluation question in the common shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    /// Breakdown key: our sets' `kind`, ALQAC's `question_type`, or "zalo".
    pub kind: String,
    pub question: String,
    /// Earlier questions of the same conversation, asked first.
    pub history: Vec<String>,
    pub expect: Expect,
    pub gold: Vec<GoldRef>,
}

/// A JSONL line of any of our formats: our sets, zalo-phapdien, out-of-scope. Also what
/// `reviewed.rs` writes, so that the sets this service writes are read by the same definition.
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct JsonlQuestion {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<String>,
    pub(super) question: String,
    #[serde(default)]
    pub(super) history: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) expect: Option<Expect>,
    #[serde(default)]
    pub(super) gold: Vec<JsonlGold>,
    /// Where the question came from, for people; not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) note: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub(super) struct JsonlGold {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) so_hieu: Option<String>,
    #[serde(deserialize_with = "crate::jsonutil::string_or_number")]
    pub(super) dieu: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) phapdien_ids: Vec<String>,
}

/// An ALQAC question.
#[derive(Debug, Deserialize)]
struct AlqacQuestion {
    question_id: Option<String>,
    question_type: Option<String>,
    text: String,
    #[serde(default)]
    relevant_articles: Vec<AlqacArticle>,
}

#[derive(Debug, Deserialize)]
struct AlqacArticle {
    law_id: String,
    #[serde(deserialize_with = "crate::jsonutil::string_or_number")]
    article_id: String,
}

/// Reads a question set: a JSON array (ALQAC) or JSON lines (every other format).
pub fn load_set(path: &Path) -> anyhow::Result<Vec<Question>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the question set {}", path.display()))?;
    parse_set(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse_set(text: &str) -> anyhow::Result<Vec<Question>> {
    if text.trim_start().starts_with('[') {
        let items: Vec<AlqacQuestion> = serde_json::from_str(text)?;
        return Ok(items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Question {
                id: item
                    .question_id
                    .unwrap_or_else(|| format!("q{}", index + 1)),
                kind: item.question_type.unwrap_or_else(|| "alqac".into()),
                question: item.text,
                history: Vec::new(),
                expect: Expect::Answer,
                gold: item
                    .relevant_articles
                    .into_iter()
                    .map(|a| GoldRef {
                        law: Some(a.law_id),
                        dieu: a.article_id,
                        ..GoldRef::default()
                    })
                    .collect(),
            })
            .collect());
    }
    let mut questions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: JsonlQuestion =
            serde_json::from_str(line).with_context(|| format!("line {}", index + 1))?;
        let expect = item.expect.unwrap_or(if item.gold.is_empty() {
            Expect::Decline
        } else {
            Expect::Answer
        });
        let kind = item.kind.unwrap_or_else(|| {
            if item.gold.iter().any(|g| !g.phapdien_ids.is_empty()) {
                "zalo".into()
            } else {
                "unlabelled".into()
            }
        });
        questions.push(Question {
            id: item.id.unwrap_or_else(|| format!("line-{}", index + 1)),
            kind,
            question: item.question,
            history: item.history,
            expect,
            gold: item
                .gold
                .into_iter()
                .map(|g| GoldRef {
                    so_hieu: g.so_hieu,
                    law: None,
                    dieu: g.dieu,
                    phapdien_ids: g.phapdien_ids,
                })
                .collect(),
        });
    }
    Ok(questions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zalo_lines() {
        let set = parse_set(r#"{"id": "ba57", "question": "Tại trụ sở tổ chức trợ giúp pháp lý thì có cần niêm yết lịch không?", "gold": [{"so_hieu": "11/2017/qh14", "dieu": "28", "phapdien_ids": ["tro-giup-phap-ly::4.5.LQ.28"]}]}"#).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].kind, "zalo");
        assert_eq!(set[0].expect, Expect::Answer);
        assert_eq!(set[0].gold[0].phapdien_ids, ["tro-giup-phap-ly::4.5.LQ.28"]);
        assert_eq!(set[0].gold[0].so_hieu.as_deref(), Some("11/2017/qh14"));
    }

    #[test]
    fn out_of_scope_lines_expect_a_decline() {
        let set =
            parse_set("{\"kind\": \"not_law\", \"question\": \"Mai trời có mưa không?\"}\n\n")
                .unwrap();
        assert_eq!(set[0].expect, Expect::Decline);
        assert_eq!(set[0].kind, "not_law");
        assert_eq!(set[0].id, "line-1");
    }

    #[test]
    fn reads_our_lines_with_history() {
        let set = parse_set(r#"{"id": "cd-1", "kind": "follow_up", "question": "Nộp ở đâu ạ?", "history": ["thu tuc dang ky ket hon"], "expect": "answer", "gold": [{"so_hieu": "60/2014/QH13", "dieu": 17}], "note": "x"}"#).unwrap();
        assert_eq!(set[0].history, ["thu tuc dang ky ket hon"]);
        assert_eq!(set[0].gold[0].dieu, "17");
    }

    #[test]
    fn reads_alqac_arrays() {
        let set = parse_set(r#"[{"question_id": "01-DS-1", "question_type": "Đúng/Sai", "text": "Người nghiện ma túy ... đúng hay sai?", "relevant_articles": [{"law_id": "Luật Phòng, chống ma túy", "article_id": "32", "id": "LPCMT-32"}], "answer": "Đúng"}]"#).unwrap();
        assert_eq!(set[0].kind, "Đúng/Sai");
        assert_eq!(
            set[0].gold[0].law.as_deref(),
            Some("Luật Phòng, chống ma túy")
        );
        assert_eq!(set[0].gold[0].dieu, "32");
    }

    #[test]
    fn a_broken_line_names_its_number() {
        let error = parse_set("{\"question\": \"a\"}\n{oops").unwrap_err();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
    }
}
