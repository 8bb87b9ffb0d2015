//! The `hoiluat` command: serve the API, ingest the corpus, ask from the terminal, check and
//! import the corpus. Each command parses its arguments, calls the library and prints; the work
//! is in `app`, `store::migrate`, `bench`, `eval` and `staff::accounts`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use hoiluat::app::{self, Application, IndexMode, Served};
use hoiluat::config::Config;
use hoiluat::corpus::Severity;
use hoiluat::db::{Db, Role};
use hoiluat::http::dto::AskResponse;
use hoiluat::staff;
use hoiluat::store::migrate::Migration;

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
        /// Retrieval modes to compare (comma-separated: lexical,dense,hybrid,ranked; `ranked` is
        /// what `ask` uses).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "lexical,dense,hybrid,ranked"
        )]
        mode: Vec<hoiluat::answer::RetrievalMode>,
        /// Also ask each answerable question without its gold documents in the index, and report
        /// how often it is still answered without a review flag.
        #[arg(long)]
        exclude_gold: bool,
        /// Write the ranker's training data (candidate pools with features and labels, JSON lines)
        /// to this file; see eval/ranker/README.md.
        #[arg(long)]
        dump_features: Option<PathBuf>,
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
    /// The directory of officers by commune (the handoff's contacts).
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Chat channels: register webhooks with the platforms, check credentials.
    Channels {
        #[command(subcommand)]
        command: ChannelsCommand,
    },
    /// The vector store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
}

#[derive(Subcommand)]
enum ChannelsCommand {
    /// Register the webhook (with the configured secret token) and confirm it with getWebhookInfo.
    Setup {
        platform: SetupPlatform,
        /// The service's public HTTPS address, e.g. https://hoiluat.sotuphap.gov.vn.
        #[arg(long)]
        url: String,
    },
    /// Check every enabled channel's credentials and webhook; exits 1 when something is wrong.
    Check,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SetupPlatform {
    Telegram,
    ZaloBot,
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
    /// Write the curated answers' questions, with the articles staff confirmed or chose, as a
    /// question set for `hoiluat eval --set` and the ranker's training (eval/README.md, "Reviewed
    /// questions as data"). Phone, CCCD and e-mail are masked; read the file before sharing it.
    ReviewedQuestions {
        /// The JSON-lines file to write (replaced whole).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Replace the whole directory with a CSV file (docs/gap-can-bo.md): every row valid, or
    /// nothing changes and every bad row is listed.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Write every cached vector of the configured model to one file (`hoiluat ingest` first
    /// copies the vectors of the current index into the cache).
    Export {
        file: PathBuf,
        /// Only the vectors of the curated core's chunks (the loose corpus files): what
        /// `corpus/core-vectors.hlvc` ships, so that a first start answers without embedding.
        #[arg(long)]
        core: bool,
    },
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
    hoiluat::logging::init(&config);
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
            exclude_gold,
            dump_features,
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
                exclude_gold,
                dump_features,
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
        } => bench(
            hoiluat::bench::BenchOptions {
                url,
                sets,
                levels: concurrency,
                seconds,
                label,
                command: command_line(),
            },
            out.as_deref(),
        ),
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
        Command::Directory { command } => directory_command(&config, command),
        Command::Channels { command } => channels_command(&config, command),
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

fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let served = Application::build(config).await?.run().await?;
        Ok(match served {
            Served::Stopped => ExitCode::SUCCESS,
        })
    })
}

/// `hoiluat store migrate`: the embedded index into a new generation of a Qdrant server
/// collection, without re-embedding.
fn store_migrate(
    config: &Config,
    to_url: &str,
    collection: Option<String>,
) -> anyhow::Result<ExitCode> {
    let index_dir = app::index_dir(config);
    let mut target = config.store.clone();
    if let Some(collection) = collection {
        target.collection = collection;
    }
    let migration = Migration::prepare(&index_dir, &target, to_url)?;
    println!(
        "Đang sao chép {} đoạn từ {} sang bộ sưu tập `{}` tại {to_url}…",
        migration.total(),
        index_dir.display(),
        migration.collection()
    );
    let done = migration.run()?;
    println!(
        "Xong: {}/{} đoạn đã chép; bí danh `{}` trỏ tới `{}`{}.",
        done.copied,
        done.total,
        done.alias,
        done.collection,
        done.previous.map_or_else(String::new, |p| format!(
            " (trước đây `{p}`, giữ lại để quay lui)"
        ))
    );
    if done.copied < done.total {
        println!("{} đoạn thiếu dữ liệu không được chép; chạy `hoiluat ingest` với store.kind = \"qdrant\" để bổ sung.", done.total - done.copied);
    }
    Ok(ExitCode::SUCCESS)
}

