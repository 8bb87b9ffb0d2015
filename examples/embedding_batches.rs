//! Passages embedded one at a time (what `E5Embedder` does) against batches of 16 (what it did
//! before), on every 16th chunk of the curated core: time, agreement with the float32 model, and
//! whether a passage's vector depends on its batch mates. The sessions are fastembed's, made as
//! `E5Embedder` makes them, so that both ways can run side by side. Run from the repository root after
//! `scripts/provision.sh`:
//!
//! ```sh
//! cargo run --release --example embedding_batches
//! ```

use std::time::Instant;

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use hoiluat::config::Config;
use hoiluat::embed::ModelPaths;

/// A session of `graph` with one intra-op thread, as `E5Embedder` makes it.
fn session(
    paths: &ModelPaths,
    graph: &str,
    environment: &ort::environment::Environment,
) -> TextEmbedding {
    let read = |name: &str| std::fs::read(paths.model_dir.join(name)).expect(name);
    let model = UserDefinedEmbeddingModel::new(
        read(graph),
        TokenizerFiles {
            tokenizer_file: read("tokenizer.json"),
            config_file: read("config.json"),
            special_tokens_map_file: read("special_tokens_map.json"),
            tokenizer_config_file: read("tokenizer_config.json"),
        },
    )
    .with_pooling(Pooling::Mean);
    let options = InitOptionsUserDefined::new()
        .with_environment(environment.clone())
        .with_max_length(hoiluat::embed::MAX_TOKENS)
        .with_intra_threads(1);
    TextEmbedding::try_new_from_user_defined(model, options).expect("the model loads")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn summary(name: &str, a: &[Vec<f32>], b: &[Vec<f32>]) {
    let mut c: Vec<f32> = a.iter().zip(b).map(|(x, y)| cosine(x, y)).collect();
    c.sort_by(f32::total_cmp);
    let mean = c.iter().sum::<f32>() / c.len() as f32;
    println!(
        "{name}: cosine mean {mean:.5}, min {:.5}, 10th percentile {:.5}",
        c[0],
        c[c.len() / 10]
    );
}

fn main() {
    let config = Config::load(None).expect("default configuration");
    let mut texts: Vec<String> = hoiluat::app::core_chunks(&config)
        .expect("the corpus loads")
        .iter()
        .step_by(16)
        .map(|chunk| format!("passage: {}", chunk.embed_text))
        .collect();
    // Ingest batches passages of similar length, so that little padding is computed.
    texts.sort_by_key(String::len);
    let paths = ModelPaths::under(&config.paths.models_dir);
    let library = hoiluat::embed::find_runtime_library(&paths.runtime_dir).expect("provisioned");
    let environment = ort::init_from(&library)
        .expect("ONNX Runtime loads")
        .with_name("embedding_batches")
        .build()
        .expect("ONNX Runtime starts");
    // One session each, so that the two ways are timed on one core alike.
    let mut unbatched = session(&paths, &paths.model_file, &environment);
    let mut batched = session(&paths, &paths.model_file, &environment);
    let mut fp32 = session(&paths, "model-fp32.onnx", &environment);
    let one_at_a_time = |session: &mut TextEmbedding, texts: &[String]| {
        session.embed(texts, Some(1)).expect("embeds")
    };
    one_at_a_time(&mut unbatched, &texts[..4]);

    let mut alone = Vec::new();
    let mut in_batches = Vec::new();
    let (mut alone_s, mut batches_s) = (0.0, 0.0);
    // Alternate the two ways a batch at a time, so that the machine's other work falls on both.
    for texts in texts.chunks(16) {
        let start = Instant::now();
        alone.extend(one_at_a_time(&mut unbatched, texts));
        alone_s += start.elapsed().as_secs_f64();
        let start = Instant::now();
        in_batches.extend(batched.embed(texts, Some(16)).expect("embeds"));
        batches_s += start.elapsed().as_secs_f64();
    }
    // The same passages in other batches: shifted by 8.
    let mut shifted = in_batches[..8].to_vec();
    for part in texts[8..].chunks(16) {
        shifted.extend(batched.embed(part, Some(16)).expect("embeds"));
    }
    let reference = one_at_a_time(&mut fp32, &texts);
    let again = one_at_a_time(&mut unbatched, &texts);

    println!(
        "{} core chunks, one session, one thread: one at a time {alone_s:.1} s \
         ({:.1} passages/s), batches of 16 {batches_s:.1} s ({:.1} passages/s)",
        texts.len(),
        texts.len() as f64 / alone_s,
        texts.len() as f64 / batches_s
    );
    summary("one at a time vs float32", &alone, &reference);
    summary("batches of 16 vs float32", &in_batches, &reference);
    summary(
        "batches of 16 vs the same in other batches",
        &in_batches[8..],
        &shifted[8..],
    );
    println!(
        "one at a time, embedded twice: {} of {} vectors identical",
        alone.iter().zip(&again).filter(|(a, b)| a == b).count(),
        alone.len()
    );
}
