//! The persistence contract of the platform around the chatbot (migration 4), run like every
//! other case of `persistence.rs` against SQLite and, when configured, PostgreSQL: the
//! directory, flows and profiles, handoffs, the outbox (claims, leases, windows), surveys (once
//! per citizen), SME requests, legal news, the listening report's inputs, the plan's counts and
//! the retention of citizens' texts.

use std::time::Duration;

use hoiluat::db::{
    ChannelKind, DirectoryRole, FlowKind, FlowState, HandoffFilter, HandoffReason, HandoffStatus,
    NewDirectoryEntry, NewHandoff, NewOutbound, NewQuestion, NewSmeRequest, NewSurvey, OutboxKind,
    OutboxStatus, QuestionKind, Rating, ResponseStatus, SmeStatus, Speaker, SurveyStatus, Value,
};
use libtest_mimic::Failed;

use super::{ago, answer, at, count, message, new_staff, run, store, Case, Place};

pub const CASES: &[(&str, Case)] = &[
    ("directory_replace_and_lookup", directory_replace_and_lookup),
    ("flows_and_profiles", flows_and_profiles),
    ("handoff_lifecycle", handoff_lifecycle),
    (
        "outbox_claims_leases_and_windows",
        outbox_claims_leases_and_windows,
    ),
    ("surveys_once_per_citizen", surveys_once_per_citizen),
    ("sme_requests_and_responses", sme_requests_and_responses),
    ("news_once_per_subscriber", news_once_per_subscriber),
    (
        "listening_inputs_and_vector_cache",
        listening_inputs_and_vector_cache,
    ),
    (
        "plan_counts_and_platform_retention",
        plan_counts_and_platform_retention,
    ),
];

fn entry(commune: &str, key: &str, role: DirectoryRole, name: &str) -> NewDirectoryEntry {
    NewDirectoryEntry {
        commune_code: String::new(),
        commune: commune.into(),
        commune_key: key.into(),
        role,
        name: name.into(),
        phone: String::new(),
        hours: String::new(),
        address: String::new(),
        note: String::new(),
        verified: false,
    }
}

fn directory_replace_and_lookup(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let admin = new_staff(&db, "admin").await?;
        let entries = vec![
            entry(
                "Phường Cẩm Thành",
                "phuong cam thanh",
                DirectoryRole::Mediator,
                "Tổ hòa giải 1",
            ),
            entry(
                "Xã Bình Sơn",
                "xa binh son",
                DirectoryRole::CommuneJustice,
                "Bộ phận Tư pháp",
            ),
            entry("Cấp tỉnh", "", DirectoryRole::LegalAid, "Trung tâm TGPL"),
        ];
        assert_eq!(db.replace_directory(entries.clone(), Some(admin)).await?, 3);
        let all = db.directory().await?;
        assert_eq!(all.len(), 3);
        assert!(
            all.last().ok_or("empty")?.is_provincial(),
            "provincial desks last"
        );
        let for_commune = db.directory_for("phuong cam thanh".into()).await?;
        let names: Vec<&str> = for_commune.iter().map(|e| e.entry.name.as_str()).collect();
        assert_eq!(names, ["Tổ hòa giải 1", "Trung tâm TGPL"]);
        assert_eq!(
            db.communes().await?,
            vec![
                ("Phường Cẩm Thành".to_owned(), "phuong cam thanh".to_owned()),
                ("Xã Bình Sơn".to_owned(), "xa binh son".to_owned())
            ]
        );
        // One entry edited, one deleted, one added; a missing id changes nothing.
        let first = all[0].id;
        let mut edited = all[0].entry.clone();
        edited.phone = "0255 3 822 111".into();
        assert_eq!(
            db.save_directory_entry(Some(first), edited, admin).await?,
            Some(first)
        );
        assert_eq!(
            db.directory_entry(first).await?.ok_or("gone")?.entry.phone,
            "0255 3 822 111"
        );
        assert_eq!(
            db.save_directory_entry(Some(9_999), entries[0].clone(), admin)
                .await?,
            None
        );
        assert!(db.delete_directory_entry(all[1].id, admin).await?);
        assert!(!db.delete_directory_entry(all[1].id, admin).await?);
        assert!(db
            .save_directory_entry(None, entries[1].clone(), admin)
            .await?
            .is_some());
        // An import replaces everything, and every change is audited.
        assert_eq!(
            db.replace_directory(vec![entries[2].clone()], None).await?,
            1
        );
        assert_eq!(db.directory().await?.len(), 1);
        let audited = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'directory_%'",
            vec![],
        )
        .await?;
        assert_eq!(audited, 5, "two imports, an edit, a deletion, an addition");
        Ok(())
    })
}

