//! The dispatcher with the real assistant and a real SQLite file: each delivery answered once,
//! retries on retryable errors, failures recorded, rate limits, and messages left by a killed
//! process answered after a restart. The platform side is a recording sender here; each adapter's
//! own tests play the platform over HTTP.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use hoiluat::channels::dispatch::{Dispatcher, Submitted};
use hoiluat::channels::{
    ChannelKind, ChannelSender, Inbound, InboundKind, OutPart, Reply, SendError,
};
use hoiluat::config::ChannelsConfig;
use hoiluat::db::{
    now_text, AnswerStatus, Db, MessageKind, MessageStatus, NewMessage, StoredCitation,
};
use hoiluat::ready::Ready;

/// Plays a platform: records what it was asked to send, answers with scripted results.
#[derive(Default)]
struct RecordingSender {
    sent: Mutex<Vec<(String, String)>>,
    script: Mutex<VecDeque<Result<(), SendError>>>,
    attempts: Mutex<usize>,
}

impl RecordingSender {
    fn scripted(results: Vec<Result<(), SendError>>) -> Arc<RecordingSender> {
        Arc::new(RecordingSender {
            script: Mutex::new(results.into()),
            ..Default::default()
        })
    }

    fn sent(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().clone()
    }
}

impl ChannelSender for RecordingSender {
    fn kind(&self) -> ChannelKind {
        ChannelKind::ZaloBot
    }

    fn render(&self, reply: &Reply) -> Vec<OutPart> {
        vec![OutPart::plain(reply.plain_text().to_owned())]
    }

    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            *self.attempts.lock().unwrap() += 1;
            let result = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
            if result.is_ok() {
                self.sent
                    .lock()
                    .unwrap()
                    .push((chat_id.to_owned(), part.text.clone()));
            }
            result
        })
    }
}

fn config() -> ChannelsConfig {
    ChannelsConfig {
        retry_base_ms: 10,
        user_messages_per_minute: 5,
        ..ChannelsConfig::default()
    }
}

fn ready_cell() -> Ready {
    Ready::with(common::fixture().started.assistant.clone())
}

fn text(external_id: &str, user: &str, text: &str) -> Inbound {
    Inbound {
        channel: ChannelKind::ZaloBot,
        external_id: external_id.into(),
        user_id: user.into(),
        chat_id: format!("chat-{user}"),
        kind: InboundKind::Text(text.into()),
    }
}

