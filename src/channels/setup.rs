//! Wiring of the channels for `hoiluat serve`: the enabled adapters' senders, the dispatcher,
//! and the routes (webhooks, web chat) merged into the service's router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use super::dispatch::Dispatcher;
use super::telegram::{self, TelegramSender};
use super::zalo_bot::{self, ZaloBotSender};
use super::zalo_oa::{self, ZaloOaSender};
use super::{web, ChannelSender};
use crate::config::{ChannelsConfig, TelegramMode};
use crate::db::Db;
use crate::ready::Ready;

/// The running channel layer.
pub struct Channels {
    pub dispatcher: Dispatcher,
    /// Webhook and web-chat routes, to merge into the service's router.
    pub router: Router,
    /// The Telegram long-polling task, when that mode is configured.
    pub polling: Option<tokio::task::JoinHandle<()>>,
}

/// Builds the enabled adapters and starts the dispatcher (inside a Tokio runtime). Messages left
/// unanswered by a previous process are queued again.
pub async fn start(config: &ChannelsConfig, db: Db, ready: Ready) -> anyhow::Result<Channels> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.send_timeout_secs.max(1)))
        .build()?;
    let mut senders: Vec<Arc<dyn ChannelSender>> = Vec::new();
    let zalo_oa = config
        .zalo_oa
        .enabled
        .then(|| Arc::new(ZaloOaSender::new(&config.zalo_oa, db.clone(), http.clone())));
    let zalo_bot = config
        .zalo_bot
        .enabled
        .then(|| Arc::new(ZaloBotSender::new(&config.zalo_bot, http.clone())));
    let telegram = config
        .telegram
        .enabled
        .then(|| Arc::new(TelegramSender::new(&config.telegram)));
    if let Some(sender) = &zalo_oa {
        senders.push(sender.clone());
    }
    if let Some(sender) = &zalo_bot {
        senders.push(sender.clone());
    }
    if let Some(sender) = &telegram {
        senders.push(sender.clone());
    }
    let dispatcher = Dispatcher::start(db, ready, senders, config);

    let mut router = Router::new();
    let mut enabled = Vec::new();
    if zalo_oa.is_some() {
        router = router.merge(zalo_oa::routes(dispatcher.clone(), &config.zalo_oa));
        enabled.push("zalo_oa");
    }
    if zalo_bot.is_some() {
        router = router.merge(zalo_bot::routes(dispatcher.clone(), &config.zalo_bot));
        enabled.push("zalo_bot");
    }
    let mut polling = None;
    if let Some(sender) = telegram {
        if config.telegram.mode == TelegramMode::Polling {
            polling = Some(telegram::spawn_polling(dispatcher.clone(), sender));
            enabled.push("telegram (polling)");
        } else {
            router = router.merge(telegram::routes(
                dispatcher.clone(),
                sender,
                &config.telegram,
            ));
            enabled.push("telegram (webhook)");
        }
    }
    if config.web.enabled {
        router = router.merge(web::routes(dispatcher.clone(), &config.web));
        router = router.merge(super::web_history::routes(dispatcher.clone()));
        enabled.push("web");
    }
    tracing::info!(channels = ?enabled, "channels started");
    dispatcher.requeue_pending().await?;
    Ok(Channels {
        dispatcher,
        router,
        polling,
    })
}