fn flows_and_profiles(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let (channel, conversation) = (ChannelKind::Telegram, "telegram-a".to_owned());
        assert_eq!(db.flow(channel, conversation.clone()).await?, None);
        let state = FlowState {
            kind: FlowKind::Sme,
            data: r#"{"step":"company"}"#.into(),
        };
        db.set_flow(
            channel,
            conversation.clone(),
            state.clone(),
            Duration::from_secs(60),
        )
        .await?;
        assert_eq!(db.flow(channel, conversation.clone()).await?, Some(state));
        // Keyed by channel: the same id on the web is another conversation.
        assert_eq!(db.flow(ChannelKind::Web, conversation.clone()).await?, None);
        db.set_flow(
            channel,
            conversation.clone(),
            FlowState {
                kind: FlowKind::Survey,
                data: "{}".into(),
            },
            Duration::ZERO,
        )
        .await?;
        assert_eq!(
            db.flow(channel, conversation.clone()).await?,
            None,
            "expired"
        );
        db.clear_flow(channel, conversation.clone()).await?;
        assert_eq!(db.commune_of(channel, conversation.clone()).await?, None);
        for name in ["Xã Bình Sơn", "Phường Cẩm Thành"] {
            db.set_commune(
                channel,
                conversation.clone(),
                name.into(),
                name.to_lowercase(),
            )
            .await?;
        }
        assert_eq!(
            db.commune_of(channel, conversation.clone()).await?,
            Some(("Phường Cẩm Thành".into(), "phường cẩm thành".into()))
        );
        // The latest question the assistant answered, before a message.
        let first = store(
            &db,
            message("telegram", "m1", &conversation, "Hàng xóm lấn đất"),
        )
        .await?;
        db.insert_answer(answer(first, &conversation, "answered", 0.8))
            .await?;
        let second = store(&db, message("telegram", "m2", &conversation, "gặp cán bộ")).await?;
        assert_eq!(
            db.latest_question(channel, conversation.clone(), second)
                .await?,
            Some("Hàng xóm lấn đất".into())
        );
        assert_eq!(
            db.latest_question(channel, conversation, first).await?,
            None
        );
        Ok(())
    })
}

