//! `hoiluat bench`: a load generator for `POST /v1/ask`, run as its own process against a running
//! service, so that what it measures is what a client sees over HTTP.
//!
//! Closed loop: `concurrency` workers, each with one keep-alive connection, send the next distinct
//! question as soon as the previous answer arrives, for a fixed duration after a warm-up. The
//! client is a minimal HTTP/1.1 writer/reader on `std::net` (one request in flight per
//! connection; the service always answers with a Content-Length), which keeps the load generator's
//! own cost small and predictable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::eval::metrics::Latency;

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
