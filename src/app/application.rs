//! `hoiluat serve`: the database, the channels, the staff console and the HTTP API around one
//! assistant, which start-up loads (perhaps ingesting for minutes) while the service already
//! answers `/healthz`, stores webhooks and says `not_ready` to questions.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

use super::{start_with, IndexMode, ReindexJob};
use crate::channels::{self, setup::Channels};
use crate::config::Config;
use crate::corpus::edit::CorpusFiles;
use crate::db::Db;
use crate::http::{self, AppState};
use crate::platform::wording::PlatformWording;
use crate::platform::Platform;
use crate::ready::Ready;
use crate::staff::{self, PlatformState, StaffState};

/// The service, built and not yet serving.
pub struct Application {
    config: Config,
    db: Db,
    ready: Ready,
    /// How far the index is; start-up and the background ingest report into it, `/readyz` reads it.
    index_progress: Arc<crate::ingest::IngestProgress>,
    /// The staff console's re-index, held back while the compendium is indexed in the background.
    reindex: ReindexJob,
    router: Router,
    /// Kept for the service's lifetime: the Telegram polling task, the retention sweep.
    _channels: Channels,
    _retention: Option<tokio::task::JoinHandle<()>>,
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Shut down (Ctrl-C) after start-up. A Ctrl-C during start-up exits the process at once
    /// (code 130): the next start resumes the ingest.
    Stopped,
}

impl Application {
    /// Opens the database, starts the channels (messages are stored, and wait for the assistant)
    /// and builds the router of the API, the channels' routes and the console. Inside a Tokio
    /// runtime.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = Db::connect(&config.database, &config.paths).await?;
        let state = AppState::new(&config.server);
        let ready = state.ready_handle();
        let index_progress = state.index_progress();
        let channels = channels::setup::start(&config.channels, db.clone(), ready.clone()).await?;
        // `POST /v1/ask` records its answers and flags as the channels do.
        let state = state.with_answer_log(Arc::new(channels.dispatcher.clone()));
        let mut router = http::router(state).merge(channels.router.clone());
        // The platform around the chatbot: handoffs, surveys, SME requests, legal news, through
        // the dispatcher's hook and the outbox.
        let platform = if config.platform.enabled {
            Platform::start(&config, db.clone(), ready.clone(), &channels.dispatcher).await?
        } else {
            Platform::for_console(
                db.clone(),
                ready.clone(),
                PlatformWording::load(&config.paths.prompts_dir)?,
            )
        };
        let reindex = ReindexJob::new(config.clone());
        if config.staff.enabled {
            let staff_state = StaffState {
                db: db.clone(),
                dispatcher: channels.dispatcher.clone(),
                ready: ready.clone(),
                config: config.staff.clone(),
                corpus: Arc::new(CorpusFiles::new(config.paths.corpus_dir.clone())),
                reindex: reindex.clone(),
                passwords: staff::auth::PasswordChecker::new(),
            };
            router =
                router
                    .merge(staff::routes(staff_state.clone()))
                    .merge(staff::platform_routes(PlatformState {
                        staff: staff_state,
                        platform,
                    }));
        }
        if config.channels.web.enabled {
            // Embedding sites also read /v1/articles for the widget's citations: CORS covers all.
            router = channels::web::with_cors(router, &config.channels.web);
        }
        let router = crate::metrics::attach(router, &config.metrics).await?;
        let retention = staff::spawn_retention(db.clone(), config.staff.retention_days);
        Ok(Application {
            config,
            db,
            ready,
            index_progress,
            reindex,
            router,
            _channels: channels,
            _retention: retention,
        })
    }

    /// Binds `server.bind` and serves until Ctrl-C. Start-up runs on a blocking thread meanwhile;
    /// when it is done, the assistant reads conversations and curated answers from the database
    /// and the service turns ready.
    pub async fn run(self) -> anyhow::Result<Served> {
        let Application {
            config,
            db,
            ready,
            index_progress,
            reindex,
            router,
            _channels,
            _retention,
        } = self;
        let listener = tokio::net::TcpListener::bind(&config.server.bind).await?;
        tracing::info!(address = %listener.local_addr()?, "listening; /readyz turns ready when the index is");

        // Start-up indexes the core of the corpus (minutes on a first start): serve /healthz and
        // "not ready" meanwhile. The compendium is indexed after, in the background.
        let start_config = config.clone();
        let startup = tokio::task::spawn_blocking(move || {
            start_with(&start_config, IndexMode::CoreFirst, true, index_progress)
        });
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal());
        let server = tokio::spawn(async move { server.await });

        // Ctrl-C during a first ingest stops at once: ingest resumes where it stopped next time.
        let started = tokio::select! {
            outcome = startup => outcome?,
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted during start-up; the next start resumes the ingest");
                // Exit at once: returning would drop the runtime, which waits for the blocking
                // start-up task, i.e. for the ingest to finish. Every flushed batch is kept.
                std::process::exit(130);
            }
        };
        let started = match started {
            Ok(started) => started,
            Err(error) => {
                tracing::error!(%error, "start-up failed");
                return Err(error.into());
            }
        };
        if started.ingest_report.is_some() && started.background.is_none() {
            super::optimize_in_background(started.store.clone());
        }
        // Conversations survive restarts, and staff-approved answers come first, on every replica.
        started.assistant.set_history_source(Arc::new(db.clone()));
        started
            .assistant
            .set_curated_source(Arc::new(db), config.channels.curated_similarity);
        // Taken before the service turns ready: a staff re-index requested from then on waits
        // until the background ingest ends (or its thread unwinds).
        let background_guard = started
            .background
            .as_ref()
            .map(|_| reindex.background_ingest());
        ready.set(started.assistant.clone());
        tracing::info!("ready");
        if let Some(background) = started.background {
            // Answers use whatever is indexed so far; a restart resumes where this stops.
            let assistant = started.assistant.clone();
            std::thread::spawn(move || {
                let _guard = background_guard;
                if let Err(error) = background.run(&assistant) {
                    tracing::error!(%error, "background indexing failed; the next start resumes it");
                }
            });
        }
        server.await??;
        Ok(Served::Stopped)
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
