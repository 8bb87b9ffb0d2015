//! One suite for every persistence backend: each case runs against SQLite (a file in a temporary
//! directory) always, and against PostgreSQL when `HOILUAT_TEST_POSTGRES_URL` names a database the
//! tests may create schemas in (`scripts/test-postgres.sh` starts a private server and sets it;
//! `.ci/run` does that). Without it the PostgreSQL cases are reported as "ignored", never as passed.
//!
//! A custom harness (libtest-mimic) for that reporting. Each PostgreSQL case gets its own fresh
//! schema (dropped afterwards), so cases run in parallel without seeing each other's rows.
//!
//! Every public `Db` method is exercised here through the public API only; where a case must look
//! at or age a row directly it uses `Db::scalar_i64` / `Db::execute_sql`, which run on both.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use hoiluat::answer::conversation::HistorySource;
use hoiluat::answer::curated::CuratedSource;
use hoiluat::config::{DatabaseConfig, DatabaseKind, PathsConfig};
use hoiluat::db::{
    now_text, schema_version, AnswerStatus, ChannelKind, Db, DbError, Decision, DeliveryStatus,
    FeedbackOutcome, Flag, FlagReason, MessageKind, MessageStatus, NewAnswer, NewDelivery,
    NewMessage, NewReview, QueueFilter, Rating, ReviewDelivery, ReviewOutcome, Role,
    StoredCitation, TokenPair, Value,
};
use hoiluat::staff::stats::{self, Period};
use libtest_mimic::{Arguments, Failed, Trial};

/// The cases of the platform around the chatbot (migration 4).
#[path = "persistence/platform.rs"]
mod platform;

// ---------------------------------------------------------------------------------------------
// Backends and places

#[derive(Clone)]
enum Backend {
    Sqlite,
    /// The URL of a database in which the tests may create schemas.
    Postgres {
        url: String,
    },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// Where one case's database lives: a SQLite file, or a PostgreSQL schema of its own.
struct Place {
    backend: Backend,
    dir: tempfile::TempDir,
    /// For PostgreSQL: the schema, and the URL that selects it.
    schema: Option<(String, String)>,
}

impl Place {
    fn new(backend: &Backend) -> Place {
        let dir = tempfile::tempdir().expect("temporary directory");
        let schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres { url } => {
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut client =
                    postgres::Client::connect(url, postgres::NoTls).expect("connect to PostgreSQL");
                client
                    .batch_execute(&format!("CREATE SCHEMA {name}"))
                    .expect("create a schema");
                // Every connection of this case's pool sees only its schema.
                let separator = if url.contains('?') { '&' } else { '?' };
                let url = format!("{url}{separator}options=-csearch_path%3D{name}");
                Some((name, url))
            }
        };
        Place {
            backend: backend.clone(),
            dir,
            schema,
        }
    }

    fn config(&self) -> DatabaseConfig {
        match &self.schema {
            None => DatabaseConfig {
                kind: DatabaseKind::Sqlite,
                path: Some(self.dir.path().join("hoiluat.sqlite3")),
                ..DatabaseConfig::default()
            },
            Some((_, url)) => DatabaseConfig {
                kind: DatabaseKind::Postgres,
                url: url.clone(),
                pool_size: 4,
                ..DatabaseConfig::default()
            },
        }
    }

    /// Opens (creating and migrating on first use) this place's database. Blocking: call it
    /// outside the runtime.
    fn open(&self) -> Result<Db, DbError> {
        let config = self.config();
        match config.kind {
            DatabaseKind::Sqlite => Db::open(&config.path(&PathsConfig::default())),
            DatabaseKind::Postgres => Db::open_postgres(&config.url, config.pool_size),
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let (Backend::Postgres { url }, Some((name, _))) = (&self.backend, &self.schema) {
            if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA {name} CASCADE"));
            }
        }
    }
}

/// Runs the async part of a case. The `Db` methods block on their own threads; the runtime only
/// drives them.
fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

// ---------------------------------------------------------------------------------------------
// Data

fn message(channel: &str, external_id: &str, conversation: &str, text: &str) -> NewMessage {
    NewMessage {
        channel: ChannelKind::parse(channel).expect("a channel"),
        external_id: external_id.into(),
        conversation_id: conversation.into(),
        user_id: "u1".into(),
        chat_id: "c1".into(),
        kind: MessageKind::Text,
        text: text.into(),
        received_at: now_text(),
    }
}

fn at(message: NewMessage, received_at: &str) -> NewMessage {
    NewMessage {
        received_at: received_at.into(),
        ..message
    }
}

fn ago(seconds: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn answer(message_id: i64, conversation: &str, status: &str, confidence: f32) -> NewAnswer {
    NewAnswer {
        message_id,
        conversation_id: conversation.into(),
        status: AnswerStatus::parse(status).expect("an answer status"),
        decline_reason: (status == "declined").then(|| "no_relevant_text".into()),
        text: format!("Trả lời cho tin nhắn {message_id}"),
        citations: cites("52-2014-qh13.dieu-8"),
        confidence,
        needs_review: confidence < 0.6,
        follows: None,
    }
}

/// Citations of `article_ids`, as stored.
fn cites(article_ids: &str) -> Vec<StoredCitation> {
    article_ids
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| StoredCitation {
            article_id: id.into(),
            reference: String::new(),
            validity: String::new(),
        })
        .collect()
}

fn reason(name: &str) -> FlagReason {
    FlagReason::parse(name).expect("a flag reason")
}

