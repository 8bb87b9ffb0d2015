//! Writes every chunk's article id and cached passage vector (experiment helper).
use std::io::Write;
fn main() -> anyhow::Result<()> {
    use hoiluat::embed::{E5Embedder, Embedder, ModelPaths, TokenCounter};
    let config = hoiluat::config::Config::load(None).map_err(anyhow::Error::msg)?;
    let embedder = E5Embedder::load(&ModelPaths::under(&config.paths.models_dir), 1)?;
    let cache = hoiluat::vector_cache::VectorCache::open(
        &config.paths.vector_cache_dir(),
        embedder.model_id(),
        embedder.dimension(),
    )?;
    let corpus = hoiluat::app::read_corpus(&config)?;
    let counter =
        TokenCounter::load(&ModelPaths::under(&config.paths.models_dir).tokenizer_file())?;
    let chunks = hoiluat::ingest::corpus_chunks(&corpus.documents, &|t| counter.passage_tokens(t));
    let out = std::env::args().nth(1).expect("out path");
    let mut ids = std::io::BufWriter::new(std::fs::File::create(format!("{out}.ids"))?);
    let mut vecs = std::io::BufWriter::new(std::fs::File::create(format!("{out}.f32"))?);
    let mut missing = 0;
    for chunk in &chunks {
        match cache.get(&hoiluat::vector_cache::key(&chunk.embed_text)) {
            Some(v) => {
                writeln!(ids, "{}", chunk.payload.article_id)?;
                for x in v {
                    vecs.write_all(&x.to_le_bytes())?;
                }
            }
            None => missing += 1,
        }
    }
    eprintln!("{} chunks, {missing} missing", chunks.len());
    Ok(())
}
