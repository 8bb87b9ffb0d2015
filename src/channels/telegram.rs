//! The Telegram adapter: updates in (webhook or long polling), HTML messages with feedback
//! buttons out, through teloxide's typed Bot API client.
//!
//! Why the webhook route is ours and not teloxide's `axum_to_router`: teloxide compares the
//! `X-Telegram-Bot-Api-Secret-Token` header with `==` (not constant-time) and answers 200 even to
//! a body it cannot parse. Ours checks the secret in constant time, answers 400 to garbage, and
//! answers 200 only once the message is committed to the database (500 otherwise, so Telegram
//! delivers it again — duplicates are no-ops thanks to the `update_id` key).
//!
//! Both modes feed one function, [`handle_update`]: a text message becomes an [`Inbound`] for the
//! [`Dispatcher`]; a press on a feedback button (`callback_query`) is recorded in the feedback
//! table and acknowledged with a short Vietnamese text.
//!
//! Replies are sent with `parse_mode=HTML`: every piece of text is escaped, and long replies are
//! split on whole blocks (lead, quote, citation…) or, for one huge block, on its plain text before
//! it is escaped — so a part never ends inside a tag or an entity.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::future::BoxFuture;
use teloxide::payloads::{AnswerCallbackQuerySetters, GetUpdatesSetters, SendMessageSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    AllowedUpdate, CallbackQuery, ChatAction, ChatId, InlineKeyboardButton, InlineKeyboardMarkup,
    MediaKind, Message, MessageKind, ParseMode, Update, UpdateKind,
};
use teloxide::{ApiError, Bot, RequestError};

use super::dispatch::Dispatcher;
use super::notices;
use super::split::{split_message, Measure};
use super::{ChannelKind, ChannelSender, Choice, Inbound, InboundKind, OutPart, Reply, SendError};
use crate::answer::Answer;
use crate::config::TelegramConfig;
use crate::db::{DbError, FeedbackOutcome, Rating};

/// The path Telegram posts updates to (give `https://HOST/webhooks/telegram` to `setWebhook`).
pub const WEBHOOK_PATH: &str = "/webhooks/telegram";

/// The header carrying the `secret_token` given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Longest message text Telegram accepts, in UTF-16 code units after entity parsing (tags and
/// entities such as `&lt;` do not count, so the limit applies to the plain text).
pub const MAX_MESSAGE_UTF16: usize = 4096;

/// Longest callback data Telegram accepts on an inline button, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;

/// Updates are small (a message is at most 4,096 characters); anything much larger is not from
/// Telegram.
const MAX_UPDATE_BYTES: usize = 1024 * 1024;

/// The answer to a press on a button of an answer that is not in the database.
pub const UNKNOWN_ANSWER: &str = "Không tìm thấy câu trả lời này.";

/// How long one `getUpdates` call waits for updates. teloxide extends the HTTP timeout of this
/// request by the same amount, so it does not race the client's own timeout.
const POLL_TIMEOUT_SECS: u32 = 25;

/// Longest pause between two failed polls.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Inbound: one handler for both modes
// ---------------------------------------------------------------------------------------------

/// Handles one update from either mode. `Err` only when the database failed: the update must then
/// be delivered again (the webhook answers 500; polling does not advance its offset).
pub async fn handle_update(
    dispatcher: &Dispatcher,
    sender: &Arc<TelegramSender>,
    update: Update,
) -> Result<(), DbError> {
    if let UpdateKind::CallbackQuery(query) = update.kind {
        return handle_callback(dispatcher, sender, query).await;
    }
    let Some(inbound) = inbound_from_update(&update) else {
        tracing::debug!(update = update.id.0, "telegram update ignored");
        return Ok(());
    };
    dispatcher.submit(inbound).await.map(|_| ())
}

/// The message a citizen sent, if this update is one we answer: `/start` → follow, `/help` →
/// help, other text → a question, media → "text only". Edits, channel posts, service messages
/// (someone joined a group…) and other update kinds are ignored.
pub fn inbound_from_update(update: &Update) -> Option<Inbound> {
    let UpdateKind::Message(message) = &update.kind else {
        return None;
    };
    let kind = inbound_kind(message)?;
    // `from` is absent only for messages sent on behalf of a chat; the chat then is the sender.
    let user_id = message.from.as_ref().map_or_else(
        || message.chat.id.0.to_string(),
        |user| user.id.0.to_string(),
    );
    Some(Inbound {
        channel: ChannelKind::Telegram,
        external_id: update.id.0.to_string(),
        user_id,
        chat_id: message.chat.id.0.to_string(),
        kind,
    })
}

