//! Staff-reviewed questions as a question set (`hoiluat staff reviewed-questions`).
//!
//! A curated answer holds a question a citizen asked and the articles staff confirmed (approved
//! as answered) or chose (edited). That is exactly what the ranker lacks: real questions with
//! their right articles (eval/README.md, round 9, "Reviewed questions as data"). This writes
//! them in our JSON-lines format, which `hoiluat eval --set` and the ranker's training dump read.
//!
//! What citizens wrote leaves the database here, so phone, CCCD/CMND and e-mail are masked as in
//! the console; names and addresses are not recognised, so a file is read before it is shared.

use std::collections::BTreeSet;

use super::format::{Expect, JsonlGold, JsonlQuestion};
use crate::db::{CuratedAnswer, Decision};
use crate::library::Library;
use crate::staff::privacy::mask_personal_data;

/// The set's lines, oldest curated answer first, and what was left out.
#[derive(Debug, Default)]
pub struct ReviewedSet {
    pub lines: Vec<String>,
    /// The số hiệu of the documents their gold articles belong to.
    pub documents: BTreeSet<String>,
    /// Curated answers none of whose articles is in the corpus any more.
    pub without_articles: usize,
    /// Curated answers whose question was erased (`staff.retention_days`).
    pub erased: usize,
}

/// The active curated answers as questions with gold articles. A citation the corpus no longer
/// holds is left out of the gold; an answer left with none is counted, not written.
pub fn reviewed_questions(curated: &[CuratedAnswer], library: &Library) -> ReviewedSet {
    let mut set = ReviewedSet::default();
    let mut ordered: Vec<&CuratedAnswer> = curated.iter().filter(|c| c.active).collect();
    // Oldest first: a split by date (learn from the older, test on the newer) is a cut of the file.
    ordered.sort_by_key(|c| c.id);
    for answer in ordered {
        if answer.question.trim().is_empty() {
            set.erased += 1;
            continue;
        }
        let mut gold: Vec<JsonlGold> = Vec::new();
        for citation in &answer.citations {
            let Some(entry) = library.article(&citation.article_id) else {
                continue;
            };
            let reference = JsonlGold {
                so_hieu: Some(entry.document.so_hieu.clone()),
                dieu: entry.article.number.clone(),
                phapdien_ids: Vec::new(),
            };
            if !gold.contains(&reference) {
                gold.push(reference);
            }
        }
        if gold.is_empty() {
            set.without_articles += 1;
            continue;
        }
        set.documents.extend(
            gold.iter()
                .filter_map(|reference| reference.so_hieu.clone()),
        );
        let line = JsonlQuestion {
            id: Some(format!("curated-{}", answer.id)),
            kind: Some(kind(answer.decision).to_owned()),
            question: mask_personal_data(&answer.question),
            history: answer
                .context
                .iter()
                .map(|c| mask_personal_data(c))
                .collect(),
            expect: Some(Expect::Answer),
            gold,
            note: Some(format!(
                "curated answer {}, saved {}",
                answer.id, answer.updated_at
            )),
        };
        set.lines
            .push(serde_json::to_string(&line).expect("a line of strings serialises"));
    }
    set
}