/// A stored message with an answer, flagged with `flags`; the answer's id.
async fn flagged(
    db: &Db,
    message: NewMessage,
    topic: Option<&str>,
    flags: &[&'static str],
) -> Result<i64, Failed> {
    let conversation = message.conversation_id.clone();
    let id = db.insert_message(message).await?.ok_or("duplicate")?;
    let flags = flags
        .iter()
        .map(|&name| Flag::new(reason(name), None))
        .collect();
    let (answer_id, _) = db
        .insert_answer_flagged(
            answer(id, &conversation, "answered", 0.5),
            topic.map(str::to_owned),
            flags,
        )
        .await?;
    Ok(answer_id)
}

/// Stores a new message; its id.
async fn store(db: &Db, message: NewMessage) -> Result<i64, Failed> {
    db.insert_message(message)
        .await?
        .ok_or_else(|| "stored before".into())
}

async fn count(db: &Db, sql: &str, params: Vec<Value>) -> Result<i64, Failed> {
    Ok(db.scalar_i64(sql, params).await?)
}

/// The answer ids the review queue lists for `filter` (50 at most unless it says otherwise).
async fn queue_ids(db: &Db, filter: QueueFilter) -> Result<Vec<i64>, DbError> {
    let limit = if filter.limit == 0 { 50 } else { filter.limit };
    let items = db.review_queue(QueueFilter { limit, ..filter }).await?;
    Ok(items.iter().map(|i| i.answer_id).collect())
}

async fn new_staff(db: &Db, username: &str) -> Result<i64, Failed> {
    Ok(db
        .create_staff(
            username.into(),
            format!("Cán bộ {username}"),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            Role::Reviewer,
        )
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Cases

type Case = fn(&Place) -> Result<(), Failed>;

const CASES: &[(&str, Case)] = &[
    (
        "migrates_from_empty_and_reopens",
        migrates_from_empty_and_reopens,
    ),
    ("refuses_a_newer_schema", refuses_a_newer_schema),
    (
        "concurrent_opens_migrate_once",
        concurrent_opens_migrate_once,
    ),
    ("messages_are_stored_once", messages_are_stored_once),
    ("claims_and_leases", claims_and_leases),
    ("rate_limit_count", rate_limit_count),
    ("answers_with_flags", answers_with_flags),
    ("deliveries", deliveries),
    ("feedback_raises_flags", feedback_raises_flags),
    (
        "latest_answer_for_typed_feedback",
        latest_answer_for_typed_feedback,
    ),
    (
        "satisfaction_and_conversation_state",
        satisfaction_and_conversation_state,
    ),
    (
        "channel_tokens_and_refresh_lease",
        channel_tokens_and_refresh_lease,
    ),
    ("staff_sessions_and_lockout", staff_sessions_and_lockout),
    ("review_queue_filters", review_queue_filters),
    (
        "review_curated_and_audit_in_one_transaction",
        review_curated_and_audit_in_one_transaction,
    ),
    (
        "review_deliveries_are_claimed_once",
        review_deliveries_are_claimed_once,
    ),
    ("curated_edit_and_retire", curated_edit_and_retire),
    ("statistics_and_csv", statistics_and_csv),
    ("retention_erases_old_texts", retention_erases_old_texts),
    ("history_source", history_source),
    (
        "api_exchange_in_one_transaction",
        api_exchange_in_one_transaction,
    ),
    ("curated_source", curated_source),
    (
        "reviewed_questions_become_a_question_set",
        reviewed_questions_become_a_question_set,
    ),
];

fn migrates_from_empty_and_reopens(place: &Place) -> Result<(), Failed> {
    // Through the configuration, as `hoiluat serve` opens it.
    let config = place.config();
    let id = run(async {
        let db = Db::connect(&config, &PathsConfig::default()).await?;
        assert_eq!(db.kind(), place.backend.name());
        assert_eq!(db.schema_version().await?, schema_version());
        let id = db
            .insert_message(message("web", "m1", "web-a", "Tuổi kết hôn?"))
            .await?
            .ok_or("not stored")?;
        Ok::<_, Failed>(id)
    })?;
    // Reopening applies nothing and keeps the rows.
    let db = place.open()?;
    run(async {
        assert_eq!(db.schema_version().await?, schema_version());
        let stored = db.message(id).await?.ok_or("message lost")?;
        assert_eq!(stored.text, "Tuổi kết hôn?");
        Ok(())
    })
}

fn refuses_a_newer_schema(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        match place.backend {
            Backend::Sqlite => db.execute_sql("PRAGMA user_version = 99", vec![]).await?,
            Backend::Postgres { .. } => {
                db.execute_sql(
                    "INSERT INTO schema_version (version, applied_at) VALUES (99, ?1)",
                    vec![now_text().into()],
                )
                .await?
            }
        };
        Ok::<_, Failed>(())
    })?;
    drop(db);
    match place.open() {
        Err(DbError::TooNew { found: 99, known }) if known == schema_version() => Ok(()),
        Err(other) => Err(format!("expected TooNew, got {other}").into()),
        Ok(_) => Err("a newer schema was accepted".into()),
    }
}

/// Replicas starting at once: every one opens, the schema is migrated once.
fn concurrent_opens_migrate_once(place: &Place) -> Result<(), Failed> {
    let opened: Vec<Result<Db, DbError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4).map(|_| scope.spawn(|| place.open())).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let dbs = opened.into_iter().collect::<Result<Vec<_>, _>>()?;
    run(async {
        for db in &dbs {
            assert_eq!(db.schema_version().await?, schema_version());
        }
        if let Backend::Postgres { .. } = place.backend {
            let applied = count(&dbs[0], "SELECT count(*) FROM schema_version", vec![]).await?;
            assert_eq!(applied as usize, schema_version());
        }
        Ok(())
    })
}

fn messages_are_stored_once(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    let first = run(async {
        let first = db
            .insert_message(message(
                "zalo_oa",
                "m1",
                "zalo_oa-abc",
                "Thủ tục đăng ký kết hôn?",
            ))
            .await?
            .ok_or("not stored")?;
        // A duplicated delivery (platform retry) is a no-op; the same id on another channel is not.
        assert_eq!(
            db.insert_message(message(
                "zalo_oa",
                "m1",
                "zalo_oa-abc",
                "Thủ tục đăng ký kết hôn?"
            ))
            .await?,
            None
        );
        let other = db
            .insert_message(message("telegram", "m1", "telegram-1", "Xin chào"))
            .await?
            .ok_or("not stored")?;
        assert_ne!(first, other);
        db.set_message_status(
            other,
            MessageStatus::parse("failed").unwrap(),
            Some("timeout".into()),
        )
        .await?;
        let stored = db.message(first).await?.ok_or("missing")?;
        assert_eq!(
            (
                stored.channel.as_str(),
                stored.external_id.as_str(),
                stored.status.as_str()
            ),
            ("zalo_oa", "m1", "received")
        );
        assert_eq!(db.message(999_999).await?, None);
        Ok::<_, Failed>(first)
    })?;
    drop(db);
    // Pending messages survive a restart, oldest first, text intact.
    let db = place.open()?;
    run(async {
        let pending = db.pending_messages().await?;
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, first);
        assert_eq!(pending[0].text, "Thủ tục đăng ký kết hôn?");
        db.set_message_status(first, MessageStatus::parse("answered").unwrap(), None)
            .await?;
        assert!(db.pending_messages().await?.is_empty());
        Ok(())
    })
}

fn claims_and_leases(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let minute = Duration::from_secs(60);
        let id = db
            .insert_message(message("web", "c1", "web-c", "Hỏi"))
            .await?
            .ok_or("not stored")?;
        // Eight workers (of any replicas) race for one message: exactly one wins.
        let claims =
            futures_util::future::join_all((0..8).map(|_| db.claim_message(id, minute))).await;
        let won = claims.into_iter().collect::<Result<Vec<bool>, _>>()?;
        assert_eq!(won.iter().filter(|w| **w).count(), 1);
        // A live claim is not an orphan; an unclaimed fresh message is one only once old enough.
        let fresh = db
            .insert_message(message("web", "c2", "web-c", "Hỏi nữa"))
            .await?
            .ok_or("not stored")?;
        let orphans = |older: u64| db.orphaned_messages(Duration::from_secs(older));
        assert!(orphans(3600).await?.is_empty());
        let ids: Vec<i64> = orphans(0).await?.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![fresh]);
        // A lease that ran out (its worker died) can be taken over and is an orphan meanwhile.
        assert!(db.claim_message(fresh, Duration::ZERO).await?);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(orphans(3600).await?.len(), 1);
        assert!(db.claim_message(fresh, minute).await?);
        assert!(!db.claim_message(fresh, minute).await?);
        // An answered message is never claimed again.
        db.set_message_status(id, MessageStatus::parse("answered").unwrap(), None)
            .await?;
        assert!(!db.claim_message(id, Duration::ZERO).await?);
        Ok(())
    })
}

fn rate_limit_count(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        store(&db, at(message("web", "r1", "web-r", "1"), &ago(120))).await?;
        let second = store(&db, at(message("web", "r2", "web-r", "2"), &ago(30))).await?;
        let mut follow = at(message("web", "r3", "web-r", ""), &ago(20));
        follow.kind = MessageKind::Follow;
        store(&db, follow).await?;
        let fourth = store(&db, at(message("web", "r4", "web-r", "4"), &ago(10))).await?;
        store(&db, at(message("web", "o1", "web-other", "x"), &ago(5))).await?;
        let last = store(&db, message("web", "r5", "web-r", "5")).await?;
        let minute = Duration::from_secs(60);
        // Text messages of this conversation in the minute up to and including each message.
        assert_eq!(db.recent_message_count(last, minute).await?, 3);
        assert_eq!(db.recent_message_count(fourth, minute).await?, 2);
        assert_eq!(db.recent_message_count(second, minute).await?, 1);
        assert!(db.recent_message_count(999_999, minute).await.is_err());
        Ok(())
    })
}

