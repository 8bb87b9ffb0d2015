//! The listening report (lắng nghe dư luận): what people asked in a period, grouped by meaning
//! rather than by exact text, how each group moves week to week, the questions the corpus could
//! not answer or staff had to correct, and feedback and satisfaction per group. It is what a Sở
//! Tư pháp officer reads to decide what to disseminate next.
//!
//! How: the period's questions are folded to distinct texts (counted), each embedded once with the
//! assistant's own model (e5, cached in `question_vectors` by text hash and model), and clustered
//! by weighted spherical k-means (k from the number of distinct questions, at most
//! [`MAX_TOPICS`]; deterministic seeding, at most [`MAX_ITERATIONS`] rounds). The work is bounded:
//! at most [`MAX_DISTINCT`] distinct questions (the most frequent) are clustered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use crate::answer::curated::{cosine, normalize};
use crate::db::{AskedQuestion, Db, DbError};
use crate::embed::{EmbedError, Embedder};
use crate::staff::privacy::mask_personal_data;

/// Questions of a period read at most.
pub const MAX_QUESTIONS: usize = 20_000;
/// Distinct questions clustered at most (the most frequent).
pub const MAX_DISTINCT: usize = 1_500;
/// Topics at most.
pub const MAX_TOPICS: usize = 12;
/// Rounds of k-means at most.
pub const MAX_ITERATIONS: usize = 25;
/// Questions embedded per model call.
const EMBED_BATCH: usize = 32;
/// Two unresolved questions this close are one ("the same question, worded differently").
const SAME_QUESTION: f32 = 0.92;
/// Unresolved questions listed at most.
const MAX_UNRESOLVED: usize = 15;

#[derive(Debug, thiserror::Error)]
pub enum ListeningError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("embedding task failed: {0}")]
    Task(String),
}

/// A group of questions close in meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    /// The question nearest the group's centre, masked.
    pub label: String,
    /// A few more of its questions, masked, most asked first.
    pub examples: Vec<String>,
    pub questions: i64,
    /// The lĩnh vực most of its answers cited (the document's title, or a decline category).
    pub field: Option<String>,
    /// Questions per week of the period, in [`ListeningReport::weeks`] order.
    pub weekly: Vec<i64>,
    pub declined: i64,
    pub unanswered: i64,
    pub corrected: i64,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
    /// Satisfaction ratings of the conversations its questions were asked in: (votes, 4 or 5).
    pub satisfaction: (i64, i64),
}

impl Topic {
    /// The change from the period's second-to-last week to its last, in percent; `None` when the
    /// earlier week had no question of the group.
    pub fn last_week_change(&self) -> Option<f64> {
        match self.weekly.as_slice() {
            [.., before, last] if *before > 0 => {
                Some((*last - *before) as f64 * 100.0 / *before as f64)
            }
            _ => None,
        }
    }
}

/// A question the corpus could not answer or staff corrected, with its rewordings.
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    /// Masked.
    pub question: String,
    pub asked: i64,
    pub unanswered: i64,
    pub corrected: i64,
    pub thumbs_down: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListeningReport {
    pub from: String,
    pub to: String,
    pub questions: i64,
    pub distinct: usize,
    /// Distinct questions left out of the clustering (beyond [`MAX_DISTINCT`]).
    pub left_out: usize,
    /// The Monday of each week of the period.
    pub weeks: Vec<NaiveDate>,
    /// Most asked first.
    pub topics: Vec<Topic>,
    pub unresolved: Vec<Unresolved>,
}

/// One distinct question of the period, with what happened to it.
#[derive(Debug, Clone, Default)]
struct Group {
    text: String,
    count: i64,
    declined: i64,
    unanswered: i64,
    corrected: i64,
    thumbs_up: i64,
    thumbs_down: i64,
    fields: BTreeMap<String, i64>,
    weekly: BTreeMap<NaiveDate, i64>,
    conversations: Vec<String>,
}

/// The Monday of the week of a stored time, in Vietnam's time (UTC+7).
fn week_of(stored: &str) -> Option<NaiveDate> {
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600)?;
    let day = chrono::DateTime::parse_from_rfc3339(stored)
        .ok()?
        .with_timezone(&vietnam)
        .date_naive();
    Some(day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday())))
}