/// `hoiluat <arguments>`, for reports.
fn command_line() -> String {
    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
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
            format!("`hoiluat {}`", command_line()),
        ),
        (
            "date".to_owned(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("machine".to_owned(), hoiluat::bench::machine_description()),
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

fn bench(
    options: hoiluat::bench::BenchOptions,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let report = hoiluat::bench::run(&options)?;
    match out {
        Some(path) => report.write(path)?,
        None => print!("{}", report.table),
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
        CacheCommand::Export { file, core: false } => {
            let count = cache.export(&file)?;
            println!("Đã xuất {count} vectơ vào {}.", file.display());
        }
        CacheCommand::Export { file, core: true } => {
            let keys: std::collections::HashSet<_> = hoiluat::app::core_chunks(config)?
                .iter()
                .map(|chunk| hoiluat::vector_cache::key(&chunk.embed_text))
                .collect();
            let count = cache.export_only(&file, &keys)?;
            if count < keys.len() {
                println!(
                    "Thiếu {} vectơ của phần lõi trong bộ nhớ đệm: chạy `hoiluat ingest` trước.",
                    keys.len() - count
                );
            }
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

fn channels_command(config: &Config, command: ChannelsCommand) -> anyhow::Result<ExitCode> {
    use hoiluat::channels::setup_cli::{self, BotPlatform};
    let runtime = tokio::runtime::Runtime::new()?;
    let findings = runtime.block_on(async {
        match command {
            ChannelsCommand::Setup { platform, url } => {
                let platform = match platform {
                    SetupPlatform::Telegram => BotPlatform::Telegram,
                    SetupPlatform::ZaloBot => BotPlatform::ZaloBot,
                };
                Ok::<_, anyhow::Error>(setup_cli::setup(&config.channels, platform, &url).await)
            }
            ChannelsCommand::Check => {
                // The OA's refreshed token pair lives in the database; without one, the
                // configured pair is checked.
                let db = Db::connect(&config.database, &config.paths).await.ok();
                Ok(setup_cli::check(&config.channels, db.as_ref()).await)
            }
        }
    })?;
    for finding in &findings {
        println!("{finding}");
    }
    Ok(if findings.iter().all(|f| f.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn directory_command(config: &Config, command: DirectoryCommand) -> anyhow::Result<ExitCode> {
    let DirectoryCommand::Import { file } = command;
    let text = std::fs::read_to_string(&file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let entries = match hoiluat::platform::directory::parse_csv(&text) {
        Ok(entries) if !entries.is_empty() => entries,
        Ok(_) => anyhow::bail!("{} has no row", file.display()),
        Err(errors) => {
            eprintln!("{} was not imported (nothing changed):", file.display());
            for error in errors.0 {
                eprintln!("  {error}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let db = Db::connect(&config.database, &config.paths).await?;
        let stored = db.replace_directory(entries, None).await?;
        println!("directory replaced: {stored} entries");
        Ok(ExitCode::SUCCESS)
    })
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
                let role = Role::parse(&role).ok_or_else(|| {
                    anyhow::anyhow!("role must be reviewer or admin, not {role:?}")
                })?;
                staff::accounts::check_username(&username)?;
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
                let id = staff::accounts::add(&db, username.clone(), display_name, role, password)
                    .await?;
                println!("created {role} {username} (id {id})");
            }
            StaffCommand::ReviewedQuestions { out } => {
                let curated = db.curated_answers(false).await?;
                let corpus = hoiluat::app::read_corpus(config)?;
                let library = hoiluat::library::Library::from_documents(&corpus.documents);
                let set = hoiluat::eval::reviewed::reviewed_questions(&curated, &library);
                let mut text = set.lines.join("\n");
                if !text.is_empty() {
                    text.push('\n');
                }
                hoiluat::fsutil::write_atomically(&out, text.as_bytes())
                    .map_err(|error| anyhow::anyhow!("writing {}: {error}", out.display()))?;
                println!(
                    "Đã ghi {} câu hỏi (trên {} văn bản) vào {}.",
                    set.lines.len(),
                    set.documents.len(),
                    out.display()
                );
                if set.without_articles > 0 {
                    println!(
                        "Bỏ qua {} câu trả lời mẫu vì các điều được trích không còn trong kho văn bản.",
                        set.without_articles
                    );
                }
                if set.erased > 0 {
                    println!(
                        "Bỏ qua {} câu trả lời mẫu có câu hỏi đã bị xóa theo thời hạn lưu trữ.",
                        set.erased
                    );
                }
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