fn answers_with_flags(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let id = db
            .insert_message(message("zalo_bot", "a1", "zalo_bot-1", "Con nuôi?"))
            .await?
            .ok_or("not stored")?;
        let flags = vec![
            Flag::new(reason("low_confidence"), Some("0.42".into())),
            Flag::new(reason("sensitive_topic"), Some("children".into())),
            // The same reason twice is stored once.
            Flag::new(reason("low_confidence"), None),
        ];
        let (answer_id, public_id) = db
            .insert_answer_flagged(
                answer(id, "zalo_bot-1", "answered", 0.42),
                Some("Hôn nhân và gia đình".into()),
                flags,
            )
            .await?;
        assert_eq!(public_id.len(), 32);
        db.flag_answer(
            answer_id,
            Flag::new(reason("delivery_failed"), Some("blocked".into())),
        )
        .await?;
        db.flag_answer(answer_id, Flag::new(reason("delivery_failed"), None))
            .await?;
        let stored = db
            .answer_by_public_id(public_id.clone())
            .await?
            .ok_or("missing")?;
        assert_eq!(
            (stored.id, stored.message_id, stored.channel.as_str()),
            (answer_id, id, "zalo_bot")
        );
        assert_eq!(db.answer_by_public_id("nope".into()).await?, None);
        let detail = db.answer_detail(answer_id).await?.ok_or("missing")?;
        let reasons: Vec<&str> = detail.flags.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            reasons,
            ["low_confidence", "sensitive_topic", "delivery_failed"]
        );
        assert_eq!(detail.flags[0].1.as_deref(), Some("0.42"));
        assert!((detail.confidence - 0.42).abs() < 1e-6);
        assert_eq!(detail.topic.as_deref(), Some("Hôn nhân và gia đình"));
        assert_eq!(detail.question, "Con nuôi?");
        assert!(detail.review.is_none());
        let needs_review = count(
            &db,
            "SELECT needs_review FROM answers WHERE id = ?1",
            vec![answer_id.into()],
        )
        .await?;
        assert_eq!(needs_review, 1);
        // An answer without flags is not in the queue.
        let other = db
            .insert_message(message("web", "a2", "web-2", "Khác"))
            .await?
            .ok_or("not stored")?;
        db.insert_answer(answer(other, "web-2", "answered", 0.9))
            .await?;
        let queue = db
            .review_queue(QueueFilter {
                limit: 10,
                ..QueueFilter::default()
            })
            .await?;
        assert_eq!(queue.len(), 1);
        let mut listed: Vec<&str> = queue[0].reasons.iter().map(|r| r.as_str()).collect();
        listed.sort_unstable();
        assert_eq!(
            listed,
            ["delivery_failed", "low_confidence", "sensitive_topic"]
        );
        assert_eq!(db.answer_detail(999_999).await?.map(|d| d.answer_id), None);
        Ok(())
    })
}

fn deliveries(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let id = db
            .insert_message(message("telegram", "d1", "telegram-9", "Hỏi"))
            .await?
            .ok_or("not stored")?;
        let (answer_id, _) = db
            .insert_answer(answer(id, "telegram-9", "answered", 0.9))
            .await?;
        let delivery = |part, status, error: Option<&str>, answer_id| NewDelivery {
            message_id: id,
            answer_id,
            part,
            parts: 2,
            status,
            attempts: 3,
            error: error.map(str::to_owned),
        };
        db.insert_delivery(delivery(1, DeliveryStatus::Sent, None, Some(answer_id)))
            .await?;
        db.insert_delivery(delivery(
            2,
            DeliveryStatus::Failed,
            Some("HTTP 502"),
            Some(answer_id),
        ))
        .await?;
        db.insert_delivery(delivery(1, DeliveryStatus::OutsideWindow, None, None))
            .await?;
        let rows = count(
            &db,
            "SELECT count(*) FROM deliveries WHERE message_id = ?1",
            vec![id.into()],
        )
        .await?;
        let failed = count(
            &db,
            "SELECT count(*) FROM deliveries WHERE status = 'failed' AND error = ?1 AND attempts = 3",
            vec!["HTTP 502".into()],
        )
        .await?;
        assert_eq!((rows, failed), (3, 1));
        Ok(())
    })
}

fn feedback_raises_flags(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let id = db
            .insert_message(message("web", "f1", "web-f", "Hỏi"))
            .await?
            .ok_or("not stored")?;
        let (answer_id, public_id) = db
            .insert_answer(answer(id, "web-f", "answered", 0.9))
            .await?;
        let rate = |rating, comment: Option<&str>| {
            db.insert_feedback(public_id.clone(), rating, comment.map(str::to_owned))
        };
        assert_eq!(rate(Rating::Up, None).await?, FeedbackOutcome::Recorded);
        assert_eq!(
            rate(Rating::Up, None).await?,
            FeedbackOutcome::AlreadyRecorded
        );
        assert!(db
            .answer_detail(answer_id)
            .await?
            .ok_or("missing")?
            .flags
            .is_empty());
        assert_eq!(
            rate(Rating::Down, Some("sai điều luật")).await?,
            FeedbackOutcome::Recorded
        );
        assert_eq!(rate(Rating::Human, None).await?, FeedbackOutcome::Recorded);
        assert_eq!(rate(Rating::Report, None).await?, FeedbackOutcome::Recorded);
        assert_eq!(
            db.insert_feedback("unknown".into(), Rating::Down, None)
                .await?,
            FeedbackOutcome::UnknownAnswer
        );
        let detail = db.answer_detail(answer_id).await?.ok_or("missing")?;
        let flags: Vec<(&str, Option<&str>)> = detail
            .flags
            .iter()
            .map(|f| (f.0.as_str(), f.1.as_deref()))
            .collect();
        assert_eq!(
            flags,
            [
                ("thumbs_down", Some("sai điều luật")),
                ("human_requested", None),
                ("reported", None)
            ]
        );
        let ratings: Vec<&str> = detail.feedback.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(ratings, ["up", "down", "human", "report"]);
        Ok(())
    })
}

fn latest_answer_for_typed_feedback(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let first = store(&db, message("zalo_bot", "l1", "zb-l", "Hỏi 1")).await?;
        let (_, first_answer) = db
            .insert_answer(answer(first, "zb-l", "answered", 0.9))
            .await?;
        let second = store(&db, message("zalo_bot", "l2", "zb-l", "👍")).await?;
        // A notice is not what feedback rates.
        db.insert_answer(answer(second, "zb-l", "notice", 0.0))
            .await?;
        let third = store(&db, message("zalo_bot", "l3", "zb-l", "👎")).await?;
        assert_eq!(
            db.latest_answer_id("zb-l".into(), third).await?.as_deref(),
            Some(first_answer.as_str())
        );
        assert_eq!(db.latest_answer_id("zb-l".into(), first).await?, None);
        assert_eq!(db.latest_answer_id("other".into(), third).await?, None);
        Ok(())
    })
}

fn satisfaction_and_conversation_state(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let state = |channel: &str| {
            db.conversation_state("web-s".into(), ChannelKind::parse(channel).unwrap())
        };
        assert_eq!(state("web").await?, (false, false));
        db.insert_message(message("web", "s1", "web-s", "Hỏi"))
            .await?;
        assert_eq!(state("web").await?, (true, false));
        db.insert_satisfaction("web-s".into(), ChannelKind::Web, 5)
            .await?;
        assert_eq!(state("web").await?, (true, true));
        assert_eq!(state("zalo_bot").await?, (false, true));
        // The schema refuses a score outside 1..=5 on both backends.
        assert!(db
            .insert_satisfaction("web-s".into(), ChannelKind::Web, 6)
            .await
            .is_err());
        let scores = count(
            &db,
            "SELECT count(*) FROM satisfaction WHERE conversation_id = ?1 AND score = 5",
            vec!["web-s".into()],
        )
        .await?;
        assert_eq!(scores, 1);
        Ok(())
    })
}