fn monday(day: NaiveDate) -> NaiveDate {
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The form two questions share when they differ only by case, spacing or final punctuation.
fn normal_form(text: &str) -> String {
    let folded = crate::text::fold_case(text);
    folded
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['?', '.', '!', ' '])
        .to_owned()
}

fn text_hash(normal: &str) -> String {
    hex::encode(&Sha256::digest(normal.as_bytes())[..16])
}

fn group_questions(rows: &[AskedQuestion]) -> HashMap<String, Group> {
    let mut groups: HashMap<String, Group> = HashMap::new();
    for row in rows {
        let normal = normal_form(&row.text);
        if normal.is_empty() {
            continue;
        }
        let group = groups.entry(normal).or_insert_with(|| Group {
            text: row.text.trim().to_owned(),
            ..Group::default()
        });
        group.count += 1;
        group.declined += i64::from(row.declined);
        group.unanswered += i64::from(row.unanswered);
        group.corrected += i64::from(row.corrected);
        group.thumbs_up += row.thumbs_up;
        group.thumbs_down += row.thumbs_down;
        if let Some(field) = &row.topic {
            *group.fields.entry(field.clone()).or_default() += 1;
        }
        if let Some(week) = week_of(&row.received_at) {
            *group.weekly.entry(week).or_default() += 1;
        }
        group.conversations.push(row.conversation_id.clone());
    }
    groups
}