fn inbound_kind(message: &Message) -> Option<InboundKind> {
    let media = match &message.kind {
        MessageKind::Common(common) => &common.media_kind,
        MessageKind::Dice(_) => return Some(InboundKind::Unsupported("dice".into())),
        // Service messages: nobody wrote anything to answer.
        _ => return None,
    };
    let what = match media {
        MediaKind::Text(text) => return Some(text_kind(&text.text)),
        MediaKind::Migration(_) => return None,
        MediaKind::Animation(_) => "animation",
        MediaKind::Audio(_) => "audio",
        MediaKind::Contact(_) => "contact",
        MediaKind::Document(_) => "document",
        MediaKind::PaidMedia(_) => "paid media",
        MediaKind::Game(_) => "game",
        MediaKind::Venue(_) => "venue",
        MediaKind::Location(_) => "location",
        MediaKind::Photo(_) => "photo",
        MediaKind::Poll(_) => "poll",
        MediaKind::Checklist(_) => "checklist",
        MediaKind::Sticker(_) => "sticker",
        MediaKind::Story(_) => "story",
        MediaKind::Video(_) => "video",
        MediaKind::VideoNote(_) => "video note",
        MediaKind::Voice(_) => "voice",
    };
    Some(InboundKind::Unsupported(what.into()))
}

/// `/start` (with or without a deep-link payload, or `@botname` in groups) → follow; `/help` →
/// help; anything else, other commands included, is a question.
fn text_kind(text: &str) -> InboundKind {
    let first_word = text.split_whitespace().next().unwrap_or("");
    let command = first_word.split('@').next().unwrap_or("");
    match command {
        "/start" => InboundKind::Follow,
        "/help" => InboundKind::Help,
        _ => InboundKind::Text(text.to_owned()),
    }
}

/// Callback data of a feedback button: `fb:<rating>:<answer public id>`.
pub fn feedback_data(rating: Rating, answer_id: &str) -> String {
    format!("fb:{}:{answer_id}", rating.as_str())
}

/// Reads callback data written by [`feedback_data`].
pub fn parse_feedback_data(data: &str) -> Option<(Rating, &str)> {
    let rest = data.strip_prefix("fb:")?;
    let (rating, answer_id) = rest.split_once(':')?;
    let rating = Rating::parse(rating)?;
    (!answer_id.is_empty()).then_some((rating, answer_id))
}

/// Records a press on a feedback button, then acknowledges it (in the background: the
/// acknowledgement is a courtesy, the database row is what matters).
async fn handle_callback(
    dispatcher: &Dispatcher,
    sender: &Arc<TelegramSender>,
    query: CallbackQuery,
) -> Result<(), DbError> {
    let data = query.data.as_deref().unwrap_or("");
    let reply_text = if let Some(text) = data.strip_prefix("tx:") {
        // A choice of a prompt: the citizen "typed" its text.
        dispatcher.submit(tapped(&query, text)).await?;
        ""
    } else {
        match parse_feedback_data(data) {
            Some((rating, answer_id)) => {
                let outcome = dispatcher
                    .feedback(ChannelKind::Telegram, answer_id.to_owned(), rating, None)
                    .await?;
                tracing::debug!(rating = rating.as_str(), ?outcome, "telegram feedback");
                if rating == Rating::Human && dispatcher.has_hook() {
                    // The platform offers the person in the chat, as for a typed "gặp cán bộ".
                    dispatcher.submit(tapped(&query, HUMAN_TEXT)).await?;
                }
                match (outcome, rating) {
                    (FeedbackOutcome::UnknownAnswer, _) => UNKNOWN_ANSWER,
                    (_, Rating::Human) => notices::HUMAN_REQUESTED,
                    (_, _) => notices::FEEDBACK_THANKS,
                }
            }
            None => {
                tracing::debug!("telegram callback with unknown data");
                UNKNOWN_ANSWER
            }
        }
    };
    let bot = sender.bot.clone();
    tokio::spawn(async move {
        let mut request = bot.answer_callback_query(query.id);
        if !reply_text.is_empty() {
            request = request.text(reply_text);
        }
        if let Err(error) = request.await {
            tracing::warn!(%error, "telegram answerCallbackQuery failed");
        }
    });
    Ok(())
}