fn channel_tokens_and_refresh_lease(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let minute = Duration::from_secs(60);
        assert_eq!(db.load_token(ChannelKind::ZaloOa).await?, None);
        // The first lease creates an empty row, which is not a token pair.
        assert!(db.lease_token_refresh(ChannelKind::ZaloOa, minute).await?);
        assert!(!db.lease_token_refresh(ChannelKind::ZaloOa, minute).await?);
        assert_eq!(db.load_token(ChannelKind::ZaloOa).await?, None);
        for n in 1..=2 {
            db.save_token(
                ChannelKind::ZaloOa,
                TokenPair {
                    access_token: format!("a{n}"),
                    refresh_token: format!("r{n}"),
                    expires_at: now_text(),
                },
            )
            .await?;
        }
        let pair = db.load_token(ChannelKind::ZaloOa).await?.ok_or("missing")?;
        assert_eq!(
            (pair.access_token.as_str(), pair.refresh_token.as_str()),
            ("a2", "r2")
        );
        // Saving gave the lease back; releasing does too.
        assert!(db.lease_token_refresh(ChannelKind::ZaloOa, minute).await?);
        db.release_token_refresh(ChannelKind::ZaloOa).await?;
        assert!(db.lease_token_refresh(ChannelKind::ZaloOa, minute).await?);
        // A lease that ran out is taken over.
        assert!(
            db.lease_token_refresh(ChannelKind::Telegram, Duration::ZERO)
                .await?
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            db.lease_token_refresh(ChannelKind::Telegram, minute)
                .await?
        );
        Ok(())
    })
}

fn staff_sessions_and_lockout(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let lan = new_staff(&db, "lan").await?;
        assert!(new_staff(&db, "lan").await.is_err(), "usernames are unique");
        let admin = db
            .create_staff(
                "minh".into(),
                "Trần Minh".into(),
                "hash".into(),
                Role::Admin,
            )
            .await?;
        let account = |name: &str| db.staff_by_username(name.to_owned());
        let found = account("lan").await?.ok_or("missing")?;
        assert_eq!((found.id, found.display_name.as_str()), (lan, "Cán bộ lan"));
        assert!(!found.is_admin() && !found.disabled);
        assert!(account("nobody").await?.is_none());

        // Every attempt counts before its check; the third of three locks the account, and a
        // locked account lets no attempt through until the lock runs out.
        let attempt = |now: String| db.count_login_attempt(lan, 3, now, ago(-900));
        assert_eq!(attempt(ago(0)).await?, Some(1));
        assert_eq!(attempt(ago(0)).await?, Some(2));
        assert_eq!(attempt(ago(0)).await?, Some(3));
        let found = account("lan").await?.ok_or("missing")?;
        assert!(found.locked_until.is_some());
        assert_eq!(attempt(ago(0)).await?, None, "locked");
        assert_eq!(account("lan").await?.ok_or("missing")?.failed_logins, 3);
        // Once the lock has run out, counting starts again.
        assert_eq!(attempt(ago(-1000)).await?, Some(1));
        let found = account("lan").await?.ok_or("missing")?;
        assert_eq!(found.locked_until, None);
        db.reset_login_failures(lan).await?;
        let found = account("lan").await?.ok_or("missing")?;
        assert_eq!((found.failed_logins, found.locked_until), (0, None));

        // Sessions: live, expired (and swept at the next sign-in), ended, of a disabled account.
        db.create_session("expired".into(), lan, "x".into(), ago(60))
            .await?;
        assert!(db.session("expired".into()).await?.is_none());
        db.create_session("live".into(), lan, "csrf-1".into(), ago(-3600))
            .await?;
        let swept = count(
            &db,
            "SELECT count(*) FROM staff_sessions WHERE token_hash = ?1",
            vec!["expired".into()],
        )
        .await?;
        assert_eq!(swept, 0);
        let session = db.session("live".into()).await?.ok_or("no session")?;
        assert_eq!(
            (session.staff.id, session.csrf_token.as_str()),
            (lan, "csrf-1")
        );
        db.create_session("admin".into(), admin, "csrf-2".into(), ago(-3600))
            .await?;
        db.delete_session("live".into()).await?;
        assert!(db.session("live".into()).await?.is_none());
        db.execute_sql(
            "UPDATE staff SET disabled = 1 WHERE id = ?1",
            vec![admin.into()],
        )
        .await?;
        assert!(db.session("admin".into()).await?.is_none());

        db.audit(Some(lan), "login", None, None).await?;
        db.audit(None, "login_failed", Some("staff:unknown".into()), None)
            .await?;
        let audited = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'login%'",
            vec![],
        )
        .await?;
        assert_eq!(audited, 2);

        let all = db.list_staff().await?;
        let names: Vec<(&str, bool, bool)> = all
            .iter()
            .map(|s| (s.username.as_str(), s.is_admin(), s.disabled))
            .collect();
        assert_eq!(names, [("lan", false, false), ("minh", true, true)]);
        Ok(())
    })
}

fn review_queue_filters(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let a1 = flagged(
            &db,
            message("web", "q1", "web-1", "Kết hôn"),
            Some("Hôn nhân"),
            &["low_confidence"],
        )
        .await?;
        let a2 = flagged(
            &db,
            message("zalo_bot", "q2", "zalo_bot-2", "Khai sinh"),
            Some("Hộ tịch"),
            &["declined", "sensitive_topic"],
        )
        .await?;
        flagged(
            &db,
            message("telegram", "q3", "telegram-3", "Không cờ"),
            None,
            &[],
        )
        .await?;
        let a4 = flagged(
            &db,
            message("web", "q4", "web-4", "Đã xem"),
            Some("Hôn nhân"),
            &["reported"],
        )
        .await?;
        for (id, day) in [(a1, "2025-03-01"), (a2, "2025-03-05"), (a4, "2025-03-07")] {
            db.execute_sql(
                "UPDATE answers SET created_at = ?1 WHERE id = ?2",
                vec![format!("{day}T08:00:00.000Z").into(), id.into()],
            )
            .await?;
        }
        db.insert_review(NewReview {
            answer_id: a4,
            staff_id: staff,
            decision: Decision::Rejected,
            text: None,
            citations: Vec::new(),
            note: Some("Câu hỏi không rõ".into()),
            question: "Đã xem".into(),
            context: None,
            delivery: None,
        })
        .await?;

        let queue = |filter: QueueFilter| queue_ids(&db, filter);
        let filter = QueueFilter::default;
        assert_eq!(queue(filter()).await?, [a2, a1], "pending, newest first");
        assert_eq!(
            queue(QueueFilter {
                reason: "sensitive_topic".into(),
                ..filter()
            })
            .await?,
            [a2]
        );
        assert_eq!(
            queue(QueueFilter {
                channel: "web".into(),
                ..filter()
            })
            .await?,
            [a1]
        );
        assert_eq!(
            queue(QueueFilter {
                topic: "Hộ tịch".into(),
                ..filter()
            })
            .await?,
            [a2]
        );
        assert_eq!(
            queue(QueueFilter {
                from: "2025-03-02".into(),
                ..filter()
            })
            .await?,
            [a2]
        );
        assert_eq!(
            queue(QueueFilter {
                to: "2025-03-01".into(),
                ..filter()
            })
            .await?,
            [a1]
        );
        assert_eq!(
            queue(QueueFilter {
                state: "reviewed".into(),
                ..filter()
            })
            .await?,
            [a4]
        );
        assert_eq!(
            queue(QueueFilter {
                state: "all".into(),
                ..filter()
            })
            .await?,
            [a4, a2, a1]
        );
        assert_eq!(
            queue(QueueFilter {
                state: "all".into(),
                limit: 1,
                ..filter()
            })
            .await?,
            [a4]
        );
        let reviewed = db
            .review_queue(QueueFilter {
                state: "reviewed".into(),
                limit: 5,
                ..filter()
            })
            .await?;
        assert_eq!(reviewed[0].decision, Some(Decision::Rejected));
        assert_eq!(
            (reviewed[0].channel.as_str(), reviewed[0].question.as_str()),
            ("web", "Đã xem")
        );
        let second = db
            .review_queue(QueueFilter {
                reason: "declined".into(),
                limit: 5,
                ..filter()
            })
            .await?;
        let mut reasons: Vec<&str> = second[0].reasons.iter().map(|r| r.as_str()).collect();
        reasons.sort_unstable();
        assert_eq!(reasons, ["declined", "sensitive_topic"]);
        assert_eq!(db.flagged_topics().await?, ["Hôn nhân", "Hộ tịch"]);
        Ok(())
    })
}