fn handoff_lifecycle(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let conversation = "zalo_oa-h".to_owned();
        let asked = store(&db, message("zalo_oa", "h1", &conversation, "Gặp cán bộ")).await?;
        let new = |commune: Option<&str>| NewHandoff {
            channel: ChannelKind::ZaloOa,
            conversation_id: conversation.clone(),
            chat_id: "c1".into(),
            reason: HandoffReason::Dispute,
            message_id: Some(asked),
            commune: commune.map(str::to_owned),
        };
        let (id, created) = db.open_handoff(new(None)).await?;
        assert!(created);
        assert_eq!(
            db.open_handoff(new(Some("Xã Bình Sơn"))).await?,
            (id, false)
        );
        let handoff = db.handoff(id).await?.ok_or("no handoff")?;
        assert_eq!(handoff.commune.as_deref(), Some("Xã Bình Sơn"));
        assert_eq!(handoff.status, HandoffStatus::Open);
        assert!(
            !db.held_by_staff(ChannelKind::ZaloOa, conversation.clone())
                .await?
        );
        // A reply needs the conversation taken first.
        assert_eq!(
            db.queue_staff_reply(id, staff, "Chào bạn".into()).await?,
            None
        );
        assert!(db.take_handoff(id, staff).await?);
        assert!(!db.take_handoff(id, staff).await?, "taken once");
        assert!(
            db.held_by_staff(ChannelKind::ZaloOa, conversation.clone())
                .await?
        );
        assert!(
            !db.held_by_staff(ChannelKind::Web, conversation.clone())
                .await?
        );
        let reply = db
            .queue_staff_reply(id, staff, "Cán bộ: chào bạn".into())
            .await?;
        assert!(reply.is_some());
        db.queue_staff_reply(id, staff, "Tin thứ hai".into())
            .await?;
        let taken = db.handoff(id).await?.ok_or("no handoff")?;
        assert_eq!(taken.taken_by.as_deref(), Some("Cán bộ lan"));
        let first_response = taken.first_response_at.ok_or("no first response")?;
        assert!(first_response >= taken.requested_at);
        // The transcript: the citizen, the bot, staff's replies with their delivery, by time.
        db.insert_answer(answer(asked, &conversation, "notice", 0.0))
            .await?;
        let transcript = db
            .transcript(ChannelKind::ZaloOa, conversation.clone(), 10)
            .await?;
        let speakers: Vec<String> = transcript
            .iter()
            .map(|line| match &line.speaker {
                Speaker::Citizen => "citizen".to_owned(),
                Speaker::Bot => "bot".to_owned(),
                Speaker::Staff { name, status } => format!("{name}:{status}"),
            })
            .collect();
        assert_eq!(speakers.first().map(String::as_str), Some("citizen"));
        assert_eq!(
            speakers
                .iter()
                .filter(|s| s.as_str() == "Cán bộ lan:queued")
                .count(),
            2,
            "{speakers:?}"
        );
        assert!(speakers.contains(&"bot".to_owned()));
        assert_eq!(db.handoffs(HandoffFilter::Active, 10).await?.len(), 1);
        assert!(db.close_handoff(id, staff, HandoffStatus::Resolved).await?);
        assert!(!db.close_handoff(id, staff, HandoffStatus::Returned).await?);
        assert!(!db.held_by_staff(ChannelKind::ZaloOa, conversation).await?);
        assert!(db.handoffs(HandoffFilter::Active, 10).await?.is_empty());
        assert_eq!(db.handoffs(HandoffFilter::Closed, 10).await?.len(), 1);
        let audited = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE target = ?1",
            vec![Value::from(format!("handoff:{id}"))],
        )
        .await?;
        assert_eq!(audited, 4, "take, two replies, resolve");
        Ok(())
    })
}

fn outbound(chat: &str, dedupe: Option<&str>) -> NewOutbound {
    NewOutbound {
        channel: ChannelKind::ZaloOa,
        chat_id: chat.into(),
        conversation_id: format!("zalo_oa-{chat}"),
        kind: OutboxKind::News,
        source_id: Some(1),
        dedupe_key: dedupe.map(str::to_owned),
        text: format!("Tin cho {chat}"),
        staff_id: None,
    }
}