/// The status of a message once it is no longer `received`.
async fn final_status(db: &Db, id: i64) -> (String, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row: (String, Option<String>) = db
            .call(move |c| {
                c.query_row(
                    "SELECT status, error FROM messages WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await
            .unwrap();
        if row.0 != "received" {
            return row;
        }
        assert!(Instant::now() < deadline, "message {id} was never handled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn accepted(submitted: Submitted) -> i64 {
    match submitted {
        Submitted::Accepted(id) => id,
        Submitted::Duplicate => panic!("a new delivery was taken for a duplicate"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_answered_once_with_its_citation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config());
    let message = text("m-1", "u1", "Nam nữ bao nhiêu tuổi thì được kết hôn?");
    let id = accepted(dispatcher.submit(message.clone()).await.unwrap());
    assert_eq!(
        dispatcher.submit(message).await.unwrap(),
        Submitted::Duplicate
    );
    assert_eq!(final_status(&db, id).await, ("answered".into(), None));
    let sent = sender.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "chat-u1");
    assert!(sent[0].1.contains("Điều 8"), "{}", sent[0].1);
    // The answer and its delivery are on record, citations included.
    let (citations, deliveries): (String, i64) = db
        .call(move |c| {
            let citations = c.query_row(
                "SELECT citations FROM answers WHERE message_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            let deliveries = c.query_row(
                "SELECT count(*) FROM deliveries WHERE message_id = ?1 AND status = 'sent'",
                [id],
                |r| r.get(0),
            )?;
            Ok((citations, deliveries))
        })
        .await
        .unwrap();
    assert!(citations.contains("52-2014-qh13.dieu-8"), "{citations}");
    assert_eq!(deliveries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_are_retried_and_final_failures_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let retryable = || SendError::Retryable {
        reason: "rate limited (-32)".into(),
        retry_after: None,
    };
    let sender = RecordingSender::scripted(vec![
        Err(retryable()),
        Err(retryable()),
        Ok(()),
        Err(SendError::OutsideWindow {
            reason: "-230 user has not interacted for 7 days".into(),
        }),
    ]);
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config());
    let first = accepted(
        dispatcher
            .submit(text("r-1", "u2", "Thủ tục đăng ký khai sinh?"))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, first).await.0, "answered");
    let attempts: u32 = db
        .call(move |c| {
            c.query_row(
                "SELECT attempts FROM deliveries WHERE message_id = ?1",
                [first],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(attempts, 3);

    let second = accepted(
        dispatcher
            .submit(text("r-2", "u2", "Đăng ký kết hôn ở đâu?"))
            .await
            .unwrap(),
    );
    let (status, error) = final_status(&db, second).await;
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("outside_window"));
    let delivery: (String, u32) = db
        .call(move |c| {
            c.query_row(
                "SELECT status, attempts FROM deliveries WHERE message_id = ?1",
                [second],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!(
        delivery,
        ("outside_window".into(), 1),
        "window errors are not retried"
    );
    // A reply that could not be delivered is in the staff queue, with why.
    let flag: (String, String) = db
        .call(move |c| {
            c.query_row(
                "SELECT f.reason, f.detail FROM flags f JOIN answers a ON a.id = f.answer_id
                 WHERE a.message_id = ?1 AND f.reason = 'delivery_failed'",
                [second],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .expect("the failed delivery is flagged");
    assert!(flag.1.contains("outside_window"), "{flag:?}");
}

/// Renders like [`RecordingSender`], but panics the first time it renders (a bug in one reply).
#[derive(Default)]
struct PanicOnceSender {
    panicked: std::sync::atomic::AtomicBool,
    inner: RecordingSender,
}

impl ChannelSender for PanicOnceSender {
    fn kind(&self) -> ChannelKind {
        ChannelKind::ZaloBot
    }

    fn render(&self, reply: &Reply) -> Vec<OutPart> {
        if !self
            .panicked
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("a bug while rendering one reply");
        }
        self.inner.render(reply)
    }

    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.inner.send(chat_id, part)
    }
}

/// A panic while handling one message marks it failed and flags it for staff; the worker goes on
/// with the next message (with one worker, a dead worker would answer nothing more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_fails_one_message_and_the_worker_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = Arc::new(PanicOnceSender::default());
    let one_worker = ChannelsConfig {
        workers: 1,
        ..config()
    };
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &one_worker);
    let first = accepted(
        dispatcher
            .submit(text("p-1", "u9", "Thủ tục đăng ký khai sinh?"))
            .await
            .unwrap(),
    );
    let (status, error) = final_status(&db, first).await;
    assert_eq!(status, "failed");
    assert!(error.unwrap_or_default().contains("panic"));
    let flagged = common::count(
        &db,
        "SELECT count(*) FROM flags WHERE reason = 'handling_failed'",
    )
    .await;
    assert_eq!(flagged, 1);
    let second = accepted(
        dispatcher
            .submit(text("p-2", "u10", "Đăng ký kết hôn ở đâu?"))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, second).await.0, "answered");
    // The first citizen is told that a person will look at it; the second gets an answer.
    let sent = sender.inner.sent();
    let to = |chat: &str| sent.iter().filter(|(c, _)| c == chat).count();
    assert!(
        sent.contains(&(
            "chat-u9".to_owned(),
            hoiluat::channels::notices::FAILURE.to_owned()
        )),
        "{sent:?}"
    );
    assert_eq!((to("chat-u9"), to("chat-u10")), (1, 1), "{sent:?}");
    // A restart does not replay the failed message.
    drop(dispatcher);
    let restarted = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &one_worker);
    assert_eq!(restarted.requeue_pending().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_user_gets_one_polite_notice() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    let mut config = config();
    config.user_messages_per_minute = 2;
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config);
    let mut ids = Vec::new();
    for n in 0..5 {
        let message = text(&format!("f-{n}"), "flooder", "Điều kiện kết hôn là gì?");
        ids.push(accepted(dispatcher.submit(message).await.unwrap()));
    }
    let mut statuses = Vec::new();
    for id in ids {
        statuses.push(final_status(&db, id).await.0);
    }
    assert_eq!(
        statuses,
        [
            "answered",
            "answered",
            "rate_limited",
            "rate_limited",
            "rate_limited"
        ]
    );
    let sent = sender.sent();
    assert_eq!(sent.len(), 3, "two answers and one notice: {sent:?}");
    assert!(sent[2].1.contains("hơi nhanh"), "{}", sent[2].1);
    // Another user is unaffected.
    let other = accepted(
        dispatcher
            .submit(text("f-x", "calm", "Điều kiện kết hôn là gì?"))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, other).await.0, "answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_a_killed_process_are_answered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    // A previous process stored (and acknowledged) these, then died before answering.
    {
        let db = Db::open(&path).unwrap();
        for n in 0..3 {
            let conversation = hoiluat::channels::conversation_id(ChannelKind::ZaloBot, "u9");
            db.insert_message(NewMessage {
                channel: ChannelKind::ZaloBot,
                external_id: format!("k-{n}"),
                conversation_id: conversation,
                user_id: "u9".into(),
                chat_id: "chat-u9".into(),
                kind: MessageKind::Text,
                text: "Nam nữ bao nhiêu tuổi thì được kết hôn?".into(),
                received_at: now_text(),
            })
            .await
            .unwrap()
            .unwrap();
        }
    }
    let db = Db::open(&path).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    // Not ready yet: start-up is still loading the index. Messages wait, they are not failed.
    let cell = Ready::new();
    let dispatcher = Dispatcher::start(db.clone(), cell.clone(), vec![sender.clone()], &config());
    assert_eq!(dispatcher.requeue_pending().await.unwrap(), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sender.sent().is_empty());
    cell.set(common::fixture().started.assistant.clone());
    for id in 1..=3 {
        assert_eq!(final_status(&db, id).await.0, "answered");
    }
    assert_eq!(sender.sent().len(), 3);
    assert_eq!(dispatcher.requeue_pending().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_and_images_get_fixed_replies() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config());
    let mut follow = text("e-1", "u5", "");
    follow.kind = InboundKind::Follow;
    let mut image = text("e-2", "u5", "");
    image.kind = InboundKind::Unsupported("image".into());
    for message in [follow, image] {
        let id = accepted(dispatcher.submit(message).await.unwrap());
        assert_eq!(final_status(&db, id).await.0, "answered");
    }
    let sent = sender.sent();
    assert!(sent[0].1.starts_with("Xin chào"), "{}", sent[0].1);
    assert!(sent[1].1.contains("tin nhắn chữ"), "{}", sent[1].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_and_sensitive_answers_are_flagged_for_staff() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config());
    let questions = [
        ("s-1", "Nam nữ bao nhiêu tuổi thì được kết hôn?"),
        ("s-2", "Mai trời có mưa không?"),
        (
            "s-3",
            "Chồng tôi đánh đập tôi, tôi muốn ly hôn thì làm thế nào?",
        ),
    ];
    let mut ids = Vec::new();
    for (external, question) in questions {
        let id = accepted(
            dispatcher
                .submit(text(external, external, question))
                .await
                .unwrap(),
        );
        assert_eq!(final_status(&db, id).await.0, "answered");
        ids.push(id);
    }
    let reasons = |id: i64| {
        db.call(move |c| {
            let mut statement = c.prepare(
                "SELECT f.reason FROM flags f JOIN answers a ON a.id = f.answer_id
                 WHERE a.message_id = ?1 ORDER BY f.reason",
            )?;
            let rows = statement.query_map([id], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
    };
    // An answer is flagged low_confidence exactly when its calibrated confidence is under
    // `retrieval.review_below`; nothing else flags the marriage-age answer.
    let confidence: f64 = db
        .call({
            let id = ids[0];
            move |c| {
                c.query_row(
                    "SELECT confidence FROM answers WHERE message_id = ?1",
                    [id],
                    |r| r.get(0),
                )
            }
        })
        .await
        .unwrap();
    let review_below = f64::from(hoiluat::config::Config::default().retrieval.review_below);
    let expected: Vec<String> = if confidence < review_below {
        vec!["low_confidence".to_owned()]
    } else {
        Vec::new()
    };
    assert_eq!(
        reasons(ids[0]).await.unwrap(),
        expected,
        "confidence {confidence}"
    );
    assert_eq!(reasons(ids[1]).await.unwrap(), ["declined"]);
    assert!(reasons(ids[2])
        .await
        .unwrap()
        .contains(&"sensitive_topic".to_owned()));
    let topic: Option<String> = db
        .call({
            let id = ids[0];
            move |c| {
                c.query_row(
                    "SELECT topic FROM answers WHERE message_id = ?1",
                    [id],
                    |r| r.get(0),
                )
            }
        })
        .await
        .unwrap();
    assert_eq!(topic.as_deref(), Some("Luật Hôn nhân và gia đình"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_continues_from_the_database_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    // A previous process answered the first question of this conversation, then stopped; this
    // process has never seen the conversation.
    let user = "restarted-user";
    let conversation = hoiluat::channels::conversation_id(ChannelKind::ZaloBot, user);
    let first = db
        .insert_message(NewMessage {
            channel: ChannelKind::ZaloBot,
            external_id: "old-1".into(),
            conversation_id: conversation.clone(),
            user_id: user.into(),
            chat_id: format!("chat-{user}"),
            kind: MessageKind::Text,
            text: "Thủ tục đăng ký kết hôn như thế nào?".into(),
            received_at: now_text(),
        })
        .await
        .unwrap()
        .unwrap();
    db.insert_answer(hoiluat::db::NewAnswer {
        message_id: first,
        conversation_id: conversation.clone(),
        status: AnswerStatus::Answered,
        decline_reason: None,
        text: "Theo Điều 18 Luật Hộ tịch…".into(),
        citations: vec![StoredCitation {
            article_id: "60-2014-qh13.dieu-18".into(),
            reference: String::new(),
            validity: String::new(),
        }],
        confidence: 0.8,
        needs_review: false,
        follows: None,
    })
    .await
    .unwrap();
    db.set_message_status(first, MessageStatus::Answered, None)
        .await
        .unwrap();

    let assistant = common::own_assistant();
    assistant.set_history_source(Arc::new(db.clone()));
    let sender = RecordingSender::scripted(vec![]);
    let dispatcher = Dispatcher::start(
        db.clone(),
        Ready::with(assistant),
        vec![sender.clone()],
        &config(),
    );
    let id = accepted(
        dispatcher
            .submit(text("new-1", user, "Nộp hồ sơ ở đâu?"))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, id).await.0, "answered");
    let reply = &sender.sent()[0].1;
    assert!(
        reply.contains("kết hôn"),
        "the follow-up is read as about marriage registration: {reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paraphrase_of_a_curated_question_gets_the_curated_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    common::add_curated_marriage_age(&db).await;
    let curated_text = common::CURATED_MARRIAGE_AGE;
    let sender = RecordingSender::scripted(vec![]);
    // Curated answers are the core's: the assistant reads them from the database.
    let assistant = common::own_assistant();
    assistant.set_curated_source(Arc::new(db.clone()), config().curated_similarity);
    let dispatcher = Dispatcher::start(
        db.clone(),
        Ready::with(assistant),
        vec![sender.clone()],
        &config(),
    );
    for (n, question) in [
        "tuoi ket hon cua nam va nu la bao nhieu",
        "Nữ bao nhiêu tuổi thì được nghỉ hưu?",
    ]
    .iter()
    .enumerate()
    {
        let id = accepted(
            dispatcher
                .submit(text(&format!("c-{n}"), &format!("cu{n}"), question))
                .await
                .unwrap(),
        );
        assert_eq!(final_status(&db, id).await.0, "answered");
    }
    let sent = sender.sent();
    assert!(sent[0].1.starts_with(curated_text), "{}", sent[0].1);
    assert!(
        sent[0].1.contains("Điều 8 Luật Hôn nhân và gia đình"),
        "{}",
        sent[0].1
    );
    assert!(
        !sent[1].1.contains(curated_text),
        "a different question is not given the curated answer"
    );
    // Retiring it takes effect at once.
    db.call(|c| {
        c.execute(
            "UPDATE curated_answers SET active = 0, updated_at = '2026-12-02T00:00:00Z'",
            [],
        )
    })
    .await
    .unwrap();
    let id = accepted(
        dispatcher
            .submit(text(
                "c-9",
                "cu9",
                "tuoi ket hon cua nam va nu la bao nhieu",
            ))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, id).await.0, "answered");
    assert!(!sender.sent()[2].1.contains(curated_text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_typed_as_a_message_rates_the_latest_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let sender = RecordingSender::scripted(vec![]);
    let dispatcher = Dispatcher::start(db.clone(), ready_cell(), vec![sender.clone()], &config());
    // Nothing to rate yet: "👍" is asked like any message (and declined).
    let first = accepted(
        dispatcher
            .submit(text("t-0", "typist", "👍"))
            .await
            .unwrap(),
    );
    assert_eq!(final_status(&db, first).await.0, "answered");
    for (n, message) in [
        "Nam nữ bao nhiêu tuổi thì được kết hôn?",
        "👎",
        "gặp cán bộ ạ",
    ]
    .iter()
    .enumerate()
    {
        let id = accepted(
            dispatcher
                .submit(text(&format!("t-{}", n + 1), "typist", message))
                .await
                .unwrap(),
        );
        assert_eq!(final_status(&db, id).await.0, "answered");
    }
    let sent = sender.sent();
    assert!(sent[2].1.contains("Cảm ơn"), "{}", sent[2].1);
    assert!(sent[3].1.contains("chuyển câu hỏi"), "{}", sent[3].1);
    let (ratings, reasons): (i64, i64) = (
        db.call(|c| {
            c.query_row(
                "SELECT count(*) FROM feedback WHERE rating IN ('down', 'human')",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap(),
        db.call(|c| {
            c.query_row(
                "SELECT count(*) FROM flags f JOIN answers a ON a.id = f.answer_id
                 WHERE f.reason IN ('thumbs_down', 'human_requested') AND a.text LIKE '%Điều 8%'",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap(),
    );
    assert_eq!(
        (ratings, reasons),
        (2, 2),
        "both rate the marriage-age answer and flag it"
    );
}

/// Telegram shows an answer as its lead, quotes and disclaimer: a curated answer's lead is the
/// whole staff text, every paragraph of it, not its first line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curated_answer_keeps_every_paragraph_on_telegram() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("h.sqlite3")).unwrap();
    let paragraphs = [
        "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi trở lên thì được kết hôn.",
        "Tuổi được tính theo ngày sinh ghi trong giấy khai sinh.",
        "Cần thêm thông tin, bạn hỏi UBND xã nơi cư trú.",
    ];
    common::add_curated_marriage_age_text(&db, &paragraphs.join("\n\n")).await;
    let assistant = common::own_assistant();
    assistant.set_curated_source(Arc::new(db.clone()), config().curated_similarity);
    let answer = assistant
        .ask("Nam nữ bao nhiêu tuổi thì được kết hôn?".into(), None)
        .await
        .unwrap();
    let shown = hoiluat::channels::telegram::render_reply(&Reply::Answer {
        answer,
        answer_id: "a1".into(),
    })
    .into_iter()
    .map(|part| part.text)
    .collect::<Vec<_>>()
    .join("\n");
    for paragraph in paragraphs {
        assert!(
            shown.contains(paragraph),
            "{paragraph:?} missing from {shown}"
        );
    }
}