fn review_curated_and_audit_in_one_transaction(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let a1 = flagged(
            &db,
            message("web", "v1", "web-1", "Tuổi kết hôn?"),
            None,
            &["reported"],
        )
        .await?;
        let a2 = flagged(
            &db,
            message("web", "v2", "web-2", "Hỏi khác"),
            None,
            &["reported"],
        )
        .await?;
        let review = |answer_id, decision: &str, text: Option<&str>| NewReview {
            answer_id,
            staff_id: staff,
            decision: Decision::parse(decision).expect("a decision"),
            text: text.map(str::to_owned),
            citations: cites("52-2014-qh13.dieu-8"),
            note: Some("đã sửa".into()),
            question: "Tuổi kết hôn?".into(),
            context: None,
            delivery: None,
        };
        let outcome = db
            .insert_review(review(
                a1,
                "edited",
                Some("Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi."),
            ))
            .await?;
        let ReviewOutcome::Stored {
            review_id,
            curated_id: Some(curated_id),
        } = outcome
        else {
            return Err(
                format!("expected a stored review with a curated answer, got {outcome:?}").into(),
            );
        };
        // A second decision on the same answer is refused and writes nothing.
        assert_eq!(
            db.insert_review(review(a1, "approved", Some("khác")))
                .await?,
            ReviewOutcome::AlreadyReviewed
        );
        // A rejection creates no curated answer.
        let rejected = db.insert_review(review(a2, "rejected", None)).await?;
        assert!(matches!(
            rejected,
            ReviewOutcome::Stored {
                curated_id: None,
                ..
            }
        ));
        // A review by an unknown staff member fails as a whole.
        let a3 = flagged(
            &db,
            message("web", "v3", "web-3", "Ba"),
            None,
            &["reported"],
        )
        .await?;
        assert!(db
            .insert_review(review(a3, "edited", Some("x")))
            .await
            .is_ok());
        let a4 = flagged(
            &db,
            message("web", "v4", "web-4", "Bốn"),
            None,
            &["reported"],
        )
        .await?;
        let mut bad = review(a4, "edited", Some("x"));
        bad.staff_id = 999_999;
        assert!(db.insert_review(bad).await.is_err());

        let audit = |action: &str, target: String| {
            count(
                &db,
                "SELECT count(*) FROM audit_log WHERE action = ?1 AND target = ?2",
                vec![action.into(), target.into()],
            )
        };
        assert_eq!(audit("review_edited", format!("answer:{a1}")).await?, 1);
        assert_eq!(audit("review_approved", format!("answer:{a1}")).await?, 0);
        assert_eq!(audit("review_rejected", format!("answer:{a2}")).await?, 1);
        assert_eq!(audit("review_edited", format!("answer:{a4}")).await?, 0);
        assert_eq!(count(&db, "SELECT count(*) FROM reviews", vec![]).await?, 3);

        let curated = db.curated_answers(false).await?;
        let ids: Vec<i64> = curated.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&curated_id));
        let mine = curated
            .iter()
            .find(|c| c.id == curated_id)
            .ok_or("missing")?;
        assert_eq!(mine.answer_text, "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi.");
        assert!(mine.active);

        db.set_review_delivery(
            review_id,
            ReviewDelivery::Failed,
            Some("outside_window".into()),
        )
        .await?;
        let detail = db.answer_detail(a1).await?.ok_or("missing")?;
        let record = detail.review.ok_or("no review")?;
        assert_eq!(
            (
                record.id,
                record.staff_name.as_str(),
                record.decision.as_str(),
                record.delivery_status.map(|d| d.as_str()),
                record.delivery_error.as_deref()
            ),
            (
                review_id,
                "Cán bộ lan",
                "edited",
                Some("failed"),
                Some("outside_window")
            )
        );
        assert_eq!(record.citations, cites("52-2014-qh13.dieu-8"));
        Ok(())
    })
}

/// A reviewed answer is committed with its delivery pending; workers (of any replicas) claim it
/// like a message, exactly one wins, and one whose lease ran out is taken over; an ended delivery
/// is never claimed again. The answer remembers a follow-up's question in its context.
fn review_deliveries_are_claimed_once(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let minute = Duration::from_secs(60);
        let staff = new_staff(&db, "lan").await?;
        let message_id = store(&db, message("zalo_bot", "r1", "zalo_bot-r", "Nộp ở đâu?")).await?;
        let (answer_id, _) = db
            .insert_answer(NewAnswer {
                follows: Some("Thủ tục kết hôn?".into()),
                ..answer(message_id, "zalo_bot-r", "answered", 0.5)
            })
            .await?;
        assert_eq!(db.answer_of_message(message_id).await?, Some(answer_id));
        let detail = db.answer_detail(answer_id).await?.ok_or("missing")?;
        assert_eq!(detail.follows.as_deref(), Some("Thủ tục kết hôn?"));
        let outcome = db
            .insert_review(NewReview {
                answer_id,
                staff_id: staff,
                decision: Decision::Edited,
                text: Some("Tại UBND cấp xã.".into()),
                citations: cites("52-2014-qh13.dieu-8"),
                note: None,
                question: "Nộp ở đâu?".into(),
                context: Some("Thủ tục kết hôn?".into()),
                delivery: Some((ReviewDelivery::Pending, None)),
            })
            .await?;
        let ReviewOutcome::Stored { review_id, .. } = outcome else {
            return Err(format!("not stored: {outcome:?}").into());
        };
        // The curated answer keeps the follow-up's context.
        let curated = db.curated_answers(false).await?;
        assert_eq!(
            (curated[0].question.as_str(), curated[0].context.as_deref()),
            ("Nộp ở đâu?", Some("Thủ tục kết hôn?"))
        );
        // Fresh and unclaimed: an orphan only once older than the sweep's margin.
        let orphans = |older: u64| db.orphaned_review_deliveries(Duration::from_secs(older));
        assert!(orphans(3600).await?.is_empty());
        assert_eq!(
            orphans(0).await?,
            vec![(review_id, "zalo_bot-r".to_owned())]
        );

        let claims = futures_util::future::join_all(
            (0..8).map(|_| db.claim_review_delivery(review_id, minute)),
        )
        .await;
        let won: Vec<_> = claims
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(won.len(), 1, "exactly one worker claims it");
        let claimed = &won[0];
        assert_eq!(
            (claimed.review_id, claimed.answer_id, claimed.text.as_str()),
            (review_id, answer_id, "Tại UBND cấp xã.")
        );
        assert_eq!(
            (claimed.message.id, claimed.message.chat_id.as_str()),
            (message_id, "c1")
        );
        assert_eq!(claimed.citations, cites("52-2014-qh13.dieu-8"));
        assert!(!claimed.received_at.is_empty());
        assert!(orphans(0).await?.is_empty(), "a live claim is no orphan");

        // A worker that died: its lease runs out, and the delivery is taken over.
        db.execute_sql(
            "UPDATE reviews SET claimed_until = ?1 WHERE id = ?2",
            vec![ago(10).into(), review_id.into()],
        )
        .await?;
        assert_eq!(orphans(3600).await?.len(), 1);
        assert!(db.claim_review_delivery(review_id, minute).await?.is_some());
        db.set_review_delivery(review_id, ReviewDelivery::Sent, None)
            .await?;
        assert!(db
            .claim_review_delivery(review_id, Duration::ZERO)
            .await?
            .is_none());
        assert!(orphans(0).await?.is_empty());
        Ok(())
    })
}