fn outbox_claims_leases_and_windows(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let first = db
            .enqueue_outbound(outbound("a", Some("news:1:a")))
            .await?
            .ok_or("not queued")?;
        assert_eq!(
            db.enqueue_outbound(outbound("a", Some("news:1:a"))).await?,
            None,
            "deduplicated"
        );
        let second = db
            .enqueue_outbound(outbound("b", None))
            .await?
            .ok_or("not queued")?;
        db.enqueue_outbound(outbound("c", None)).await?;
        let zalo = vec![ChannelKind::ZaloOa];
        // Only the channels asked for; a claim hides the rows from other workers.
        assert!(db
            .claim_outbound(vec![ChannelKind::Telegram], 10, Duration::from_secs(60))
            .await?
            .is_empty());
        assert!(db
            .claim_outbound(Vec::new(), 10, Duration::from_secs(60))
            .await?
            .is_empty());
        let claimed = db
            .claim_outbound(zalo.clone(), 2, Duration::from_secs(60))
            .await?;
        assert_eq!(
            claimed.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![first, second]
        );
        assert_eq!(claimed[0].text, "Tin cho a");
        let rest = db
            .claim_outbound(zalo.clone(), 10, Duration::from_secs(60))
            .await?;
        assert_eq!(rest.len(), 1, "the other two are claimed");
        // A worker that died: its lease runs out and another takes the row.
        db.execute_sql(
            "UPDATE outbox SET claimed_until = ?1 WHERE id = ?2",
            vec![Value::from(ago(5)), Value::from(second)],
        )
        .await?;
        let again = db
            .claim_outbound(zalo.clone(), 10, Duration::from_secs(60))
            .await?;
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![second]);
        db.finish_outbound(first, OutboxStatus::Sent, None).await?;
        db.retry_outbound(second, Duration::from_secs(3600), Some("429".into()), true)
            .await?;
        assert!(
            db.claim_outbound(zalo.clone(), 10, Duration::from_secs(60))
                .await?
                .is_empty(),
            "not due yet"
        );
        assert_eq!(
            count(
                &db,
                "SELECT attempts FROM outbox WHERE id = ?1",
                vec![Value::from(second)]
            )
            .await?,
            1
        );
        // The window: the citizen's last message and what was sent since.
        let conversation = "zalo_oa-a".to_owned();
        let none = db
            .window_facts(ChannelKind::ZaloOa, conversation.clone())
            .await?;
        assert_eq!(none.last_inbound, None);
        let asked = store(
            &db,
            at(message("zalo_oa", "w1", &conversation, "Hỏi"), &ago(60)),
        )
        .await?;
        db.insert_delivery(hoiluat::db::NewDelivery {
            message_id: asked,
            answer_id: None,
            part: 1,
            parts: 1,
            status: hoiluat::db::DeliveryStatus::Sent,
            attempts: 1,
            error: None,
        })
        .await?;
        let facts = db
            .window_facts(ChannelKind::ZaloOa, conversation.clone())
            .await?;
        assert!(facts.last_inbound.is_some());
        assert_eq!(facts.sent_since, 2, "one reply part and one outbox row");
        // Waiting for the window: released when the citizen writes, expired after 7 days.
        let waiting = db
            .enqueue_outbound(outbound("a", None))
            .await?
            .ok_or("not queued")?;
        let stale = db
            .enqueue_outbound(outbound("a", None))
            .await?
            .ok_or("not queued")?;
        db.execute_sql(
            "UPDATE outbox SET status = 'waiting_window' WHERE id IN (?1, ?2)",
            vec![Value::from(waiting), Value::from(stale)],
        )
        .await?;
        db.execute_sql(
            "UPDATE outbox SET created_at = ?1 WHERE id = ?2",
            vec![Value::from(ago(8 * 24 * 3600)), Value::from(stale)],
        )
        .await?;
        assert_eq!(
            db.release_waiting_outbound(ChannelKind::ZaloOa, conversation)
                .await?,
            1
        );
        let statuses = db.outbox_counts(OutboxKind::News, 1).await?;
        assert_eq!(statuses.get("expired"), Some(&1));
        assert_eq!(statuses.get("sent"), Some(&1));
        Ok(())
    })
}

fn survey() -> NewSurvey {
    NewSurvey {
        title: "Nhu cầu tìm hiểu pháp luật".into(),
        intro: String::new(),
        questions: vec![
            NewQuestion {
                kind: QuestionKind::SingleChoice,
                prompt: "Lĩnh vực nào?".into(),
                options: vec!["Đất đai".into(), "Hôn nhân".into()],
            },
            NewQuestion {
                kind: QuestionKind::Scale,
                prompt: "Hài lòng?".into(),
                options: Vec::new(),
            },
            NewQuestion {
                kind: QuestionKind::Text,
                prompt: "Góp ý?".into(),
                options: Vec::new(),
            },
        ],
    }
}

