//! Shared set-up of the integration tests: the real model from `models/` (provisioned by
//! `scripts/provision.sh`, which `make test` runs first), the real embedded Qdrant engine in a
//! temporary directory, and real corpus files.

#![allow(dead_code)]

pub mod webdriver;
pub mod zalo_bot;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hoiluat::app::{self, IndexMode, Started};
use hoiluat::config::Config;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The provisioned models directory; fails with the fix when it is missing.
pub fn models_dir() -> PathBuf {
    let dir = repo().join("models");
    assert!(
        dir.join("e5-small/model.onnx").exists(),
        "models are not provisioned: run `scripts/provision.sh` (make test does it)"
    );
    dir
}

/// A corpus directory holding copies of the named files of the shipped `corpus/`.
pub fn corpus_with(dir: &Path, files: &[&str]) -> PathBuf {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for file in files {
        std::fs::copy(repo().join("corpus").join(file), corpus.join(file))
            .unwrap_or_else(|e| panic!("copy corpus/{file}: {e}"));
    }
    corpus
}

/// A configuration whose paths point at `corpus` and a data directory under `dir`.
pub fn config_for(dir: &Path, corpus: &Path) -> Config {
    let mut config = Config::default();
    config.paths.corpus_dir = corpus.to_owned();
    config.paths.data_dir = dir.join("data");
    config.paths.models_dir = models_dir();
    config.paths.prompts_dir = repo().join("prompts");
    config.model.sessions = 2;
    config
}

/// Marriage and family, civil status, and the Quảng Ngãi plan: enough for the questions of the
/// acceptance criteria, small enough to embed in seconds.
pub const SMALL_CORPUS: &[&str] = &[
    "luat-52-2014-qh13.md",
    "luat-60-2014-qh13.md",
    "ke-hoach-137-kh-ubnd-2025-quang-ngai.md",
];

pub struct Fixture {
    pub config: Config,
    pub started: Started,
    _dir: tempfile::TempDir,
}

/// One ingested small corpus per test process, shared by its tests (an embedded index can be
/// opened by one handle only).
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let corpus = corpus_with(dir.path(), SMALL_CORPUS);
        let config = config_for(dir.path(), &corpus);
        let started = app::start(&config, IndexMode::IngestIfNeeded, false)
            .expect("start-up with the real model");
        Fixture {
            config,
            started,
            _dir: dir,
        }
    })
}

/// A fresh assistant over the fixture's model, index and library, with its own conversations and
/// none of the sources a test may attach (history, curated answers): for tests that attach their
/// own database to it without affecting the other tests of the process.
pub fn own_assistant() -> std::sync::Arc<hoiluat::answer::Assistant> {
    let fixture = fixture();
    let shared = &fixture.started.assistant;
    let config = &fixture.config;
    let prompts =
        hoiluat::answer::prompts::Prompts::load(&config.paths.prompts_dir).expect("prompts/ loads");
    std::sync::Arc::new(hoiluat::answer::Assistant::new(
        shared.embedder().clone(),
        shared.store().clone(),
        shared.library(),
        std::sync::Arc::new(prompts),
        config.retrieval.clone(),
        &config.conversation,
        config.server.max_question_chars,
    ))
}

/// The marriage-age answer as staff approved it.
pub const CURATED_MARRIAGE_AGE: &str =
    "Nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi trở lên thì được kết hôn (cán bộ đã kiểm tra).";

/// Stores [`CURATED_MARRIAGE_AGE`] as the curated answer to "Nam nữ bao nhiêu tuổi thì được kết
/// hôn?", resting on Điều 8 of the marriage law, approved by a reviewer created for it.
pub async fn add_curated_marriage_age(db: &hoiluat::db::Db) {
    add_curated_marriage_age_text(db, CURATED_MARRIAGE_AGE).await;
}

/// Stores `text` as the curated answer to "Nam nữ bao nhiêu tuổi thì được kết hôn?", resting on
/// Điều 8 of the marriage law, approved by a reviewer created for it.
pub async fn add_curated_marriage_age_text(db: &hoiluat::db::Db, text: &str) {
    let staff = db
        .create_staff(
            "lan".into(),
            "Cán bộ Lan".into(),
            "x".into(),
            hoiluat::db::Role::Reviewer,
        )
        .await
        .unwrap();
    db.execute_sql(
        "INSERT INTO curated_answers (question, answer_text, citations, created_by, created_at, updated_at)
         VALUES ('Nam nữ bao nhiêu tuổi thì được kết hôn?', ?1, '[{\"article_id\":\"52-2014-qh13.dieu-8\"}]', ?2, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
        vec![text.into(), staff.into()],
    )
    .await
    .unwrap();
}

/// The integer the query `sql` returns (a `count(*)`), read from a test's SQLite database.
pub async fn count(db: &hoiluat::db::Db, sql: &'static str) -> i64 {
    db.call(move |c| c.query_row(sql, [], |r| r.get(0)))
        .await
        .unwrap()
}

/// Starts `hoiluat --config <config> serve` as a process, its stderr drained (so it never blocks
/// on a full pipe), and returns once its `/readyz` on `port` answers 200: the index is loaded.
/// (A log line is no signal: "PostgreSQL database ready" comes before the index.)
pub fn serve_until_ready(config: &Path, port: u16) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hoiluat"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "info")
        .env_remove("HOILUAT_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start hoiluat serve");
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if std::env::var_os("HOILUAT_TEST_SHOW_LOGS").is_some() {
                eprintln!("{line}");
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while readyz_status(port) != Some(200) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("hoiluat serve exited before it was ready: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hoiluat serve was not ready within 300 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child
}

/// The status code of `GET /readyz` on 127.0.0.1:`port`, `None` when nothing answers.
pub fn readyz_status(port: u16) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