fn curated_edit_and_retire(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        assert_eq!(db.curated_version().await?, (0, String::new()));
        let a1 = flagged(
            &db,
            message("web", "e1", "web-1", "Hỏi"),
            None,
            &["reported"],
        )
        .await?;
        let ReviewOutcome::Stored {
            curated_id: Some(id),
            ..
        } = db
            .insert_review(NewReview {
                answer_id: a1,
                staff_id: staff,
                decision: Decision::Approved,
                text: Some("Đáp án".into()),
                citations: Vec::new(),
                note: None,
                question: "Hỏi".into(),
                context: None,
                delivery: None,
            })
            .await?
        else {
            return Err("no curated answer".into());
        };
        let before = db.curated_version().await?;
        assert_eq!(before.0, 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            db.update_curated(id, staff, Some("Hỏi đã sửa".into()), None, true)
                .await?
        );
        let edited = db.curated_answers(false).await?;
        assert_eq!(
            (edited[0].question.as_str(), edited[0].answer_text.as_str()),
            ("Hỏi đã sửa", "Đáp án")
        );
        let after = db.curated_version().await?;
        assert_eq!(after.0, 1);
        assert!(
            after.1 > before.1,
            "the version moves when an answer changes"
        );
        assert!(db.update_curated(id, staff, None, None, false).await?);
        assert!(db.curated_answers(false).await?.is_empty());
        let all = db.curated_answers(true).await?;
        assert_eq!((all.len(), all[0].active), (1, false));
        assert!(!db.update_curated(999_999, staff, None, None, false).await?);
        for (action, expected) in [("curated_edit", 1), ("curated_retire", 1)] {
            let n = count(
                &db,
                "SELECT count(*) FROM audit_log WHERE action = ?1 AND target = ?2",
                vec![action.into(), format!("curated:{id}").into()],
            )
            .await?;
            assert_eq!(n, expected, "{action}");
        }
        let stray = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE target = 'curated:999999'",
            vec![],
        )
        .await?;
        assert_eq!(stray, 0);
        Ok(())
    })
}

fn statistics_and_csv(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let m1 = store(
            &db,
            at(
                message("web", "s1", "web-a", "Tuổi kết hôn?"),
                "2025-03-01T08:00:00.000Z",
            ),
        )
        .await?;
        let m2 = store(
            &db,
            at(
                message(
                    "zalo_bot",
                    "s2",
                    "zalo_bot-b",
                    "Gọi 0912345678 hỏi thủ tục nhận con nuôi",
                ),
                "2025-03-01T09:00:00.000Z",
            ),
        )
        .await?;
        let m3 = store(
            &db,
            at(
                message(
                    "web",
                    "s3",
                    "web-c",
                    "  gọi 0912345678 hỏi thủ tục nhận con nuôi ",
                ),
                "2025-03-01T10:00:00.000Z",
            ),
        )
        .await?;
        let m4 = store(
            &db,
            at(
                message("telegram", "s4", "telegram-d", "Thủ tục ly hôn?"),
                "2025-03-02T10:00:00.000Z",
            ),
        )
        .await?;
        let outside = store(
            &db,
            at(
                message("web", "s5", "web-e", "Ngoài kỳ"),
                "2025-04-01T10:00:00.000Z",
            ),
        )
        .await?;
        let mut follow = at(
            message("zalo_bot", "s6", "zalo_bot-b", ""),
            "2025-03-01T11:00:00.000Z",
        );
        follow.kind = MessageKind::Follow;
        store(&db, follow).await?;

        let add = |m: i64, conv: &str, status: &str, topic: Option<&str>, flags: Vec<Flag>| {
            let answer = answer(m, conv, status, if flags.is_empty() { 0.9 } else { 0.5 });
            db.insert_answer_flagged(answer, topic.map(str::to_owned), flags)
        };
        let (a1, p1) = add(m1, "web-a", "answered", Some("Hôn nhân"), vec![]).await?;
        let (a2, _) = add(
            m2,
            "zalo_bot-b",
            "declined",
            None,
            vec![Flag::new(reason("declined"), None)],
        )
        .await?;
        let (a3, _) = add(
            m3,
            "web-c",
            "declined",
            None,
            vec![Flag::new(reason("declined"), None)],
        )
        .await?;
        let (a4, p4) = add(
            m4,
            "telegram-d",
            "answered",
            Some("Hôn nhân"),
            vec![Flag::new(reason("low_confidence"), None)],
        )
        .await?;
        let (a5, _) = add(outside, "web-e", "answered", Some("Hộ tịch"), vec![]).await?;
        db.insert_feedback(p1, Rating::Up, None).await?;
        db.insert_feedback(p4, Rating::Down, None).await?;
        db.insert_review(NewReview {
            answer_id: a4,
            staff_id: staff,
            decision: Decision::Approved,
            text: Some("Đáp án".into()),
            citations: Vec::new(),
            note: None,
            question: "Thủ tục ly hôn?".into(),
            context: None,
            delivery: None,
        })
        .await?;
        db.insert_satisfaction("web-a".into(), ChannelKind::Web, 5)
            .await?;
        db.insert_satisfaction("web-c".into(), ChannelKind::Web, 3)
            .await?;
        // Put answers, the review, feedback and ratings in the period (they were stored "now").
        for (id, time) in [
            (a1, "2025-03-01T08:00:01.000Z"),
            (a2, "2025-03-01T09:00:01.000Z"),
            (a3, "2025-03-01T10:00:01.000Z"),
            (a4, "2025-03-02T10:00:01.000Z"),
            (a5, "2025-04-01T10:00:01.000Z"),
        ] {
            db.execute_sql(
                "UPDATE answers SET created_at = ?1 WHERE id = ?2",
                vec![time.into(), id.into()],
            )
            .await?;
        }
        db.execute_sql(
            "UPDATE reviews SET created_at = '2025-03-02T12:00:01.000Z' WHERE answer_id = ?1",
            vec![a4.into()],
        )
        .await?;
        db.execute_sql(
            "UPDATE feedback SET at = '2025-03-02T11:00:00.000Z'",
            vec![],
        )
        .await?;
        db.execute_sql(
            "UPDATE satisfaction SET at = '2025-03-02T11:00:00.000Z'",
            vec![],
        )
        .await?;

        let period = Period {
            from: "2025-03-01".into(),
            to: "2025-03-02".into(),
        };
        let stats = stats::compute(&db, period.clone()).await?;
        assert_eq!(
            stats.per_day,
            [("2025-03-01".to_owned(), 3), ("2025-03-02".to_owned(), 1)]
        );
        assert_eq!(
            stats.per_channel,
            [
                ("web".to_owned(), 2),
                ("telegram".to_owned(), 1),
                ("zalo_bot".to_owned(), 1)
            ]
        );
        assert_eq!(stats.per_topic[0], ("Hôn nhân".to_owned(), 2));
        assert_eq!(stats.per_topic[1], ("(không rõ)".to_owned(), 2));
        assert_eq!(
            (
                stats.questions,
                stats.answered,
                stats.declined,
                stats.flagged,
                stats.reviewed
            ),
            (4, 2, 2, 3, 1)
        );
        assert_eq!(stats.median_review_hours, Some(2.0));
        assert_eq!((stats.satisfaction_votes, stats.satisfied_votes), (2, 1));
        assert_eq!(stats.satisfaction_rate(), Some(0.5));
        assert_eq!((stats.thumbs_up, stats.thumbs_down), (1, 1));
        assert_eq!(stats.unanswered.len(), 1, "{:?}", stats.unanswered);
        assert_eq!(stats.unanswered[0].1, 2);
        assert!(stats.unanswered[0].0.starts_with("gọi "));
        assert!(!stats.unanswered[0].0.contains("0912345678"), "masked");

        let csv = stats::csv(&db, period).await?;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 5, "{csv}");
        assert!(lines[0].starts_with("received_at,channel,topic,status"));
        assert!(lines[1].starts_with("2025-03-01T08:00:00.000Z,web,Hôn nhân,answered,,0.90,,,up,"));
        let last = lines[4];
        assert!(last.starts_with("2025-03-02T10:00:00.000Z,telegram,Hôn nhân,answered,,0.50,"));
        assert!(
            last.contains("low_confidence") && last.contains("thumbs_down"),
            "{last}"
        );
        assert!(last.contains(",approved,down,"), "{last}");
        assert!(!csv.contains("0912345678"), "personal data masked");
        Ok(())
    })
}