fn surveys_once_per_citizen(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let id = db.create_survey(survey(), staff).await?;
        let (channel, conversation) = (ChannelKind::Telegram, "telegram-s".to_owned());
        assert!(
            db.survey_to_offer(channel, conversation.clone())
                .await?
                .is_none(),
            "a draft is not offered"
        );
        assert!(db.set_survey_status(id, SurveyStatus::Open, staff).await?);
        assert!(
            !db.set_survey_status(9_999, SurveyStatus::Open, staff)
                .await?
        );
        let offered = db
            .survey_to_offer(channel, conversation.clone())
            .await?
            .ok_or("not offered")?;
        assert_eq!(offered.questions.len(), 3);
        assert_eq!(
            offered.questions[0].question.options,
            vec!["Đất đai", "Hôn nhân"]
        );
        let response = db
            .offer_survey(id, channel, conversation.clone())
            .await?
            .ok_or("not offered")?;
        assert_eq!(
            db.offer_survey(id, channel, conversation.clone()).await?,
            None,
            "once per citizen"
        );
        assert!(db
            .survey_to_offer(channel, conversation.clone())
            .await?
            .is_none());
        // The same id on another channel is another citizen.
        assert!(db
            .survey_to_offer(ChannelKind::ZaloOa, conversation.clone())
            .await?
            .is_some());
        db.set_response_status(response, ResponseStatus::Started)
            .await?;
        let q = &offered.questions;
        db.record_survey_answer(response, q[0].id, Some(2), None, None)
            .await?;
        db.record_survey_answer(response, q[1].id, None, Some(3), None)
            .await?;
        db.record_survey_answer(response, q[1].id, None, Some(5), None)
            .await?;
        db.record_survey_answer(
            response,
            q[2].id,
            None,
            None,
            Some("Gọi 0905 123 456".into()),
        )
        .await?;
        db.set_response_status(response, ResponseStatus::Completed)
            .await?;
        let other = db
            .offer_survey(id, ChannelKind::ZaloOa, conversation)
            .await?
            .ok_or("not offered")?;
        db.set_response_status(other, ResponseStatus::Declined)
            .await?;
        let results = db.survey_results(id).await?.ok_or("no results")?;
        assert_eq!(results.questions[0].counts, vec![0, 1]);
        assert_eq!(
            results.questions[1].counts,
            vec![0, 0, 0, 0, 1],
            "an answer replaced"
        );
        assert_eq!(results.questions[2].texts, vec!["Gọi 0905 123 456"]);
        let mut responses = results.responses.clone();
        responses.sort_by_key(|(status, _)| status.as_str());
        assert_eq!(
            responses,
            vec![
                (ResponseStatus::Completed, 1),
                (ResponseStatus::Declined, 1)
            ]
        );
        let summary = db.surveys().await?;
        assert_eq!((summary[0].offered, summary[0].completed), (2, 1));
        let rows = db.survey_answer_rows(id).await?;
        assert_eq!(rows.len(), 3);
        assert!(rows[0].completed_at.is_some());
        // The end-of-conversation offer: conversations quiet for a while, never offered, in no
        // flow or handoff.
        let quiet = "telegram-q".to_owned();
        store(
            &db,
            at(message("telegram", "q1", &quiet, "Hỏi"), &ago(20 * 60)),
        )
        .await?;
        let busy = "telegram-b".to_owned();
        store(
            &db,
            at(message("telegram", "b1", &busy, "Hỏi"), &ago(20 * 60)),
        )
        .await?;
        db.set_flow(
            ChannelKind::Telegram,
            busy,
            FlowState {
                kind: FlowKind::Sme,
                data: "{}".into(),
            },
            Duration::from_secs(600),
        )
        .await?;
        store(
            &db,
            at(message("telegram", "r1", "telegram-r", "Hỏi"), &ago(60)),
        )
        .await?;
        store(
            &db,
            at(
                message("zalo_bot", "z1", "zalo_bot-z", "Hỏi"),
                &ago(20 * 60),
            ),
        )
        .await?;
        let idle = db
            .conversations_for_survey_offer(
                id,
                vec![ChannelKind::Telegram],
                Duration::from_secs(10 * 60),
                Duration::from_secs(2 * 3600),
                10,
            )
            .await?;
        assert_eq!(idle.len(), 1, "{idle:?}");
        assert_eq!(idle[0].conversation_id, quiet);
        assert_eq!(idle[0].chat_id, "c1");
        Ok(())
    })
}

