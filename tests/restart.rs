//! The service as a process: killing it during ingest leaves a usable index that the next run
//! completes without starting over, a restart after ingest is ready within 10 seconds, and a first
//! start logs no warning an operator cannot act on.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Labour code and civil status: a few hundred chunks, so an ingest lasts long enough to kill.
const CORPUS: &[&str] = &["bo-luat-45-2019-qh14.md", "luat-60-2014-qh13.md"];

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    write_config_with(dir, port, CORPUS)
}

fn write_config_with(dir: &Path, port: u16, files: &[&str]) -> std::path::PathBuf {
    let repo = common::repo();
    let corpus = common::corpus_with(dir, files);
    let config = format!(
        "[server]\nbind = \"127.0.0.1:{port}\"\n\n[paths]\ncorpus_dir = {:?}\ndata_dir = {:?}\nmodels_dir = {:?}\nprompts_dir = {:?}\n\n[model]\nsessions = 2\ningest_batch = 16\ningest_flush_secs = 1\n",
        corpus,
        dir.join("data"),
        common::models_dir(),
        repo.join("prompts"),
    );
    let path = dir.join("hoiluat.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn hoiluat(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoiluat"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("HOILUAT_CONFIG");
    command
}

/// Reads the child's stderr until a line contains `needle`; panics after `limit`.
fn wait_for_line(child: &mut Child, needle: &str, limit: Duration) -> Vec<String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }
    panic!(
        "no line with {needle:?} within {limit:?}; saw:\n{}",
        seen.join("\n")
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 request; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn killed_ingest_resumes_and_restart_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port);

    // 1. Start an ingest and kill it hard once some of it is durable. The writer flushes the
    // index every second here (`ingest_flush_secs = 1`) and logs each flush at debug level; a
    // fixed wait would race a fast machine, where the whole ingest takes seconds.
    let mut first = hoiluat(&config, &["ingest"])
        .env("RUST_LOG", "info,hoiluat::ingest=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = wait_for_line(&mut first, "index flushed", Duration::from_secs(180));
    let plan = lines
        .iter()
        .find(|line| line.contains("ingest plan"))
        .cloned()
        .unwrap_or_default();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        !dir.path().join("data/index/ingest-state.json").exists(),
        "an interrupted ingest must not look complete"
    );

    // 2. The next ingest opens the same index and embeds only what the first did not store.
    let output = hoiluat(&config, &["ingest"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Đã cập nhật chỉ mục"))
        .expect("ingest summary");
    let numbers: Vec<usize> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    // total, embedded, from the vector cache, refreshed, deleted, unchanged
    let (total, embedded, from_cache, unchanged) = (numbers[0], numbers[1], numbers[2], numbers[5]);
    assert!(
        unchanged > 0,
        "the killed run stored nothing durable: {summary} (plan: {plan})"
    );
    // The killed run's last batch may be in the vector cache but not in the index.
    assert!(embedded < total, "ingest started over: {summary}");
    assert_eq!(embedded + from_cache + unchanged, total, "{summary}");

    // 3. A restart serves again within 10 s, without re-embedding.
    let started = Instant::now();
    let mut server = hoiluat(&config, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = loop {
        if let Some((200, _)) = http(port, "GET", "/readyz", None) {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = server.kill();
            panic!("not ready within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let answer = http(
        port,
        "POST",
        "/v1/ask",
        Some(r#"{"question":"Người lao động được nghỉ hằng năm bao nhiêu ngày?"}"#),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready < Duration::from_secs(10), "restart took {ready:?}");
    let (status, body) = answer.expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("45-2019-qh14.dieu-113"), "{body}");
}

#[test]
fn a_first_start_logs_no_warning_an_operator_cannot_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // One small document: the first start ingests it, opening a new index as `make run` does.
    let config = write_config_with(
        dir.path(),
        port,
        &["ke-hoach-137-kh-ubnd-2025-quang-ngai.md"],
    );
    let mut child = hoiluat(&config, &["serve"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The application's own ready line, after start-up (and its ingest of the core) finished.
    let lines = wait_for_line(
        &mut child,
        "hoiluat::app::application: ready",
        Duration::from_secs(180),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let noise: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    assert!(noise.is_empty(), "a first start warned:\n{noise:#?}");
    assert!(
        lines
            .iter()
            .any(|line| line.contains("core indexed") || line.contains("index up to date")),
        "{lines:#?}"
    );
}