fn retention_erases_old_texts(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let old = db
            .insert_message(at(
                message("web", "o1", "web-o", "Số CCCD 012345678901"),
                &ago(400 * 86_400),
            ))
            .await?
            .ok_or("not stored")?;
        let recent = db
            .insert_message(message("web", "o2", "web-o", "Mới"))
            .await?
            .ok_or("not stored")?;
        // A citizen's comment (in the feedback and in the flag it raised) and a curated answer
        // whose question is a citizen's, all from before the cutoff.
        let (_, public_id) = db
            .insert_answer(answer(old, "web-o", "answered", 0.8))
            .await?;
        db.insert_feedback(
            public_id,
            Rating::Report,
            Some("Tôi là Lan, sđt 0905 123 456".into()),
        )
        .await?;
        let staff = new_staff(&db, "lan").await?;
        db.execute_sql(
            "INSERT INTO curated_answers (question, context, answer_text, citations, created_by, created_at, updated_at)
             VALUES ('Còn nữ thì sao?', 'Tôi là Lan ở Sơn Tịnh, tuổi kết hôn?', 'Nữ 18.', '[]', ?1, ?2, ?2)",
            vec![staff.into(), ago(400 * 86_400).into()],
        )
        .await?;
        let old_times = ago(400 * 86_400);
        for table in ["feedback SET at", "flags SET created_at"] {
            db.execute_sql(
                &format!("UPDATE {table} = ?1"),
                vec![old_times.clone().into()],
            )
            .await?;
        }
        let cutoff = ago(365 * 86_400);
        let erased = db.erase_texts_before(cutoff.clone()).await?;
        assert_eq!(
            (
                erased.messages,
                erased.comments,
                erased.flag_details,
                erased.curated
            ),
            (1, 1, 1, 1)
        );
        let again = db.erase_texts_before(cutoff).await?;
        assert_eq!(
            again.messages + again.comments + again.flag_details + again.curated,
            0
        );
        let erased = db.message(old).await?.ok_or("the row itself is kept")?;
        assert_eq!(erased.text, "");
        assert_eq!(db.message(recent).await?.ok_or("missing")?.text, "Mới");
        for sql in [
            "SELECT count(*) FROM feedback WHERE comment IS NOT NULL",
            "SELECT count(*) FROM flags WHERE detail IS NOT NULL",
            "SELECT count(*) FROM curated_answers WHERE question != '' OR context IS NOT NULL OR active = 1",
        ] {
            assert_eq!(count(&db, sql, vec![]).await?, 0, "{sql}");
        }
        Ok(())
    })
}

fn history_source(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let conv = "web-h";
        let answer_with = |m, status: &str, citations: &str| {
            let mut a = answer(m, conv, status, 0.9);
            a.citations = cites(citations);
            db.insert_answer(a)
        };
        let old = store(&db, at(message("web", "h0", conv, "Cũ quá"), &ago(7200))).await?;
        answer_with(old, "answered", "").await?;
        let first = store(
            &db,
            at(message("web", "h1", conv, "Tuổi kết hôn?"), &ago(60)),
        )
        .await?;
        answer_with(first, "answered", "52-2014-qh13.dieu-8").await?;
        let notice = store(&db, at(message("web", "h2", conv, "/start"), &ago(50))).await?;
        answer_with(notice, "notice", "").await?;
        let mut follow = at(message("web", "h3", conv, ""), &ago(40));
        follow.kind = MessageKind::Follow;
        store(&db, follow).await?;
        let other = store(&db, at(message("web", "x1", "web-other", "Khác"), &ago(30))).await?;
        answer_with(other, "answered", "").await?;
        let second = store(
            &db,
            at(message("web", "h4", conv, "Nộp hồ sơ ở đâu?"), &ago(20)),
        )
        .await?;
        answer_with(second, "declined", "").await?;
        Ok::<_, Failed>(())
    })?;
    // Read on this (blocking) thread, as the assistant does.
    let within = Duration::from_secs(1800);
    let turns = db.recent_turns("web-h", 6, within);
    let questions: Vec<&str> = turns.iter().map(|t| t.question.as_str()).collect();
    assert_eq!(questions, ["Tuổi kết hôn?", "Nộp hồ sơ ở đâu?"]);
    assert_eq!(turns[0].article_ids, ["52-2014-qh13.dieu-8"]);
    assert_eq!(turns[0].search_text, "Tuổi kết hôn?");
    assert!(turns[1].article_ids.is_empty());
    let last: Vec<String> = db
        .recent_turns("web-h", 1, within)
        .into_iter()
        .map(|t| t.question)
        .collect();
    assert_eq!(last, ["Nộp hồ sơ ở đâu?"]);
    assert!(db.recent_turns("web-none", 6, within).is_empty());
    Ok(())
}

fn api_exchange_in_one_transaction(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let flags = vec![Flag::new(reason("declined"), Some("thoi_tiet".into()))];
        let (answer_id, public_id) = db
            .record_exchange(
                message("api", "x1", "api-1", "Mai trời có mưa không?"),
                answer(0, "api-1", "declined", 1.0),
                Some("thoi_tiet".into()),
                flags,
            )
            .await?;
        assert_eq!(public_id.len(), 32);
        let detail = db.answer_detail(answer_id).await?.ok_or("missing")?;
        assert_eq!(
            (detail.channel, detail.status, detail.question.as_str()),
            (
                ChannelKind::Api,
                AnswerStatus::Declined,
                "Mai trời có mưa không?"
            )
        );
        assert_eq!(detail.topic.as_deref(), Some("thoi_tiet"));
        assert_eq!(detail.flags.len(), 1);
        let message = db.message(detail.message_id).await?.ok_or("missing")?;
        // Answered from the start: no worker takes it up, on any replica.
        assert_eq!(message.status, MessageStatus::Answered);
        assert!(db.orphaned_messages(Duration::ZERO).await?.is_empty());
        let queued = queue_ids(&db, QueueFilter::default()).await?;
        assert_eq!(queued, [answer_id]);
        Ok(())
    })
}

