//! `hoiluat bench`: a load generator for `POST /v1/ask`, run as its own process against a running
//! service, so that what it measures is what a client sees over HTTP.
//!
//! Closed loop: `concurrency` workers, each with one keep-alive connection, send the next distinct
//! question as soon as the previous answer arrives, for a fixed duration after a warm-up. The
//! client is a minimal HTTP/1.1 writer/reader on `std::net` (one request in flight per
//! connection; the service always answers with a Content-Length), which keeps the load generator's
//! own cost small and predictable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::eval::metrics::Latency;

/// Warm-up of each level before it is measured.
const WARM_UP: Duration = Duration::from_secs(3);

/// What `hoiluat bench` measures.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Base URL of the service (plain `http://`).
    pub url: String,
    /// Question sets whose questions are sent (distinct questions, cycled).
    pub sets: Vec<PathBuf>,
    /// Concurrency levels, measured in order.
    pub levels: Vec<usize>,
    /// Seconds measured per level.
    pub seconds: u64,
    /// A label for the report (e.g. "answer cache off").
    pub label: String,
    /// The command line, for the report.
    pub command: String,
}

/// The results of every level, and their Markdown table.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub label: String,
    /// A Markdown section: the command, the date, the machine, one row per level.
    pub table: String,
    pub levels: Vec<LevelResult>,
}

/// Measures every level of `options` in turn; each level's row is printed to stderr as it is done.
pub fn run(options: &BenchOptions) -> anyhow::Result<BenchReport> {
    let authority = options
        .url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("--url must start with http://"))?
        .trim_end_matches('/');
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("cannot resolve {authority}"))?;
    let mut questions: Vec<String> = Vec::new();
    for set in &options.sets {
        for question in crate::eval::load_set(set)? {
            // Follow-ups need their conversation; the bench sends standalone questions only.
            if question.history.is_empty() && !questions.contains(&question.question) {
                questions.push(question.question);
            }
        }
    }
    let mut levels = Vec::new();
    let mut table = format!(
        "\n### {}\n\n- command: `hoiluat {}`\n- date: {}\n- machine (load generator and service share it): {}\n- {} distinct questions\n\n| concurrency | requests | errors | questions/s | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|---|---|\n",
        options.label,
        options.command,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine_description(),
        questions.len()
    );
    for &concurrency in &options.levels {
        let result = run_level(
            address,
            &questions,
            concurrency,
            WARM_UP,
            Duration::from_secs(options.seconds),
        )?;
        let row = table_row(&result);
        eprint!("{row}");
        table.push_str(&row);
        levels.push(result);
    }
    Ok(BenchReport {
        label: options.label.clone(),
        table,
        levels,
    })
}

/// One level as a row of the Markdown table.
fn table_row(result: &LevelResult) -> String {
    format!(
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
    )
}

impl BenchReport {
    /// Appends the table to the Markdown file `path`, and writes the results as JSON beside it
    /// (`<path stem>.<label>.json`).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(self.table.as_bytes())?;
        let json_path = path.with_extension(format!(
            "{}.json",
            self.label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
        ));
        std::fs::write(
            json_path,
            serde_json::to_string_pretty(
                &serde_json::json!({ "label": self.label, "levels": self.levels }),
            )?,
        )?;
        Ok(())
    }
}

/// "2 cores, <CPU model>; release build", for reports.
pub fn machine_description() -> String {
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

/// One load level's result.
#[derive(Debug, Clone, Serialize)]
pub struct LevelResult {
    pub concurrency: usize,
    pub requests: usize,
    pub errors: usize,
    /// Non-200 answers by status (e.g. 503 when the service sheds load).
    pub statuses: Vec<(u16, usize)>,
    pub seconds: f64,
    pub questions_per_second: f64,
    pub latency: Latency,
}

/// Runs one load level. `questions` are cycled through, each worker starting at its own offset so
/// that concurrent requests carry distinct questions.
pub fn run_level(
    address: SocketAddr,
    questions: &[String],
    concurrency: usize,
    warm_up: Duration,
    duration: Duration,
) -> anyhow::Result<LevelResult> {
    anyhow::ensure!(!questions.is_empty(), "no questions to send");
    let concurrency = concurrency.max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    let questions = Arc::new(questions.to_vec());

    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, measuring, stop, latencies, statuses, errors, questions) = (
            next.clone(),
            measuring.clone(),
            stop.clone(),
            latencies.clone(),
            statuses.clone(),
            errors.clone(),
            questions.clone(),
        );
        workers.push(std::thread::spawn(move || {
            let mut connection: Option<Connection> = None;
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let index = next.fetch_add(1, Ordering::Relaxed) % questions.len();
                let body = serde_json::json!({ "question": questions[index] }).to_string();
                let started = Instant::now();
                let outcome = match connection.as_mut() {
                    Some(c) => c.post("/v1/ask", &body),
                    None => Connection::open(address).and_then(|mut c| {
                        let r = c.post("/v1/ask", &body);
                        connection = Some(c);
                        r
                    }),
                };
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                let counted = measuring.load(Ordering::Relaxed);
                match outcome {
                    Ok(200) => {
                        if counted {
                            mine.push(elapsed);
                        }
                    }
                    Ok(status) => {
                        if counted {
                            *statuses.lock().unwrap().entry(status).or_default() += 1;
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        connection = None;
                        if counted {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    std::thread::sleep(warm_up);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(duration);
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let latencies = std::mem::take(&mut *latencies.lock().unwrap());
    let requests = latencies.len();
    let statuses: Vec<(u16, usize)> = statuses.lock().unwrap().clone().into_iter().collect();
    Ok(LevelResult {
        concurrency,
        requests,
        errors: errors.load(Ordering::Relaxed),
        statuses,
        seconds,
        questions_per_second: requests as f64 / seconds,
        latency: Latency::of(latencies),
    })
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Connection {
    fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            host: address.to_string(),
        })
    }

    /// Sends a JSON POST and reads the whole response; returns its status.
    fn post(&mut self, path: &str, body: &str) -> anyhow::Result<u16> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.writer.write_all(request.as_bytes())?;
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            anyhow::bail!("connection closed");
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("bad status line {status_line:?}"))?;
        let mut length = None;
        let mut close = false;
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                anyhow::bail!("connection closed in headers");
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse::<usize>().ok();
                } else if name == "connection" && value.trim().eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let length = length.ok_or_else(|| anyhow::anyhow!("response without Content-Length"))?;
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body)?;
        if close {
            anyhow::bail!("server closed the connection");
        }
        Ok(status)
    }
}