fn sme_requests_and_responses(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let request = NewSmeRequest {
            channel: ChannelKind::ZaloOa,
            conversation_id: "zalo_oa-e".into(),
            chat_id: "e1".into(),
            company: "Công ty TNHH Ví Dụ".into(),
            tax_code: "4300123456".into(),
            question: "Hỗ trợ tư vấn hợp đồng".into(),
            contact: "0912 345 678".into(),
        };
        let id = db.create_sme_request(request.clone()).await?;
        let second = db.create_sme_request(request.clone()).await?;
        let stored = db.sme_request(id).await?.ok_or("missing")?;
        assert_eq!((stored.request, stored.status), (request, SmeStatus::New));
        assert!(
            db.update_sme_request(id, staff, SmeStatus::InProgress, Some("đã gọi".into()))
                .await?
        );
        let progress = db.sme_request(id).await?.ok_or("missing")?;
        assert_eq!(progress.assigned_to.as_deref(), Some("Cán bộ lan"));
        assert_eq!(
            progress.first_response_at, None,
            "in progress is not a response"
        );
        assert!(
            db.update_sme_request(id, staff, SmeStatus::Closed, None)
                .await?
        );
        let closed = db.sme_request(id).await?.ok_or("missing")?;
        assert!(closed.first_response_at.is_some() && closed.closed_at.is_some());
        assert_eq!(closed.note.as_deref(), Some("đã gọi"));
        assert!(
            !db.update_sme_request(9_999, staff, SmeStatus::Closed, None)
                .await?
        );
        // An answer through the chat: queued, answered, responded.
        assert!(db
            .queue_sme_reply(second, staff, "Trả lời".into())
            .await?
            .is_some());
        assert_eq!(db.queue_sme_reply(9_999, staff, "x".into()).await?, None);
        let answered = db.sme_request(second).await?.ok_or("missing")?;
        assert_eq!(answered.status, SmeStatus::Answered);
        assert!(answered.first_response_at.is_some());
        assert_eq!(db.sme_requests(Some(SmeStatus::Closed), 10).await?.len(), 1);
        assert_eq!(db.sme_requests(None, 10).await?.len(), 2);
        assert_eq!(
            db.outbox_counts(OutboxKind::SmeReply, second)
                .await?
                .get("queued"),
            Some(&1)
        );
        Ok(())
    })
}