/// Builds the report of `from ..= to` (`YYYY-MM-DD`, Vietnam's days as stored).
pub async fn build(
    db: &Db,
    embedder: Arc<dyn Embedder>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ListeningReport, ListeningError> {
    let (from_text, to_text) = (from.to_string(), format!("{to}T99"));
    let rows = db
        .asked_questions(from_text.clone(), to_text.clone(), MAX_QUESTIONS)
        .await?;
    let satisfaction = db.satisfaction_scores(from_text, to_text).await?;
    let mut groups: Vec<(String, Group)> = group_questions(&rows).into_iter().collect();
    // Most asked first; ties by text, so the same data always gives the same report.
    groups.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    let distinct = groups.len();
    let left_out = distinct.saturating_sub(MAX_DISTINCT);
    groups.truncate(MAX_DISTINCT);
    let vectors = vectors_of(db, embedder, &groups).await?;

    let weeks: Vec<NaiveDate> = {
        let mut weeks = Vec::new();
        let mut week = monday(from);
        while week <= to {
            weeks.push(week);
            week += chrono::Duration::days(7);
        }
        weeks
    };
    let weights: Vec<f64> = groups.iter().map(|(_, g)| g.count as f64).collect();
    let k = topic_count(groups.len());
    let (assignment, centroids) = kmeans(&vectors, &weights, k);

    let mut topics = Vec::new();
    for (cluster, centroid) in centroids.iter().enumerate() {
        let members: Vec<usize> = (0..groups.len())
            .filter(|i| assignment[*i] == cluster)
            .collect();
        if members.is_empty() {
            continue;
        }
        topics.push(topic(
            &groups,
            &vectors,
            &members,
            centroid,
            &weeks,
            &satisfaction,
        ));
    }
    topics.sort_by(|a, b| {
        b.questions
            .cmp(&a.questions)
            .then_with(|| a.label.cmp(&b.label))
    });

    Ok(ListeningReport {
        from: from.to_string(),
        to: to.to_string(),
        questions: rows.len() as i64,
        distinct,
        left_out,
        weeks,
        topics,
        unresolved: unresolved(&groups, &vectors),
    })
}

/// Each group's vector: from the cache, or embedded now (and cached).
async fn vectors_of(
    db: &Db,
    embedder: Arc<dyn Embedder>,
    groups: &[(String, Group)],
) -> Result<Vec<Vec<f32>>, ListeningError> {
    let model = embedder.model_id().to_owned();
    let hashes: Vec<String> = groups.iter().map(|(normal, _)| text_hash(normal)).collect();
    let mut cached = db.question_vectors(model.clone(), hashes.clone()).await?;
    let missing: Vec<(String, String)> = groups
        .iter()
        .zip(&hashes)
        .filter(|(_, hash)| !cached.contains_key(*hash))
        .map(|((normal, _), hash)| (hash.clone(), normal.clone()))
        .collect();
    for batch in missing.chunks(EMBED_BATCH) {
        let texts: Vec<String> = batch.iter().map(|(_, text)| text.clone()).collect();
        let model_embedder = Arc::clone(&embedder);
        let embedded = tokio::task::spawn_blocking(move || model_embedder.embed_passages(&texts))
            .await
            .map_err(|e| ListeningError::Task(e.to_string()))??;
        let fresh: Vec<(String, Vec<f32>)> = batch
            .iter()
            .map(|(hash, _)| hash.clone())
            .zip(embedded)
            .collect();
        db.store_question_vectors(model.clone(), fresh.clone())
            .await?;
        cached.extend(fresh);
    }
    Ok(hashes
        .iter()
        .map(|hash| {
            let mut vector = cached.get(hash).cloned().unwrap_or_default();
            normalize(&mut vector);
            vector
        })
        .collect())
}

/// About √n topics: a handful for a small period, [`MAX_TOPICS`] at most.
pub fn topic_count(distinct: usize) -> usize {
    if distinct == 0 {
        return 0;
    }
    ((distinct as f64).sqrt().round() as usize).clamp(1, MAX_TOPICS.min(distinct))
}

/// Weighted spherical k-means (cosine on unit vectors): the cluster of each point and the
/// centroids. Seeded deterministically (k-means++ on a fixed pseudo-random sequence), so the
/// same questions give the same topics.
pub fn kmeans(points: &[Vec<f32>], weights: &[f64], k: usize) -> (Vec<usize>, Vec<Vec<f32>>) {
    let n = points.len();
    if n == 0 || k == 0 {
        return (Vec::new(), Vec::new());
    }
    let dimension = points[0].len();
    let mut random = 0x9E37_79B9_7F4A_7C15_u64 ^ n as u64;
    let mut next = move || {
        // xorshift64*: reproducible, no crate needed.
        random ^= random >> 12;
        random ^= random << 25;
        random ^= random >> 27;
        (random.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    // k-means++: the most asked question first, then points far from the chosen centres.
    let first = (0..n)
        .max_by(|a, b| weights[*a].total_cmp(&weights[*b]).then_with(|| b.cmp(a)))
        .unwrap_or(0);
    let mut centroids = vec![points[first].clone()];
    let mut nearest: Vec<f64> = points
        .iter()
        .map(|p| f64::from(1.0 - cosine(p, &centroids[0])).max(0.0))
        .collect();
    while centroids.len() < k {
        let total: f64 = nearest.iter().zip(weights).map(|(d, w)| d * d * w).sum();
        if total <= f64::EPSILON {
            break;
        }
        let mut target = next() * total;
        let mut chosen = n - 1;
        for (i, (d, w)) in nearest.iter().zip(weights).enumerate() {
            target -= d * d * w;
            if target <= 0.0 {
                chosen = i;
                break;
            }
        }
        centroids.push(points[chosen].clone());
        for (i, point) in points.iter().enumerate() {
            let distance = f64::from(1.0 - cosine(point, &centroids[centroids.len() - 1])).max(0.0);
            nearest[i] = nearest[i].min(distance);
        }
    }
    let mut assignment = vec![usize::MAX; n];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (i, point) in points.iter().enumerate() {
            let best = centroids
                .iter()
                .enumerate()
                .max_by(|a, b| {
                    cosine(point, a.1)
                        .total_cmp(&cosine(point, b.1))
                        .then_with(|| b.0.cmp(&a.0))
                })
                .map_or(0, |(c, _)| c);
            if assignment[i] != best {
                assignment[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        for (c, centroid) in centroids.iter_mut().enumerate() {
            let mut sum = vec![0.0f32; dimension];
            for (i, point) in points.iter().enumerate() {
                if assignment[i] == c {
                    for (s, x) in sum.iter_mut().zip(point) {
                        *s += x * weights[i] as f32;
                    }
                }
            }
            if sum.iter().any(|x| *x != 0.0) {
                normalize(&mut sum);
                *centroid = sum;
            }
        }
    }
    (assignment, centroids)
}

fn topic(
    groups: &[(String, Group)],
    vectors: &[Vec<f32>],
    members: &[usize],
    centroid: &[f32],
    weeks: &[NaiveDate],
    satisfaction: &HashMap<String, i64>,
) -> Topic {
    let central = members
        .iter()
        .copied()
        .max_by(|a, b| {
            cosine(&vectors[*a], centroid)
                .total_cmp(&cosine(&vectors[*b], centroid))
                .then_with(|| b.cmp(a))
        })
        .unwrap_or(members[0]);
    let mut fields: BTreeMap<&str, i64> = BTreeMap::new();
    let mut weekly = vec![0; weeks.len()];
    let mut topic = Topic {
        label: mask_personal_data(&groups[central].1.text),
        examples: members
            .iter()
            .filter(|i| **i != central)
            .take(3)
            .map(|i| mask_personal_data(&groups[*i].1.text))
            .collect(),
        questions: 0,
        field: None,
        weekly: Vec::new(),
        declined: 0,
        unanswered: 0,
        corrected: 0,
        thumbs_up: 0,
        thumbs_down: 0,
        satisfaction: (0, 0),
    };
    let mut rated = std::collections::HashSet::new();
    for index in members {
        let group = &groups[*index].1;
        topic.questions += group.count;
        topic.declined += group.declined;
        topic.unanswered += group.unanswered;
        topic.corrected += group.corrected;
        topic.thumbs_up += group.thumbs_up;
        topic.thumbs_down += group.thumbs_down;
        for (field, count) in &group.fields {
            *fields.entry(field).or_default() += count;
        }
        for (week, count) in &group.weekly {
            if let Some(slot) = weeks.iter().position(|w| w == week) {
                weekly[slot] += count;
            }
        }
        for conversation in &group.conversations {
            // A conversation's rating counts once per topic.
            if let Some(score) = satisfaction.get(conversation) {
                if rated.insert(conversation.clone()) {
                    topic.satisfaction.0 += 1;
                    topic.satisfaction.1 += i64::from(*score >= 4);
                }
            }
        }
    }
    topic.field = fields
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(field, _)| field.to_owned());
    topic.weekly = weekly;
    topic
}

/// The questions the corpus could not answer or staff corrected (or citizens rated 👎), with
/// near-identical wordings counted as one, most frequent first.
fn unresolved(groups: &[(String, Group)], vectors: &[Vec<f32>]) -> Vec<Unresolved> {
    let mut leaders: Vec<(usize, Unresolved)> = Vec::new();
    for (index, (_, group)) in groups.iter().enumerate() {
        if group.unanswered == 0 && group.corrected == 0 && group.thumbs_down == 0 {
            continue;
        }
        let same = leaders
            .iter_mut()
            .find(|(leader, _)| cosine(&vectors[*leader], &vectors[index]) >= SAME_QUESTION);
        match same {
            Some((_, item)) => {
                item.asked += group.count;
                item.unanswered += group.unanswered;
                item.corrected += group.corrected;
                item.thumbs_down += group.thumbs_down;
            }
            None => leaders.push((
                index,
                Unresolved {
                    question: mask_personal_data(&group.text),
                    asked: group.count,
                    unanswered: group.unanswered,
                    corrected: group.corrected,
                    thumbs_down: group.thumbs_down,
                },
            )),
        }
    }
    let mut items: Vec<Unresolved> = leaders.into_iter().map(|(_, item)| item).collect();
    items.sort_by(|a, b| {
        b.asked
            .cmp(&a.asked)
            .then_with(|| a.question.cmp(&b.question))
    });
    items.truncate(MAX_UNRESOLVED);
    items
}

/// The report as CSV: one row per topic (with its weekly counts), then the unresolved questions.
pub fn to_csv(report: &ListeningReport) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "loai".to_owned(),
        "chu_de_hoac_cau_hoi".into(),
        "linh_vuc".into(),
        "so_cau_hoi".into(),
        "tu_choi".into(),
        "chua_co_van_ban".into(),
        "can_bo_sua".into(),
        "thich".into(),
        "khong_thich".into(),
        "danh_gia_hai_long".into(),
        "hai_long_4_5".into(),
        "thay_doi_tuan_cuoi_phan_tram".into(),
    ];
    header.extend(report.weeks.iter().map(|w| format!("tuan_{w}")));
    let _ = writer.write_record(&header);
    for topic in &report.topics {
        let mut row = vec![
            "chu_de".to_owned(),
            defuse(&topic.label),
            defuse(topic.field.as_deref().unwrap_or("")),
            topic.questions.to_string(),
            topic.declined.to_string(),
            topic.unanswered.to_string(),
            topic.corrected.to_string(),
            topic.thumbs_up.to_string(),
            topic.thumbs_down.to_string(),
            topic.satisfaction.0.to_string(),
            topic.satisfaction.1.to_string(),
            topic
                .last_week_change()
                .map(|c| format!("{c:.0}"))
                .unwrap_or_default(),
        ];
        row.extend(topic.weekly.iter().map(i64::to_string));
        let _ = writer.write_record(&row);
    }
    for item in &report.unresolved {
        let mut row = vec![
            "chua_giai_dap".to_owned(),
            defuse(&item.question),
            String::new(),
            item.asked.to_string(),
            String::new(),
            item.unanswered.to_string(),
            item.corrected.to_string(),
            String::new(),
            item.thumbs_down.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ];
        row.extend(report.weeks.iter().map(|_| String::new()));
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A spreadsheet would read a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// as a formula: such a cell starts with `'`.
pub fn defuse(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    #[test]
    fn kmeans_separates_clear_groups_deterministically() {
        let points = vec![
            unit(&[1.0, 0.1, 0.0]),
            unit(&[0.9, 0.2, 0.0]),
            unit(&[0.0, 1.0, 0.1]),
            unit(&[0.1, 0.9, 0.0]),
            unit(&[0.0, 0.1, 1.0]),
        ];
        let weights = vec![5.0, 1.0, 3.0, 1.0, 2.0];
        let (assignment, centroids) = kmeans(&points, &weights, 3);
        assert_eq!(centroids.len(), 3);
        assert_eq!(assignment[0], assignment[1]);
        assert_eq!(assignment[2], assignment[3]);
        assert_ne!(assignment[0], assignment[2]);
        assert_ne!(assignment[4], assignment[0]);
        assert_ne!(assignment[4], assignment[2]);
        assert_eq!(
            kmeans(&points, &weights, 3).0,
            assignment,
            "same input, same topics"
        );
        assert_eq!(kmeans(&[], &[], 3).0, Vec::<usize>::new());
        // Fewer distinct points than k: no empty centre is invented.
        let same = vec![unit(&[1.0, 0.0, 0.0]); 4];
        assert_eq!(kmeans(&same, &[1.0; 4], 3).1.len(), 1);
    }

    #[test]
    fn topic_counts_and_weeks() {
        assert_eq!(topic_count(0), 0);
        assert_eq!(topic_count(1), 1);
        assert_eq!(topic_count(8), 3);
        assert_eq!(topic_count(100), 10);
        assert_eq!(topic_count(100_000), MAX_TOPICS);
        // Sunday 7 December 2026, 23:30 UTC is Monday 8 December in Vietnam.
        assert_eq!(
            week_of("2026-12-06T23:30:00.000Z"),
            NaiveDate::from_ymd_opt(2026, 12, 7)
        );
        assert_eq!(normal_form("  Thủ tục   LY HÔN?? "), "thủ tục ly hôn");
        let topic = Topic {
            label: String::new(),
            examples: Vec::new(),
            questions: 0,
            field: None,
            weekly: vec![3, 4, 6],
            declined: 0,
            unanswered: 0,
            corrected: 0,
            thumbs_up: 0,
            thumbs_down: 0,
            satisfaction: (0, 0),
        };
        assert_eq!(topic.last_week_change(), Some(50.0));
        assert_eq!(defuse("=1+1"), "'=1+1");
        assert_eq!(defuse("\tx"), "'\tx");
    }
}