/// What a tap on "Gặp cán bộ" says in the chat when the platform is attached.
const HUMAN_TEXT: &str = "gặp cán bộ";

/// A button press as the message it stands for: the press's id keeps a repeated delivery a
/// no-op, and the chat is the one the button was shown in.
fn tapped(query: &CallbackQuery, text: &str) -> Inbound {
    let user_id = query.from.id.0.to_string();
    let chat_id = query.message.as_ref().map_or_else(
        || user_id.clone(),
        |message| message.chat().id.0.to_string(),
    );
    Inbound {
        channel: ChannelKind::Telegram,
        external_id: format!("cb:{}", query.id),
        user_id,
        chat_id,
        kind: InboundKind::Text(text.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook mode
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct WebhookState {
    dispatcher: Dispatcher,
    sender: Arc<TelegramSender>,
    secret: Arc<str>,
}

/// `POST /webhooks/telegram`, to merge into the service's router. With an empty
/// `secret_token` every request is refused: an open webhook would let anyone post as anyone.
pub fn routes(
    dispatcher: Dispatcher,
    sender: Arc<TelegramSender>,
    config: &TelegramConfig,
) -> axum::Router {
    if config.secret_token.is_empty() {
        tracing::error!(
            "telegram webhook has no secret_token: every update will be refused \
             (set channels.telegram.secret_token and pass it to setWebhook)"
        );
    }
    let state = WebhookState {
        dispatcher,
        sender,
        secret: Arc::from(config.secret_token.as_str()),
    };
    axum::Router::new()
        .route(WEBHOOK_PATH, post(webhook))
        .layer(DefaultBodyLimit::max(MAX_UPDATE_BYTES))
        .with_state(state)
}

async fn webhook(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let presented = headers
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    let authentic =
        !state.secret.is_empty() && super::constant_time_eq(presented, state.secret.as_bytes());
    if !authentic {
        tracing::warn!("telegram webhook with a wrong or missing secret token");
        crate::metrics::webhook_rejected("telegram", "invalid_secret_token");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            tracing::warn!(%error, "telegram webhook body is not an update");
            crate::metrics::webhook_rejected("telegram", "invalid_update");
            return StatusCode::BAD_REQUEST;
        }
    };
    match handle_update(&state.dispatcher, &state.sender, update).await {
        Ok(()) => StatusCode::OK,
        Err(error) => {
            // Telegram delivers the update again later; the unique key makes that safe.
            tracing::error!(%error, "cannot store a telegram update");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Polling mode
// ---------------------------------------------------------------------------------------------

/// Long polling (`getUpdates`), for deployments without a public HTTPS address. Deletes any
/// webhook first (Telegram refuses `getUpdates` while one is set). Runs until the handle is
/// aborted. An update is confirmed to Telegram (the offset moves past it) only after it is stored.
pub fn spawn_polling(
    dispatcher: Dispatcher,
    sender: Arc<TelegramSender>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = sender.bot.delete_webhook().await {
            tracing::warn!(%error, "telegram deleteWebhook failed; getUpdates may be refused");
        }
        tracing::info!("telegram long polling started");
        let mut offset: Option<i32> = None;
        let mut failures: u32 = 0;
        loop {
            match poll_once(&dispatcher, &sender, offset).await {
                Ok(next) => {
                    offset = next.or(offset);
                    failures = 0;
                }
                Err(wait) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_secs(1) * 2u32.saturating_pow(failures.min(5) - 1);
                    tokio::time::sleep(wait.unwrap_or(backoff).min(MAX_POLL_BACKOFF)).await;
                }
            }
        }
    })
}

/// One `getUpdates` round. `Ok(offset)`: the offset to ask next (None if nothing came);
/// `Err(wait)`: pause before the next round (Telegram's `retry_after` when it gave one).
async fn poll_once(
    dispatcher: &Dispatcher,
    sender: &Arc<TelegramSender>,
    offset: Option<i32>,
) -> Result<Option<i32>, Option<Duration>> {
    // The kinds we handle; Telegram would otherwise send what the last setWebhook asked for.
    let mut request = sender
        .bot
        .get_updates()
        .timeout(POLL_TIMEOUT_SECS)
        .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
    if let Some(offset) = offset {
        request = request.offset(offset);
    }
    let updates = match request.await {
        Ok(updates) => updates,
        Err(RequestError::RetryAfter(seconds)) => return Err(Some(seconds.duration())),
        Err(error) => {
            let hint = match &error {
                RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
                    "another instance polls with the same token"
                }
                RequestError::Api(ApiError::CantGetUpdates) => {
                    "a webhook is set; deleteWebhook or use webhook mode"
                }
                _ => "",
            };
            tracing::warn!(%error, hint, "telegram getUpdates failed");
            return Err(None);
        }
    };
    let mut next = None;
    for update in updates {
        let id = update.id.0;
        if let Err(error) = handle_update(dispatcher, sender, update).await {
            tracing::error!(%error, "cannot store a telegram update; polling it again");
            // Confirm what was stored; this update comes again in the next round.
            return if next.is_some() { Ok(next) } else { Err(None) };
        }
        next = Some(i32::try_from(id).unwrap_or(i32::MAX).saturating_add(1));
    }
    Ok(next)
}

// ---------------------------------------------------------------------------------------------
// Outbound
// ---------------------------------------------------------------------------------------------

/// Sends replies through the Bot API.
pub struct TelegramSender {
    bot: Bot,
}

impl TelegramSender {
    /// A sender for the bot with `config.token`; `config.api_url`, when set, replaces
    /// `https://api.telegram.org/` (a local Bot API server, or a fake one in tests).
    pub fn new(config: &TelegramConfig) -> TelegramSender {
        let bot = Bot::new(config.token.clone());
        let bot = match api_url(&config.api_url) {
            Ok(Some(url)) => bot.set_api_url(url),
            Ok(None) => bot,
            Err(reason) => {
                tracing::error!(
                    reason,
                    "channels.telegram.api_url ignored; using Telegram's"
                );
                bot
            }
        };
        TelegramSender { bot }
    }

    /// The teloxide bot (to call `setWebhook` and the like).
    pub fn bot(&self) -> &Bot {
        &self.bot
    }
}

/// Parses `api_url`; `None` when empty. teloxide appends path segments to it, which panics on
/// URLs that cannot have a path (`mailto:`…), so those are refused here.
fn api_url(text: &str) -> Result<Option<reqwest::Url>, &'static str> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let url = reqwest::Url::parse(text.trim()).map_err(|_| "not a URL")?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err("not an http(s) URL");
    }
    Ok(Some(url))
}