fn news_once_per_subscriber(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        let subscribe = |channel, chat: &str| {
            db.subscribe_news(channel, chat.to_owned(), format!("{channel}-{chat}"))
        };
        assert!(subscribe(ChannelKind::ZaloOa, "a").await?);
        assert!(!subscribe(ChannelKind::ZaloOa, "a").await?, "once");
        assert!(subscribe(ChannelKind::Telegram, "1").await?);
        assert!(subscribe(ChannelKind::Telegram, "2").await?);
        assert!(
            db.unsubscribe_news(ChannelKind::Telegram, "2".into())
                .await?
        );
        assert!(
            !db.unsubscribe_news(ChannelKind::Telegram, "2".into())
                .await?
        );
        let mut counts = db.subscriber_counts().await?;
        counts.sort_by_key(|(channel, _)| channel.as_str());
        assert_eq!(
            counts,
            vec![(ChannelKind::Telegram, 1), (ChannelKind::ZaloOa, 1)]
        );
        let id = db
            .create_news(
                "NĐ 168/2024".into(),
                "Có hiệu lực từ 01/01/2025.".into(),
                staff,
            )
            .await?;
        assert_eq!(db.publish_news(id, "Tin".into(), staff).await?, Some(2));
        assert_eq!(
            db.publish_news(id, "Tin".into(), staff).await?,
            None,
            "published once"
        );
        let item = db.news_item(id).await?.ok_or("missing")?;
        assert_eq!(item.recipients, 2);
        assert!(item.published_at.is_some());
        // Unsubscribing withdraws what is still queued for that chat.
        assert!(db.unsubscribe_news(ChannelKind::ZaloOa, "a".into()).await?);
        let statuses = db.outbox_counts(OutboxKind::News, id).await?;
        assert_eq!(
            (statuses.get("queued"), statuses.get("cancelled")),
            (Some(&1), Some(&1))
        );
        // Resubscribing works again.
        assert!(subscribe(ChannelKind::ZaloOa, "a").await?);
        assert_eq!(db.news_items(10).await?.len(), 1);
        Ok(())
    })
}

fn listening_inputs_and_vector_cache(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let conversation = "web-l".to_owned();
        let asked = store(&db, message("web", "l1", &conversation, "Thủ tục ly hôn?")).await?;
        let (answer_row, public_id) = db
            .insert_answer(answer(asked, &conversation, "answered", 0.8))
            .await?;
        db.insert_feedback(public_id.clone(), Rating::Up, None)
            .await?;
        db.insert_feedback(public_id, Rating::Down, None).await?;
        let declined = store(
            &db,
            message("web", "l2", &conversation, "Giá đất ở Lý Sơn?"),
        )
        .await?;
        db.insert_answer(answer(declined, &conversation, "declined", 0.2))
            .await?;
        let notice = store(&db, message("web", "l3", &conversation, "đăng ký nhận tin")).await?;
        db.insert_answer(answer(notice, &conversation, "notice", 0.0))
            .await?;
        let staff = new_staff(&db, "lan").await?;
        db.insert_review(hoiluat::db::NewReview {
            answer_id: answer_row,
            staff_id: staff,
            decision: hoiluat::db::Decision::Edited,
            text: Some("Sửa".into()),
            citations: Vec::new(),
            note: None,
            question: "Thủ tục ly hôn?".into(),
            context: None,
            delivery: None,
        })
        .await?;
        db.insert_satisfaction(conversation.clone(), ChannelKind::Web, 4)
            .await?;
        let today = chrono::Utc::now().date_naive().to_string();
        let rows = db
            .asked_questions(today.clone(), format!("{today}T99"), 100)
            .await?;
        assert_eq!(rows.len(), 2, "commands and notices are not questions");
        let divorce = rows
            .iter()
            .find(|r| r.text == "Thủ tục ly hôn?")
            .ok_or("missing")?;
        assert!(divorce.corrected && !divorce.declined);
        assert_eq!((divorce.thumbs_up, divorce.thumbs_down), (1, 1));
        let land = rows.iter().find(|r| r.declined).ok_or("missing")?;
        assert!(land.unanswered, "no_relevant_text counts as unanswered");
        let scores = db
            .satisfaction_scores(today.clone(), format!("{today}T99"))
            .await?;
        assert_eq!(scores.get(&conversation), Some(&4));
        let model = "e5/test".to_owned();
        db.store_question_vectors(model.clone(), vec![("h1".into(), vec![0.5, -0.25])])
            .await?;
        db.store_question_vectors(model.clone(), vec![("h1".into(), vec![9.0, 9.0])])
            .await?;
        let found = db
            .question_vectors(model.clone(), vec!["h1".into(), "h2".into()])
            .await?;
        assert_eq!(found.len(), 1);
        assert_eq!(found["h1"], vec![0.5, -0.25], "a cached vector is kept");
        assert!(db
            .question_vectors("other".into(), vec!["h1".into()])
            .await?
            .is_empty());
        Ok(())
    })
}