fn curated_source(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    // Read on this (blocking) thread, as the assistant does.
    let empty = db.version()?;
    assert!(db.active()?.is_empty());
    let curated_id = run(async {
        let staff = new_staff(&db, "lan").await?;
        let a1 = flagged(
            &db,
            message("zalo_bot", "k1", "zalo_bot-k", "Tuổi kết hôn?"),
            None,
            &["reported"],
        )
        .await?;
        let outcome = db
            .insert_review(NewReview {
                answer_id: a1,
                staff_id: staff,
                decision: Decision::Edited,
                text: Some("Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi.".into()),
                citations: cites("52-2014-qh13.dieu-8"),
                note: None,
                question: "Tuổi kết hôn?".into(),
                context: None,
                delivery: None,
            })
            .await?;
        match outcome {
            ReviewOutcome::Stored {
                curated_id: Some(id),
                ..
            } => Ok::<_, Failed>((id, staff)),
            other => Err(format!("no curated answer: {other:?}").into()),
        }
    })?;
    let (curated_id, staff) = curated_id;
    let version = db.version()?;
    assert_ne!(version, empty);
    let active = db.active()?;
    assert_eq!(active.len(), 1);
    assert_eq!(
        (
            active[0].id,
            active[0].question.as_str(),
            active[0].text.as_str()
        ),
        (
            curated_id,
            "Tuổi kết hôn?",
            "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi."
        )
    );
    assert_eq!(active[0].article_ids, ["52-2014-qh13.dieu-8"]);
    // Retired: no longer active, and the version moved on.
    run(async {
        db.execute_sql(
            "UPDATE curated_answers SET updated_at = '2000-01-01T00:00:00.000Z'",
            Vec::new(),
        )
        .await?;
        db.update_curated(curated_id, staff, None, None, false)
            .await?;
        Ok::<_, Failed>(())
    })?;
    assert_ne!(db.version()?, version);
    assert!(db.active()?.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let arguments = Arguments::from_args();
    let url = std::env::var("HOILUAT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let postgres = Backend::Postgres {
        url: url.clone().unwrap_or_default(),
    };
    let mut trials = Vec::new();
    for backend in [Backend::Sqlite, postgres] {
        let absent = matches!(backend, Backend::Postgres { .. }) && url.is_none();
        for (name, case) in CASES.iter().chain(platform::CASES) {
            let backend = backend.clone();
            let case = *case;
            let trial = Trial::test(format!("{}::{name}", backend.name()), move || {
                let place = Place::new(&backend);
                case(&place)
            });
            trials.push(trial.with_ignored_flag(absent));
        }
    }
    let names: HashSet<String> = trials.iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(names.len(), trials.len());
    libtest_mimic::run(&arguments, trials).exit();
}

/// What staff approved or corrected comes back as a question set (`hoiluat staff
/// reviewed-questions`): the citizen's question masked, the articles staff chose as gold, oldest
/// first; a rejected answer and a retired curated answer do not.
fn reviewed_questions_become_a_question_set(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/luat-52-2014-qh13.md");
    let text = std::fs::read_to_string(&path)?;
    let document = hoiluat::corpus::parse_document("luat-52-2014-qh13.md", &text)
        .document
        .ok_or("the shipped law parses")?;
    let library = hoiluat::library::Library::from_documents(&[document]);
    let curated_ids = run(async {
        let staff = new_staff(&db, "hoa").await?;
        let review = |answer_id, decision: &str, question: &str, articles: &str| NewReview {
            answer_id,
            staff_id: staff,
            decision: Decision::parse(decision).expect("a decision"),
            text: Some("Trả lời đã duyệt.".into()),
            citations: cites(articles),
            note: None,
            question: question.into(),
            context: None,
            delivery: None,
        };
        let asked = [
            (
                "r1",
                "edited",
                "ly hon thi con 2 tuoi ai nuoi, sdt 0912345678",
                "52-2014-qh13.dieu-81",
            ),
            ("r2", "rejected", "Hỏi linh tinh", "52-2014-qh13.dieu-8"),
            (
                "r3",
                "approved",
                "Nữ bao nhiêu tuổi thì được kết hôn?",
                "52-2014-qh13.dieu-8,52-2014-qh13.dieu-8",
            ),
            (
                "r4",
                "approved",
                "Câu sẽ bị bỏ khỏi mẫu",
                "52-2014-qh13.dieu-8",
            ),
        ];
        let mut curated_ids = Vec::new();
        for (external, decision, question, articles) in asked {
            let answer_id = flagged(
                &db,
                message("web", external, &format!("web-{external}"), question),
                None,
                &["reported"],
            )
            .await?;
            if let ReviewOutcome::Stored {
                curated_id: Some(id),
                ..
            } = db
                .insert_review(review(answer_id, decision, question, articles))
                .await?
            {
                curated_ids.push(id);
            }
        }
        assert_eq!(
            curated_ids.len(),
            3,
            "edited and approved answers become curated ones"
        );
        db.update_curated(curated_ids[2], staff, None, None, false)
            .await?;

        let curated = db.curated_answers(false).await?;
        let set = hoiluat::eval::reviewed::reviewed_questions(&curated, &library);
        assert_eq!(set.lines.len(), 2);
        let lines: Vec<serde_json::Value> = set
            .lines
            .iter()
            .map(|line| serde_json::from_str(line))
            .collect::<Result<_, _>>()?;
        assert_eq!(lines[0]["id"], format!("curated-{}", curated_ids[0]));
        assert_eq!(lines[0]["expect"], "answer");
        assert_eq!(lines[0]["kind"], "reviewed_edited");
        assert_eq!(lines[1]["kind"], "reviewed_approved");
        let question = lines[0]["question"].as_str().ok_or("a question")?;
        assert!(
            question.starts_with("ly hon thi con 2 tuoi ai nuoi"),
            "{question}"
        );
        assert!(!question.contains("0912345678"), "{question}");
        assert_eq!(
            lines[0]["gold"],
            serde_json::json!([{"so_hieu": "52/2014/QH13", "dieu": "81"}])
        );
        assert_eq!(lines[1]["id"], format!("curated-{}", curated_ids[1]));
        assert_eq!(
            lines[1]["gold"],
            serde_json::json!([{"so_hieu": "52/2014/QH13", "dieu": "8"}])
        );
        Ok::<_, Failed>(curated_ids)
    })?;

    // The command staff run writes the same lines, over the same database.
    let corpus = place.dir.path().join("corpus");
    std::fs::create_dir_all(&corpus)?;
    std::fs::copy(&path, corpus.join("luat-52-2014-qh13.md"))?;
    let out = place.dir.path().join("reviewed.jsonl");
    let config = place.config();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hoiluat"));
    command
        .args(["staff", "reviewed-questions", "--out"])
        .arg(&out)
        .env_remove("HOILUAT_CONFIG")
        .env("HOILUAT__PATHS__CORPUS_DIR", &corpus);
    match config.kind {
        DatabaseKind::Sqlite => command.env("HOILUAT__DATABASE__KIND", "sqlite").env(
            "HOILUAT__DATABASE__PATH",
            config.path(&PathsConfig::default()),
        ),
        DatabaseKind::Postgres => command
            .env("HOILUAT__DATABASE__KIND", "postgres")
            .env("HOILUAT__DATABASE__URL", &config.url),
    };
    let output = command.output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Đã ghi 2 câu hỏi (trên 1 văn bản)"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&out)?;
    let ids: Vec<String> = written
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).map(|v| v["id"].to_string()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        ids,
        [
            format!("\"curated-{}\"", curated_ids[0]),
            format!("\"curated-{}\"", curated_ids[1])
        ]
    );
    Ok(())
}
