//! How long the learned ranker takes to score a candidate pool, candidate by candidate
//! (`Ranker::score`) and tree by tree (`Ranker::scores`, what `ask` uses), on the pools saved in
//! `src/answer/ranker_check.json`. Run from the repository root:
//!
//! ```sh
//! cargo run --release --example ranker_speed
//! ```

use std::time::Instant;

use hoiluat::answer::ranker::Ranker;

fn main() {
    let ranker = Ranker::compiled_in()
        .expect("the compiled-in model is valid")
        .expect("a trained model is compiled in");
    let check: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string("src/answer/ranker_check.json")
            .expect("run from the repository root"),
    )
    .expect("check rows parse");
    let pools: Vec<Vec<Vec<f32>>> = check
        .iter()
        .map(|row| serde_json::from_value(row["features"].clone()).expect("features"))
        .collect();
    let candidates: usize = pools.iter().map(Vec::len).sum();
    let repetitions = 300;
    let time = |score_pool: &dyn Fn(&[Vec<f32>]) -> f64| {
        let mut best = f64::MAX;
        let mut checksum = 0.0;
        // The best of five rounds: the machine's other work only ever adds time.
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..repetitions {
                for pool in &pools {
                    checksum += score_pool(pool);
                }
            }
            let per_pool = start.elapsed().as_secs_f64() / (repetitions * pools.len()) as f64;
            best = best.min(per_pool);
        }
        (best * 1e6, checksum)
    };
    let (one_by_one, a) = time(&|pool| {
        pool.iter()
            .map(|features| ranker.score(features))
            .sum::<f64>()
    });
    let (tree_by_tree, b) = time(&|pool| {
        ranker
            .scores(pool.iter().map(Vec::as_slice))
            .iter()
            .sum::<f64>()
    });
    assert_eq!(a, b, "both orders give the same scores");
    println!(
        "{} pools, {:.1} candidates each: candidate by candidate {one_by_one:.1} µs a pool, \
         tree by tree {tree_by_tree:.1} µs a pool",
        pools.len(),
        candidates as f64 / pools.len() as f64,
    );
}
