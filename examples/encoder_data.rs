//! Writes what training a query encoder needs (experiment helper, `eval/README.md` round 12):
//! every indexed chunk's article id and stored passage vector, and, for each question of the
//! ranker's dumps, the text `ask` embeds for it. Run from the repository root after `hoiluat
//! ingest`, with nothing else holding the index:
//!
//! ```sh
//! cargo run --release --example encoder_data -- data/encoder/chunks data/ranker/pools.jsonl
//! ```
//!
//! writes `data/encoder/chunks.ids` (one article id a line), `chunks.f32` (little-endian
//! float32, 384 a chunk, in the same order; the index's own vectors, `VectorStore::export`) and `chunks.questions.jsonl` (`set`, `id`,
//! `question`, `embedded`).

use std::collections::HashSet;
use std::io::{BufRead, Write};

use hoiluat::app::{self, IndexMode};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: encoder_data OUT_PREFIX DUMP.jsonl..."))?;
    let dumps: Vec<String> = args.collect();
    let config = hoiluat::config::Config::load(None).map_err(anyhow::Error::msg)?;
    let started = app::start(&config, IndexMode::IngestIfNeeded, false)?;
    if let Some(parent) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(parent)?;
    }
    // The vectors the dense channel searches, as the index stores them.
    let mut ids = std::io::BufWriter::new(std::fs::File::create(format!("{out}.ids"))?);
    let mut vectors = std::io::BufWriter::new(std::fs::File::create(format!("{out}.f32"))?);
    let mut count = 0;
    started.store.export(1000, &mut |records| {
        let mut write = || -> std::io::Result<()> {
            for record in &records {
                writeln!(ids, "{}", record.payload.article_id)?;
                for x in &record.dense {
                    vectors.write_all(&x.to_le_bytes())?;
                }
            }
            Ok(())
        };
        write().map_err(|e| hoiluat::store::StoreError::Engine(format!("writing {out}: {e}")))?;
        count += records.len();
        Ok(())
    })?;
    ids.flush()?;
    vectors.flush()?;
    eprintln!("{count} chunks");

    let mut questions =
        std::io::BufWriter::new(std::fs::File::create(format!("{out}.questions.jsonl"))?);
    let mut seen = HashSet::new();
    for dump in &dumps {
        // Question files (eval/questions/README.md) carry no set: name it by the file.
        let file_set = std::path::Path::new(dump)
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        for line in std::io::BufReader::new(std::fs::File::open(dump)?).lines() {
            let row: serde_json::Value = serde_json::from_str(&line?)?;
            let (set, id, question) = (
                row["set"].as_str().unwrap_or(&file_set).to_owned(),
                row["id"].as_str().unwrap_or_default().to_owned(),
                row["question"].as_str().unwrap_or_default().to_owned(),
            );
            if !seen.insert((set.clone(), id.clone())) {
                continue;
            }
            let embedded = started.assistant.embedded_text(&question)?;
            serde_json::to_writer(
                &mut questions,
                &serde_json::json!({"set": set, "id": id, "question": question, "embedded": embedded}),
            )?;
            questions.write_all(b"\n")?;
        }
    }
    Ok(())
}