/// The line's `kind`, by which `hoiluat eval` breaks its numbers down: an approved answer says
/// the ranking was already right, an edited one is where it was wrong, and one written in the
/// console was not asked through the assistant at all. Reported together they would hide that.
fn kind(decision: Option<Decision>) -> &'static str {
    match decision {
        Some(Decision::Approved) => "reviewed_approved",
        Some(Decision::Edited) => "reviewed_edited",
        // A rejection creates no curated answer; counted with the written ones if it ever did.
        Some(Decision::Rejected) | None => "written_by_staff",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::parse_document;
    use crate::db::StoredCitation;
    use crate::eval::format::parse_set;
    use crate::eval::GoldResolver;

    /// The shipped Luật Hôn nhân và gia đình, as the service reads it.
    fn library() -> Library {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/luat-52-2014-qh13.md");
        let source = std::fs::read_to_string(path).expect("the shipped law");
        let document = parse_document("luat-52-2014-qh13.md", &source)
            .document
            .expect("the shipped law parses");
        Library::from_documents(&[document])
    }

    fn curated(id: i64, question: &str, articles: &[&str]) -> CuratedAnswer {
        CuratedAnswer {
            id,
            question: question.to_owned(),
            answer_text: "Trả lời.".to_owned(),
            citations: articles
                .iter()
                .map(|a| StoredCitation {
                    article_id: (*a).to_owned(),
                    reference: String::new(),
                    validity: String::new(),
                })
                .collect(),
            active: true,
            updated_at: format!("2026-12-0{id}T08:00:00Z"),
            context: None,
            decision: Some(Decision::Edited),
        }
    }

    #[test]
    fn the_set_reads_back_with_the_articles_staff_chose() {
        let library = library();
        let mut follow_up = curated(
            3,
            "Thế con 2 tuổi thì ai nuôi ạ?",
            &["52-2014-qh13.dieu-81"],
        );
        follow_up.context = Some("Vợ chồng tôi ly hôn, gọi 0912 345 678".to_owned());
        let answers = vec![
            follow_up,
            curated(
                1,
                "con gái 17 tuổi rưỡi đăng ký kết hôn được chưa, sđt 0912345678",
                &[
                    "52-2014-qh13.dieu-8",
                    "52-2014-qh13.dieu-8",
                    "gone-2000-qh10.dieu-1",
                ],
            ),
        ];
        let set = reviewed_questions(&answers, &library);
        assert_eq!(set.lines.len(), 2);
        let questions = parse_set(&set.lines.join("\n")).expect("our own format parses");
        // Oldest first.
        assert_eq!(questions[0].id, "curated-1");
        assert_eq!(questions[1].id, "curated-3");
        assert!(questions
            .iter()
            .all(|q| q.expect == Expect::Answer && q.kind == "reviewed_edited"));
        // Personal data is masked in the question and in its context alike.
        assert!(!questions[0].question.contains("0912345678"));
        assert!(questions[0].question.starts_with("con gái 17 tuổi rưỡi"));
        assert_eq!(questions[1].history.len(), 1);
        assert!(!questions[1].history[0].contains("345 678"));
        // The gold resolves to the very articles cited, once each; the vanished one is dropped.
        let resolver = GoldResolver::new(&library);
        assert_eq!(
            resolver.resolve(&questions[0].gold),
            ["52-2014-qh13.dieu-8"]
        );
        assert_eq!(
            resolver.resolve(&questions[1].gold),
            ["52-2014-qh13.dieu-81"]
        );
        assert_eq!(set.documents, BTreeSet::from(["52/2014/QH13".to_owned()]));
    }

    #[test]
    fn each_line_says_where_its_answer_came_from() {
        let library = library();
        let mut approved = curated(1, "Tuổi kết hôn của nữ?", &["52-2014-qh13.dieu-8"]);
        approved.decision = Some(Decision::Approved);
        let mut written = curated(2, "Điều kiện kết hôn là gì?", &["52-2014-qh13.dieu-8"]);
        written.decision = None;
        let edited = curated(3, "Ly hôn thì con nhỏ ai nuôi?", &["52-2014-qh13.dieu-81"]);
        let set = reviewed_questions(&[edited, written, approved], &library);
        let kinds: Vec<String> = parse_set(&set.lines.join("\n"))
            .unwrap()
            .into_iter()
            .map(|q| q.kind)
            .collect();
        assert_eq!(
            kinds,
            ["reviewed_approved", "written_by_staff", "reviewed_edited"]
        );
    }

    #[test]
    fn erased_retired_and_unresolvable_answers_are_not_written() {
        let library = library();
        let mut retired = curated(1, "Câu hỏi đã bỏ", &["52-2014-qh13.dieu-8"]);
        retired.active = false;
        let erased = curated(2, "", &["52-2014-qh13.dieu-8"]);
        let vanished = curated(3, "Điều luật đã bị gỡ khỏi kho", &["gone-2000-qh10.dieu-1"]);
        let set = reviewed_questions(&[retired, erased, vanished], &library);
        assert!(set.lines.is_empty());
        assert_eq!((set.erased, set.without_articles), (1, 1));
    }
}
