//! The `hoiluat` command: serve the API, ingest the corpus, ask from the terminal, check and
//! import the corpus.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hoiluat::app::{self, IndexMode};
use hoiluat::channels;
use hoiluat::config::Config;
use hoiluat::corpus::Severity;
use hoiluat::db::Db;
use hoiluat::http::{self, dto::AskResponse, AppState};
use hoiluat::staff;
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
    /// Evaluate retrieval (lexical, dense, hybrid side by side) and answers on labelled question
    /// sets; write a Markdown report and its JSON beside it.
    Eval {
        /// Question set (JSONL of ours, zalo-phapdien JSONL, or an ALQAC JSON array); repeatable.
        #[arg(long = "set", default_values = [
            "eval/questions/citizen-dev.jsonl",
            "eval/out_of_scope.jsonl",
            "../shared/data/zalo-phapdien/dev.jsonl",
        ])]
        sets: Vec<PathBuf>,
        /// Corpus directory to evaluate on instead of the configured one (its index goes to
        /// `data/eval-<directory name>` unless --data-dir says otherwise).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Data directory of the index for --corpus.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Retrieval modes to compare (comma-separated: lexical,dense,hybrid).
        #[arg(long, value_delimiter = ',', default_value = "lexical,dense,hybrid")]
        mode: Vec<hoiluat::answer::RetrievalMode>,
        /// Evaluate only the first N questions of each set.
        #[arg(long)]
        limit: Option<usize>,
        /// Write NAME.md and NAME.json (e.g. eval/reports/2026-12-01-baseline) instead of
        /// printing the Markdown.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load-test a running service: POST /v1/ask from this process at several concurrency levels.
    Bench {
        /// Base URL of the service (plain http).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Question sets whose questions are sent (distinct questions, cycled).
        #[arg(long = "set", default_values = [
            "../shared/data/zalo-phapdien/dev.jsonl",
            "eval/questions/citizen-dev.jsonl",
        ])]
        sets: Vec<PathBuf>,
        /// Concurrency levels (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        concurrency: Vec<usize>,
        /// Seconds measured per level (after a 3-second warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A label for the report (e.g. "answer cache off").
        #[arg(long, default_value = "")]
        label: String,
        /// Append the Markdown table to this file and write the JSON beside it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The vector cache: move embeddings between machines and indexes as one file.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Corpus maintenance.
    Corpus {
        #[command(subcommand)]
        command: CorpusCommand,
    },
    /// Staff accounts of the review console.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The vector store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy the embedded index into a new generation of a Qdrant server collection without
    /// re-embedding, verify the count, then point the collection's alias at it.
    Migrate {
        /// gRPC URL of the Qdrant server, e.g. http://127.0.0.1:6334.
        #[arg(long)]
        to_url: String,
        /// Collection alias to publish (default: store.collection).
        #[arg(long)]
        collection: Option<String>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create an account. The password is read from HOILUAT_STAFF_PASSWORD or, when that is not
    /// set, from the first line of standard input; there is no default password.
    Add {
        #[arg(long)]
        username: String,
        /// Name shown in the console and on reviews.
        #[arg(long)]
        display_name: String,
        /// `reviewer` or `admin`.
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// List accounts (without password hashes).
    List,
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Write every cached vector of the configured model to one file (`hoiluat ingest` first
    /// copies the vectors of the current index into the cache).
    Export { file: PathBuf },
    /// Add the vectors of an exported file (same model) to the cache; the next ingest uses them.
    Import { file: PathBuf },
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
        /// Curation file (default: curation.toml in the corpus directory).
        #[arg(long)]
        curation: Option<PathBuf>,
        /// Directory to write the documents to (default: the corpus directory).
        #[arg(long)]
        out: Option<PathBuf>,
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
            sets,
            corpus,
            data_dir,
            mode,
            limit,
            out,
        } => {
            let mut config = config;
            // Every question is answered afresh, so latencies and outcomes are the pipeline's.
            config.retrieval.answer_cache_capacity = 0;
            // Evaluation indexes share the main vector cache.
            config.paths.vector_cache_dir = Some(config.paths.vector_cache_dir());
            if let Some(corpus) = corpus {
                let name = corpus
                    .file_name()
                    .map_or_else(|| "corpus".into(), |n| n.to_string_lossy().into_owned());
                config.paths.data_dir =
                    data_dir.unwrap_or_else(|| PathBuf::from(format!("data/eval-{name}")));
                config.paths.corpus_dir = corpus;
            } else if let Some(data_dir) = data_dir {
                config.paths.data_dir = data_dir;
            }
            let options = hoiluat::eval::EvalOptions {
                sets,
                modes: mode,
                limit,
            };
            evaluate(&config, &options, out.as_deref())
        }
        Command::Cache { command } => cache_command(&config, command),
        Command::Bench {
            url,
            sets,
            concurrency,
            seconds,
            label,
            out,
        } => bench(&url, &sets, &concurrency, seconds, &label, out.as_deref()),
        Command::Corpus {
            command: CorpusCommand::Check,
        } => corpus_check(&config),
        Command::Corpus {
            command:
                CorpusCommand::Import {
                    data,
                    curation,
                    out,
                },
        } => {
            let dir = &config.paths.corpus_dir;
            let curation = curation.unwrap_or_else(|| dir.join("curation.toml"));
            let out = out.unwrap_or_else(|| dir.clone());
            corpus_import(&curation, &data, &out)
        }
        Command::Staff { command } => staff_command(&config, command),
        Command::Store {
            command: StoreCommand::Migrate { to_url, collection },
        } => store_migrate(&config, &to_url, collection),
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
        let db = Db::connect(&config.database, &config.paths).await?;
        // Channels and the console answer (or queue) from the first second; questions wait for
        // the assistant that start-up is loading.
        let ready = state.ready_handle();
        let channels = channels::setup::start(&config.channels, db.clone(), ready.clone()).await?;
        // `POST /v1/ask` records its answers and flags as the channels do.
        let state = state.with_answer_log(Arc::new(channels.dispatcher.clone()));
        let mut app = http::router(state.clone()).merge(channels.router);
        if config.staff.enabled {
            app = app.merge(staff::routes(staff::StaffState {
                db: db.clone(),
                dispatcher: channels.dispatcher.clone(),
                ready: ready.clone(),
                config: config.staff.clone(),
                corpus: Arc::new(hoiluat::corpus::edit::CorpusFiles::new(
                    config.paths.corpus_dir.clone(),
                )),
                reindex: app::ReindexJob::new(config.clone()),
            }));
        }
        if config.channels.web.enabled {
            // Embedding sites also read /v1/articles for the widget's citations: CORS covers all.
            app = channels::web::with_cors(app, &config.channels.web);
        }
        let _retention = staff::spawn_retention(db.clone(), config.staff.retention_days);
        let listener = tokio::net::TcpListener::bind(&config.server.bind).await?;
        tracing::info!(address = %listener.local_addr()?, "listening; /readyz turns ready when the index is");

        // Start-up may ingest for minutes: serve /healthz and "not ready" meanwhile.
        let start_config = config.clone();
        let startup = tokio::task::spawn_blocking(move || app::start(&start_config, IndexMode::IngestIfNeeded, true));
        let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(shutdown_signal());
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
                // Conversations survive restarts, and staff-approved answers come first, on
                // every replica: both are read from the database.
                started.assistant.set_history_source(Arc::new(db.clone()));
                started
                    .assistant
                    .set_curated_source(Arc::new(db.clone()), config.channels.curated_similarity);
                ready.set(started.assistant);
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

/// `hoiluat store migrate`: reads every point (payload, dense and lexical vectors) back from the
/// embedded index and upserts it into a new server collection generation, in batches.
fn store_migrate(
    config: &Config,
    to_url: &str,
    collection: Option<String>,
) -> anyhow::Result<ExitCode> {
    use hoiluat::store::{edge::EdgeStore, qdrant::QdrantStore};
    let index_dir = app::index_dir(config);
    let embedded = EdgeStore::open_existing(&index_dir)?;
    let mut target = config.store.clone();
    target.kind = hoiluat::config::StoreKind::Qdrant;
    target.url = to_url.to_owned();
    if let Some(collection) = collection {
        target.collection = collection;
    }
    let server = QdrantStore::create_generation(&target, embedded.collection_info())?;
    let total = embedded.count()?;
    println!(
        "Đang sao chép {total} đoạn từ {} sang bộ sưu tập `{}` tại {to_url}…",
        index_dir.display(),
        server.collection_name()
    );
    let mut copied = 0;
    embedded.export(256, &mut |records| {
        copied += records.len();
        server.upsert(records)?;
        tracing::info!(copied, total, "migrating");
        Ok(())
    })?;
    let stored = server.count()?;
    if stored != copied {
        anyhow::bail!("the server collection `{}` holds {stored} points after copying {copied}; the alias was not switched", server.collection_name());
    }
    let previous = server.publish()?;
    println!(
        "Xong: {copied}/{total} đoạn đã chép; bí danh `{}` trỏ tới `{}`{}.",
        target.collection,
        server.collection_name(),
        previous.map_or_else(String::new, |p| format!(
            " (trước đây `{p}`, giữ lại để quay lui)"
        ))
    );
    if copied < total {
        println!("{} đoạn thiếu dữ liệu không được chép; chạy `hoiluat ingest` với store.kind = \"qdrant\" để bổ sung.", total - copied);
    }
    Ok(ExitCode::SUCCESS)
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
            "Đã cập nhật chỉ mục: {} đoạn ({} mới, {} lấy từ bộ nhớ đệm vectơ, {} cập nhật, {} xoá, {} giữ nguyên) trong {:.1} giây.",
            report.chunks,
            report.embedded,
            report.from_cache,
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
    options: &hoiluat::eval::EvalOptions,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let started = app::start(config, IndexMode::IngestIfNeeded, true)?;
    let mut report = hoiluat::eval::run(&started.assistant, options)?;
    let library = started.assistant.library();
    report.context = std::collections::BTreeMap::from([
        (
            "command".to_owned(),
            format!(
                "`hoiluat {}`",
                std::env::args().skip(1).collect::<Vec<_>>().join(" ")
            ),
        ),
        (
            "date".to_owned(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("machine".to_owned(), machine_description()),
        (
            "corpus".to_owned(),
            format!(
                "`{}`: {} documents, {} articles, {} chunks indexed",
                config.paths.corpus_dir.display(),
                library.documents().len(),
                library.article_count(),
                started.store.count()?
            ),
        ),
        (
            "model".to_owned(),
            format!("`{}`", started.store.collection_info().model_id),
        ),
    ]);
    let markdown = report.to_markdown();
    match out {
        Some(path) => {
            let (markdown_path, json_path) = hoiluat::eval::report_paths(path);
            if let Some(parent) = markdown_path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&markdown_path, &markdown)?;
            std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)?;
            println!(
                "Wrote {} and {}",
                markdown_path.display(),
                json_path.display()
            );
        }
        None => println!("{markdown}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// "2 cores, <CPU model>; release build", for reports.
fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cores} cores, {cpu}; {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

fn bench(
    url: &str,
    sets: &[PathBuf],
    levels: &[usize],
    seconds: u64,
    label: &str,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use std::net::ToSocketAddrs;
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--url must start with http://"))?
        .trim_end_matches('/');
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("cannot resolve {authority}"))?;
    let mut questions: Vec<String> = Vec::new();
    for set in sets {
        for question in hoiluat::eval::load_set(set)? {
            // Follow-ups need their conversation; the bench sends standalone questions only.
            if question.history.is_empty() && !questions.contains(&question.question) {
                questions.push(question.question);
            }
        }
    }
    let mut results = Vec::new();
    let mut table = format!(
        "\n### {label}\n\n- command: `hoiluat {}`\n- date: {}\n- machine (load generator and service share it): {}\n- {} distinct questions\n\n| concurrency | requests | errors | questions/s | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|---|---|\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine_description(),
        questions.len()
    );
    for &concurrency in levels {
        let result = hoiluat::bench::run_level(
            address,
            &questions,
            concurrency,
            std::time::Duration::from_secs(3),
            std::time::Duration::from_secs(seconds),
        )?;
        let row = format!(
            "| {} | {} | {}{} | {:.1} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |\n",
            result.concurrency,
            result.requests,
            result.errors,
            if result.statuses.is_empty() {
                String::new()
            } else {
                format!(" {:?}", result.statuses)
            },
            result.questions_per_second,
            result.latency.p50_ms,
            result.latency.p95_ms,
            result.latency.p99_ms,
            result.latency.max_ms
        );
        eprint!("{row}");
        table.push_str(&row);
        results.push(result);
    }
    match out {
        Some(path) => {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(table.as_bytes())?;
            let json_path = path.with_extension(format!(
                "{}.json",
                label
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect::<String>()
            ));
            std::fs::write(
                json_path,
                serde_json::to_string_pretty(
                    &serde_json::json!({ "label": label, "levels": results }),
                )?,
            )?;
        }
        None => print!("{table}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn cache_command(config: &Config, command: CacheCommand) -> anyhow::Result<ExitCode> {
    use hoiluat::embed::{E5Embedder, Embedder, ModelPaths};
    // The model id names the cache file: it is the digest of the weights, so load them.
    let embedder = E5Embedder::load(&ModelPaths::under(&config.paths.models_dir), 1)?;
    let cache = hoiluat::vector_cache::VectorCache::open(
        &config.paths.vector_cache_dir(),
        embedder.model_id(),
        embedder.dimension(),
    )?;
    match command {
        CacheCommand::Export { file } => {
            let count = cache.export(&file)?;
            println!("Đã xuất {count} vectơ vào {}.", file.display());
        }
        CacheCommand::Import { file } => {
            let added = cache.import(&file)?;
            println!(
                "Đã nhập {added} vectơ mới từ {} (bộ nhớ đệm có {} vectơ).",
                file.display(),
                cache.len()
            );
        }
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

fn corpus_import(
    curation: &std::path::Path,
    data: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let report = hoiluat::import::run_import(curation, data, out)?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn staff_command(config: &Config, command: StaffCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let db = Db::connect(&config.database, &config.paths).await?;
        match command {
            StaffCommand::Add {
                username,
                display_name,
                role,
            } => {
                let role = hoiluat::db::Role::parse(&role).ok_or_else(|| {
                    anyhow::anyhow!("role must be reviewer or admin, not {role:?}")
                })?;
                let valid_name = (1..=64).contains(&username.len())
                    && username
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
                anyhow::ensure!(
                    valid_name,
                    "username must be 1-64 characters of a-z, 0-9, '.', '_' or '-'"
                );
                let password = match std::env::var("HOILUAT_STAFF_PASSWORD") {
                    Ok(password) => password,
                    Err(_) => {
                        eprintln!(
                            "Password (at least {} characters):",
                            staff::auth::MIN_PASSWORD_CHARS
                        );
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line)?;
                        line.trim_end_matches(['\n', '\r']).to_owned()
                    }
                };
                let hash =
                    tokio::task::spawn_blocking(move || staff::auth::hash_password(&password))
                        .await??;
                let id = db
                    .create_staff(username.clone(), display_name, hash, role)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("cannot create {username:?} (does it exist already?): {e}")
                    })?;
                db.audit(
                    None,
                    "staff_created",
                    Some(format!("staff:{id}")),
                    Some(role.as_str().into()),
                )
                .await?;
                println!("created {role} {username} (id {id})");
            }
            StaffCommand::List => {
                for account in db.list_staff().await? {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        account.id,
                        account.username,
                        account.role,
                        account.display_name,
                        if account.disabled { "\t(disabled)" } else { "" }
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
