//! What the listening report (`platform::listening`) reads: the questions of a period with how
//! they were answered, reviewed and rated, the conversations' satisfaction scores, and the
//! question-embedding cache (vectors by text hash and model, so a report embeds each distinct
//! question once).

use std::collections::HashMap;

use super::flows::stored_time;
use super::sql::{params, Value};
use super::{Db, DbError};

/// One question of the period, as the listening report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct AskedQuestion {
    pub received_at: String,
    pub conversation_id: String,
    /// As sent: not masked.
    pub text: String,
    pub declined: bool,
    /// The corpus had no text for it (declined for lack of a text, or only by an expired one).
    pub unanswered: bool,
    pub topic: Option<String>,
    /// Staff edited or rejected the answer.
    pub corrected: bool,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
}

impl Db {
    /// The questions of `from ..= to` (text messages the assistant answered or declined), newest
    /// first, at most `limit`.
    pub async fn asked_questions(
        &self,
        from: String,
        to: String,
        limit: usize,
    ) -> Result<Vec<AskedQuestion>, DbError> {
        self.run(move |c| {
            c.query(
                "SELECT m.received_at, m.conversation_id, m.text, a.status, COALESCE(a.decline_reason, ''), a.topic,
                        COALESCE((SELECT decision FROM reviews WHERE answer_id = a.id), ''),
                        (SELECT count(*) FROM feedback WHERE answer_id = a.id AND rating = 'up'),
                        (SELECT count(*) FROM feedback WHERE answer_id = a.id AND rating IN ('down', 'report'))
                 FROM messages m JOIN answers a ON a.message_id = m.id
                 WHERE m.kind = 'text' AND a.status IN ('answered', 'declined') AND m.text != ''
                   AND m.received_at >= ?1 AND m.received_at <= ?2
                 ORDER BY m.id DESC LIMIT ?3",
                params![from, to, limit],
            )?
            .iter()
            .map(|r| {
                let status: String = r.get(3)?;
                let reason: String = r.get(4)?;
                let decision: String = r.get(6)?;
                Ok(AskedQuestion {
                    received_at: r.get(0)?,
                    conversation_id: r.get(1)?,
                    text: r.get(2)?,
                    declined: status == "declined",
                    unanswered: status == "declined"
                        && matches!(
                            reason.as_str(),
                            "no_relevant_text" | "chua_co_van_ban" | "not_in_force_only"
                        ),
                    topic: r.get(5)?,
                    corrected: matches!(decision.as_str(), "edited" | "rejected"),
                    thumbs_up: r.get(7)?,
                    thumbs_down: r.get(8)?,
                })
            })
            .collect()
        })
        .await
    }

    /// The satisfaction score (1..=5) of each conversation rated in `from ..= to`.
    pub async fn satisfaction_scores(
        &self,
        from: String,
        to: String,
    ) -> Result<HashMap<String, i64>, DbError> {
        self.run(move |c| {
            c.query(
                "SELECT conversation_id, max(score) FROM satisfaction WHERE at >= ?1 AND at <= ?2 GROUP BY conversation_id",
                params![from, to],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
        })
        .await
    }

    /// The cached vectors of `hashes` for `model_id`.
    pub async fn question_vectors(
        &self,
        model_id: String,
        hashes: Vec<String>,
    ) -> Result<HashMap<String, Vec<f32>>, DbError> {
        self.run(move |c| {
            let mut found = HashMap::new();
            // In slices, so a statement never has more parameters than a database accepts.
            for slice in hashes.chunks(200) {
                let placeholders: Vec<String> = (0..slice.len()).map(|i| format!("?{}", i + 2)).collect();
                let mut values = vec![Value::from(&model_id)];
                values.extend(slice.iter().map(Value::from));
                for row in c.query(
                    &format!(
                        "SELECT text_hash, vector FROM question_vectors WHERE model_id = ?1 AND text_hash IN ({})",
                        placeholders.join(", ")
                    ),
                    &values,
                )? {
                    let hash: String = row.get(0)?;
                    let encoded: String = row.get(1)?;
                    if let Some(vector) = decode_vector(&encoded) {
                        found.insert(hash, vector);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    /// Caches vectors (a hash stored before keeps its vector).
    pub async fn store_question_vectors(
        &self,
        model_id: String,
        vectors: Vec<(String, Vec<f32>)>,
    ) -> Result<(), DbError> {
        self.transaction(move |c| {
            let now = stored_time(chrono::Utc::now());
            for (hash, vector) in &vectors {
                c.execute(
                    "INSERT INTO question_vectors (text_hash, model_id, vector, created_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (text_hash, model_id) DO NOTHING",
                    params![hash, &model_id, encode_vector(vector), &now],
                )?;
            }
            Ok(())
        })
        .await
    }
}

/// Little-endian f32s as hex: text both databases store as it is.
fn encode_vector(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    hex::encode(bytes)
}

fn decode_vector(text: &str) -> Option<Vec<f32>> {
    let bytes = hex::decode(text).ok()?;
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_text() {
        let vector = vec![0.25, -1.5, 3.0e-7, f32::MAX];
        assert_eq!(decode_vector(&encode_vector(&vector)), Some(vector));
        assert_eq!(decode_vector("zz"), None);
        assert_eq!(decode_vector("00ff"), None);
    }
}