fn plan_counts_and_platform_retention(place: &Place) -> Result<(), Failed> {
    let db = place.open()?;
    run(async {
        let staff = new_staff(&db, "lan").await?;
        for (i, channel) in ["zalo_oa", "zalo_oa", "telegram"].iter().enumerate() {
            let conversation = format!("{channel}-p{i}");
            let mut asked = message(channel, &format!("p{i}"), &conversation, "Hỏi");
            asked.user_id = format!("user-{i}");
            let id = store(&db, asked).await?;
            db.insert_answer(answer(id, &conversation, "answered", 0.8))
                .await?;
        }
        db.set_commune(
            ChannelKind::ZaloOa,
            "zalo_oa-p0".into(),
            "Xã Bình Sơn".into(),
            "xa binh son".into(),
        )
        .await?;
        let (handoff, _) = db
            .open_handoff(NewHandoff {
                channel: ChannelKind::ZaloOa,
                conversation_id: "zalo_oa-p0".into(),
                chat_id: "c1".into(),
                reason: HandoffReason::HumanRequested,
                message_id: None,
                commune: None,
            })
            .await?;
        db.take_handoff(handoff, staff).await?;
        db.queue_staff_reply(handoff, staff, "Chào".into()).await?;
        let id = db.create_survey(survey(), staff).await?;
        let response = db
            .offer_survey(id, ChannelKind::Telegram, "telegram-p2".into())
            .await?
            .ok_or("not offered")?;
        let questions = db.survey(id).await?.ok_or("missing")?.questions;
        db.record_survey_answer(response, questions[1].id, None, Some(5), None)
            .await?;
        db.record_survey_answer(response, questions[2].id, None, None, Some("Tốt".into()))
            .await?;
        db.set_response_status(response, ResponseStatus::Completed)
            .await?;
        let today = chrono::Utc::now().date_naive().to_string();
        let counts = db.plan_counts(today.clone(), format!("{today}T99")).await?;
        assert_eq!(
            counts.people_per_channel,
            vec![(ChannelKind::ZaloOa, 2), (ChannelKind::Telegram, 1)]
        );
        assert_eq!(
            counts.people_per_commune,
            vec![("Xã Bình Sơn".to_owned(), 1)]
        );
        assert_eq!((counts.questions, counts.answered), (3, 3));
        assert_eq!(
            (counts.survey_scale_answers, counts.survey_scale_satisfied),
            (1, 1)
        );
        assert_eq!(
            counts.surveys_completed,
            vec![("Nhu cầu tìm hiểu pháp luật".to_owned(), 1)]
        );
        assert_eq!((counts.handoffs_requested, counts.handoffs_closed), (1, 0));
        assert_eq!(counts.handoff_response_hours.len(), 1);
        // Retention: the free-text answer is erased, the scale answer stays for the statistics.
        db.execute_sql(
            "UPDATE survey_answers SET at = ?1",
            vec![Value::from(ago(800 * 24 * 3600))],
        )
        .await?;
        db.store_question_vectors("m".into(), vec![("old".into(), vec![1.0])])
            .await?;
        db.execute_sql(
            "UPDATE question_vectors SET created_at = ?1",
            vec![Value::from(ago(800 * 24 * 3600))],
        )
        .await?;
        let erased = db.erase_platform_texts_before(ago(730 * 24 * 3600)).await?;
        assert_eq!(erased, 2, "one survey text, one vector");
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM survey_answers WHERE text IS NOT NULL",
                vec![]
            )
            .await?,
            0
        );
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM survey_answers WHERE scale = 5",
                vec![]
            )
            .await?,
            1
        );
        Ok(())
    })
}