impl ChannelSender for TelegramSender {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn render(&self, reply: &Reply) -> Vec<OutPart> {
        render_reply(reply)
    }

    fn send<'a>(
        &'a self,
        chat_id: &'a str,
        part: &'a OutPart,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let chat = parse_chat_id(chat_id)?;
            let mut request = self
                .bot
                .send_message(chat, part.text.clone())
                .parse_mode(ParseMode::Html);
            if !part.choices.is_empty() {
                if let Some(keyboard) = choice_keyboard(&part.choices) {
                    request = request.reply_markup(keyboard);
                }
            } else if let Some(answer_id) = &part.feedback_for {
                if let Some(keyboard) = feedback_keyboard(answer_id) {
                    request = request.reply_markup(keyboard);
                }
            }
            request.await.map(|_| ()).map_err(classify)
        })
    }

    fn typing<'a>(&'a self, chat_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Ok(chat) = parse_chat_id(chat_id) else {
                return;
            };
            if let Err(error) = self.bot.send_chat_action(chat, ChatAction::Typing).await {
                tracing::debug!(%error, "telegram sendChatAction failed");
            }
        })
    }
}

fn parse_chat_id(chat_id: &str) -> Result<ChatId, SendError> {
    chat_id
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| SendError::Permanent {
            reason: "telegram chat id is not a number".into(),
        })
}

/// 👍 👎 on one row, "Gặp cán bộ" below. `None` if the answer id would make the callback data
/// longer than Telegram allows (then the answer goes out without buttons rather than not at all).
pub fn feedback_keyboard(answer_id: &str) -> Option<InlineKeyboardMarkup> {
    let longest = feedback_data(Rating::Human, answer_id);
    if answer_id.is_empty() || longest.len() > MAX_CALLBACK_DATA {
        tracing::warn!("answer id too long for telegram callback data; no feedback buttons");
        return None;
    }
    let button = |label: &str, rating| {
        InlineKeyboardButton::callback(label, feedback_data(rating, answer_id))
    };
    Some(InlineKeyboardMarkup::new([
        vec![button("👍", Rating::Up), button("👎", Rating::Down)],
        vec![button("Gặp cán bộ", Rating::Human)],
    ]))
}

