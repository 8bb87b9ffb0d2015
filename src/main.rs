//! The `hoiluat` command: serve the API, ingest the corpus, ask from the terminal, check and
//! import the corpus.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hoiluat::app::{self, IndexMode};
use hoiluat::config::Config;
use hoiluat::corpus::Severity;
use hoiluat::http::{self, dto::AskResponse, AppState};
use hoiluat::store::VectorStore;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "hoiluat",
    version,
    about = "Hỏi Luật: hỏi đáp pháp luật có trích dẫn điều luật"
)]
struct Cli {
    /// TOML configuration file (optional; env vars HOILUAT__SECTION__KEY override it).
    #[arg(long, global = true, env = "HOILUAT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (ingests first when the corpus or model changed).
    Serve,
    /// Bring the index in line with the corpus.
    Ingest {
        /// Delete the index and embed everything again.
        #[arg(long)]
        rebuild: bool,
    },
    /// Ask one question and print the answer.
    Ask {
        question: String,
        /// Print the JSON the API would return.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate answers on labelled questions and write a Markdown report.
    Eval {
        /// Citizen questions with gold articles (JSONL: id, question, gold[{so_hieu, dieu}]).
        #[arg(long, default_value = "../shared/data/zalo-phapdien/dev.jsonl")]
        questions: PathBuf,
        /// Questions that must not be answered from the corpus (JSONL: question, kind).
        #[arg(long, default_value = "eval/out_of_scope.jsonl")]
        unanswerable: PathBuf,
        /// Evaluate only the first N labelled questions.
        #[arg(long)]
        limit: Option<usize>,
        /// Write the report here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Corpus maintenance.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
}

#[derive(Subcommand)]
enum CorpusCommand {
    /// Parse every corpus file and print its diagnostics; exits non-zero on errors.
    Check,
    /// Regenerate corpus files from the shared data sets according to corpus/curation.toml.
    Import {
        /// Directory of the shared data sets.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    let result = match cli.command {
        Command::Serve => serve(config),
        Command::Ingest { rebuild } => ingest(&config, rebuild),
        Command::Ask { question, json } => ask(&config, &question, json),
        Command::Eval {
            questions,
            unanswerable,
            limit,
            out,
        } => evaluate(&config, &questions, &unanswerable, limit, out.as_deref()),
        Command::Corpus {
            command: CorpusCommand::Check,
        } => corpus_check(&config),
        Command::Corpus {
            command: CorpusCommand::Import { data },
        } => corpus_import(&config, &data),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(%error, "failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let state = AppState::new(&config.server);
        let listener = tokio::net::TcpListener::bind(&config.server.bind).await?;
        tracing::info!(address = %listener.local_addr()?, "listening; /readyz turns ready when the index is");

        // Start-up may ingest for minutes: serve /healthz and "not ready" meanwhile.
        let ready_state = state.clone();
        let start_config = config.clone();
        let startup = tokio::task::spawn_blocking(move || app::start(&start_config, IndexMode::IngestIfNeeded, true));
        let server = axum::serve(listener, http::router(state)).with_graceful_shutdown(shutdown_signal());
        let server = tokio::spawn(async move { server.await });

        // Ctrl-C during a first ingest stops at once: ingest resumes where it stopped next time.
        let startup = tokio::select! {
            outcome = startup => outcome?,
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted during start-up; the next start resumes the ingest");
                return Ok(ExitCode::from(130));
            }
        };
        match startup {
            Ok(started) => {
                if started.ingest_report.is_some() {
                    app::optimize_in_background(started.store.clone());
                }
                ready_state.set_ready(started.assistant);
                tracing::info!("ready");
            }
            Err(error) => {
                tracing::error!(%error, "start-up failed");
                return Err(error.into());
            }
        }
        server.await??;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

fn ingest(config: &Config, rebuild: bool) -> anyhow::Result<ExitCode> {
    let mode = if rebuild {
        IndexMode::Rebuild
    } else {
        IndexMode::AlwaysIngest
    };
    let started = app::start(config, mode, true)?;
    if let Some(report) = started.ingest_report {
        println!(
            "Đã cập nhật chỉ mục: {} đoạn ({} mới, {} cập nhật, {} xoá, {} giữ nguyên) trong {:.1} giây.",
            report.chunks,
            report.embedded,
            report.refreshed,
            report.deleted,
            report.unchanged,
            report.elapsed.as_secs_f32()
        );
    }
    println!("Đang tối ưu chỉ mục…");
    hoiluat::store::VectorStore::optimize(started.store.as_ref())?;
    println!("Xong.");
    Ok(ExitCode::SUCCESS)
}

fn ask(config: &Config, question: &str, json: bool) -> anyhow::Result<ExitCode> {
    let started = app::start(config, IndexMode::IngestIfNeeded, true)?;
    let assistant = Arc::clone(&started.assistant);
    match assistant.ask_blocking(question, None) {
        Ok(answer) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&AskResponse::from(answer))?
                );
            } else {
                println!(
                    "{}\n\n(độ tin cậy {:.2}{})",
                    answer.text,
                    answer.confidence,
                    if answer.needs_review {
                        ", cần cán bộ xem lại"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let api_error = hoiluat::http::error::ApiError::from(error);
            eprintln!("{}", api_error.message);
            Ok(ExitCode::from(2))
        }
    }
}

fn evaluate(
    config: &Config,
    questions: &std::path::Path,
    unanswerable: &std::path::Path,
    limit: Option<usize>,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let started = app::start(config, IndexMode::IngestIfNeeded, true)?;
    let report = hoiluat::eval::run(&started.assistant, questions, unanswerable, limit)?;
    let library = started.assistant.library();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let context = format!(
        "- command: `hoiluat {}`\n- date: {}\n- machine: {cores} cores, {cpu}; {} build\n- corpus: {} documents, {} articles; model `{}`\n- questions: `{}`, `{}`",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        library.documents().len(),
        library.article_count(),
        started.store.collection_info().model_id,
        questions.display(),
        unanswerable.display(),
    );
    let markdown = report.to_markdown(&context);
    match out {
        Some(path) => std::fs::write(path, markdown)?,
        None => println!("{markdown}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn corpus_check(config: &Config) -> anyhow::Result<ExitCode> {
    let dir = &config.paths.corpus_dir;
    let corpus = hoiluat::corpus::load_corpus(dir)?;
    for diagnostic in &corpus.diagnostics {
        println!("{diagnostic}");
    }
    let articles: usize = corpus.documents.iter().map(|d| d.articles.len()).sum();
    let errors = corpus.error_count();
    let warnings = corpus
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    println!(
        "{} documents, {articles} articles; {errors} errors, {warnings} warnings; {} files rejected",
        corpus.documents.len(),
        corpus.rejected_files.len()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn corpus_import(config: &Config, data: &std::path::Path) -> anyhow::Result<ExitCode> {
    let dir = &config.paths.corpus_dir;
    let report = hoiluat::import::run_import(&dir.join("curation.toml"), data, dir)?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