/// Callback data of a choice button: `tx:<the text a tap sends>`.
pub fn choice_data(text: &str) -> String {
    format!("tx:{text}")
}

/// One button per row, each sending its text as if typed; a choice whose text does not fit in
/// Telegram's callback data is left out (the prompt's text still says what to type).
pub fn choice_keyboard(choices: &[Choice]) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = choices
        .iter()
        .filter(|choice| choice_data(&choice.text).len() <= MAX_CALLBACK_DATA)
        .map(|choice| {
            vec![InlineKeyboardButton::callback(
                choice.label.clone(),
                choice_data(&choice.text),
            )]
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// Which delivery failures are worth retrying. A 429 says how long to wait; network trouble and
/// Telegram's own 5xx pass; a blocked bot, an unknown chat or a rejected message do not.
fn classify(error: RequestError) -> SendError {
    let reason = error.to_string();
    match error {
        RequestError::RetryAfter(seconds) => SendError::Retryable {
            reason,
            retry_after: Some(seconds.duration()),
        },
        // teloxide strips the URL (which holds the token) from network errors.
        RequestError::Network(_) | RequestError::Io(_) => SendError::Retryable {
            reason,
            retry_after: None,
        },
        // A 5xx from a proxy in front of the API usually has an HTML body.
        RequestError::InvalidJson { .. } => SendError::Retryable {
            reason: "telegram answered with something that is not JSON".into(),
            retry_after: None,
        },
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(&description) => {
            SendError::Retryable {
                reason,
                retry_after: None,
            }
        }
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => SendError::Permanent { reason },
    }
}

/// Descriptions Telegram gives with its 5xx answers.
fn is_server_error(description: &str) -> bool {
    [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
    ]
    .iter()
    .any(|prefix| description.starts_with(prefix))
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Escapes text for `parse_mode=HTML`: Telegram wants exactly `&`, `<` and `>` escaped.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Bold,
    Italic,
    Quote,
}

/// A run of text with one style; a reply is a list of them, and parts are cut between them.
#[derive(Debug, Clone)]
struct Block {
    style: Style,
    text: String,
    /// What separates it from the block before (in the same part).
    gap: &'static str,
}

impl Block {
    fn new(style: Style, text: impl Into<String>, gap: &'static str) -> Block {
        Block {
            style,
            text: text.into(),
            gap,
        }
    }

    fn html(&self) -> String {
        let text = escape_html(&self.text);
        match self.style {
            Style::Plain => text,
            Style::Bold => format!("<b>{text}</b>"),
            Style::Italic => format!("<i>{text}</i>"),
            Style::Quote => format!("<blockquote>{text}</blockquote>"),
        }
    }
}

/// The reply as Telegram messages; the last part of an answer carries the feedback buttons.
pub fn render_reply(reply: &Reply) -> Vec<OutPart> {
    let (blocks, feedback_for) = match reply {
        Reply::Answer { answer, answer_id } => {
            let feedback = (!answer_id.is_empty()).then(|| answer_id.clone());
            (answer_blocks(answer), feedback)
        }
        Reply::Notice(text) | Reply::Prompt { text, .. } => {
            (vec![Block::new(Style::Plain, text.clone(), "")], None)
        }
        Reply::Held => return Vec::new(),
    };
    let parts = pack(blocks);
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, text)| {
            let last = index + 1 == count;
            OutPart {
                text,
                feedback_for: if last { feedback_for.clone() } else { None },
                choices: if last {
                    reply.choices().to_vec()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// Lead in bold, each quote as a blockquote followed by its citation (with validity) in italics,
/// the notices, and the disclaimer in italics.
fn answer_blocks(answer: &Answer) -> Vec<Block> {
    if answer.lead.trim().is_empty() && answer.quotes.is_empty() {
        // Nothing structured to show: the composed text is all there is.
        return vec![Block::new(Style::Plain, answer.text.clone(), "")];
    }
    let mut blocks = vec![Block::new(Style::Bold, answer.lead.clone(), "")];
    for quote in &answer.quotes {
        blocks.push(Block::new(Style::Quote, quote.text.clone(), "\n\n"));
        blocks.push(Block::new(
            Style::Italic,
            format!("— {}", quote.citation.text),
            "\n",
        ));
    }
    for (index, notice) in answer.notices.iter().enumerate() {
        let gap = if index == 0 { "\n\n" } else { "\n" };
        blocks.push(Block::new(Style::Plain, notice.clone(), gap));
    }
    if !answer.disclaimer.trim().is_empty() {
        blocks.push(Block::new(Style::Italic, answer.disclaimer.clone(), "\n\n"));
    }
    blocks
}

/// Packs whole blocks into messages of at most [`MAX_MESSAGE_UTF16`] visible units; a block
/// longer than that is first split on its plain text, so no cut falls inside markup.
fn pack(blocks: Vec<Block>) -> Vec<String> {
    let units = |text: &str| Measure::Utf16.len(text);
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for block in blocks.into_iter().flat_map(split_block) {
        let len = units(&block.text);
        if !current.is_empty() && used + units(block.gap) + len > MAX_MESSAGE_UTF16 {
            parts.push(std::mem::take(&mut current));
            used = 0;
        }
        if !current.is_empty() {
            current.push_str(block.gap);
            used += units(block.gap);
        }
        current.push_str(&block.html());
        used += len;
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// The block, trimmed, as pieces that each fit in one message; nothing for an empty block
/// (Telegram rejects a message that is only empty tags).
fn split_block(block: Block) -> Vec<Block> {
    let text = block.text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if Measure::Utf16.len(text) <= MAX_MESSAGE_UTF16 {
        return vec![Block::new(block.style, text, block.gap)];
    }
    split_message(text, MAX_MESSAGE_UTF16, Measure::Utf16)
        .into_iter()
        .enumerate()
        .map(|(index, piece)| {
            let gap = if index == 0 { block.gap } else { "\n" };
            Block::new(block.style, piece, gap)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text Telegram would show: tags removed, entities decoded. Panics on markup Telegram
    /// would reject (a stray `<` or `&`, an unclosed or mismatched tag).
    fn visible_text(html: &str) -> String {
        let mut out = String::new();
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                let end = rest.find('>').expect("unterminated tag");
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
                } else {
                    assert!(
                        ["b", "i", "blockquote"].contains(&tag),
                        "unknown tag <{tag}>"
                    );
                    open.push(tag.to_owned());
                }
                rest = &rest[end + 1..];
            } else if c == '&' {
                let (entity, decoded) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
                    .into_iter()
                    .find(|(entity, _)| rest.starts_with(entity))
                    .expect("stray & in HTML");
                out.push(decoded);
                rest = &rest[entity.len()..];
            } else {
                assert!(c != '>', "stray > in HTML");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        assert!(open.is_empty(), "unclosed tags {open:?}");
        out
    }

    #[test]
    fn escapes_exactly_what_telegram_needs() {
        let check = |input: &str, expect: &str| assert_eq!(escape_html(input), expect);
        check(
            "Điều 8 <Luật> & \"khoản\"",
            "Điều 8 &lt;Luật&gt; &amp; \"khoản\"",
        );
        check("&amp;", "&amp;amp;");
        check("👍 a<b>c", "👍 a&lt;b&gt;c");
        check("", "");
        assert_eq!(visible_text(&escape_html("<b>&lt;</b>")), "<b>&lt;</b>");
    }

    #[test]
    fn notices_are_escaped_and_carry_no_buttons() {
        let parts = render_reply(&Reply::Notice("Tuổi < 18 & > 16".into()));
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].text, "Tuổi &lt; 18 &amp; &gt; 16");
        assert_eq!(parts[0].feedback_for, None);
    }

    #[test]
    fn long_replies_split_into_valid_parts() {
        // Emoji count two UTF-16 units; `<` and `&` grow when escaped but not in Telegram's count.
        let sentence = "Người <18 tuổi> & cha mẹ 👍 phải đồng ý. ";
        let text = sentence.repeat(400);
        assert!(Measure::Utf16.len(&text) > 3 * MAX_MESSAGE_UTF16);
        let parts = render_reply(&Reply::Notice(text.clone()));
        assert!(parts.len() >= 4);
        let mut words = Vec::new();
        for part in &parts {
            let visible = visible_text(&part.text);
            assert!(Measure::Utf16.len(&visible) <= MAX_MESSAGE_UTF16);
            assert!(!visible.trim().is_empty());
            words.extend(visible.split_whitespace().map(str::to_owned));
        }
        assert_eq!(
            words,
            text.split_whitespace().collect::<Vec<_>>(),
            "nothing lost"
        );
    }

    #[test]
    fn blocks_are_packed_whole_and_buttons_go_last() {
        let quote = "Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên 🙂. ".repeat(50);
        let mut blocks = vec![Block::new(Style::Bold, "Theo <Điều 8>:", "")];
        for _ in 0..4 {
            blocks.push(Block::new(Style::Quote, quote.clone(), "\n\n"));
            blocks.push(Block::new(
                Style::Italic,
                "— Điều 8 Luật 52/2014/QH13",
                "\n",
            ));
        }
        let parts = pack(blocks);
        assert!(parts.len() > 1);
        for part in &parts {
            let visible = visible_text(part);
            assert!(Measure::Utf16.len(&visible) <= MAX_MESSAGE_UTF16);
        }
        assert!(parts[0].starts_with("<b>Theo &lt;Điều 8&gt;:</b>"));
        // A huge single quote is split on its text, each piece still a whole blockquote.
        let huge = vec![Block::new(Style::Quote, quote.repeat(3), "")];
        let parts = pack(huge);
        assert!(parts.len() >= 2);
        for part in &parts {
            assert!(part.starts_with("<blockquote>") && part.ends_with("</blockquote>"));
            assert!(Measure::Utf16.len(&visible_text(part)) <= MAX_MESSAGE_UTF16);
        }
    }

    #[test]
    fn commands_and_callback_data() {
        assert_eq!(text_kind("/start"), InboundKind::Follow);
        assert_eq!(text_kind("/start@HoiLuatBot ref"), InboundKind::Follow);
        assert_eq!(text_kind("/help"), InboundKind::Help);
        assert_eq!(
            text_kind("Tuổi kết hôn?"),
            InboundKind::Text("Tuổi kết hôn?".into())
        );
        let id = uuid::Uuid::new_v4().simple().to_string();
        for rating in [Rating::Up, Rating::Down, Rating::Human] {
            let data = feedback_data(rating, &id);
            assert!(data.len() <= MAX_CALLBACK_DATA);
            assert_eq!(parse_feedback_data(&data), Some((rating, id.as_str())));
        }
        assert_eq!(parse_feedback_data("fb:meh:abc"), None);
        assert_eq!(parse_feedback_data("fb:up:"), None);
        assert_eq!(parse_feedback_data("xyz"), None);
        assert!(feedback_keyboard(&"x".repeat(60)).is_none());
        assert!(feedback_keyboard(&id).is_some());
    }

    #[test]
    fn api_urls() {
        assert_eq!(api_url(""), Ok(None));
        assert!(api_url("http://127.0.0.1:8081/").unwrap().is_some());
        assert!(api_url("mailto:a@b.c").is_err());
        assert!(api_url("not a url").is_err());
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_support::config())]

        /// A text message's text comes through exactly as sent (or as `/start`, `/help`), and
        /// any callback data is read or refused, never a panic.
        #[test]
        fn any_update_text_is_read(
            text in crate::proptest_support::outside_text(60),
            data in crate::proptest_support::outside_text(20),
        ) {
            let _ = parse_feedback_data(&data);
            // Read from bytes, as the webhook and long polling read it.
            let update: Update = serde_json::from_str(&serde_json::json!({
                "update_id": 10,
                "message": {"message_id": 5, "date": 1718000000,
                    "chat": {"id": 42, "type": "private", "first_name": "An"},
                    "from": {"id": 42, "is_bot": false, "first_name": "An"},
                    "text": text}
            }).to_string()).unwrap();
            // Telegram sends no empty text; read as such, it is no message.
            let Some(inbound) = inbound_from_update(&update) else {
                proptest::prop_assert!(text.is_empty());
                return Ok(());
            };
            proptest::prop_assert_eq!(inbound.external_id.as_str(), "10");
            match inbound.kind {
                InboundKind::Text(read) => proptest::prop_assert_eq!(read, text),
                other => proptest::prop_assert!(
                    matches!(other, InboundKind::Follow | InboundKind::Help),
                    "{other:?}"
                ),
            }
        }
    }
}
