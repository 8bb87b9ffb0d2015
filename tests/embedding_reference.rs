//! The converted ONNX graph, run through fastembed and ONNX Runtime exactly as the service runs
//! it, against an independent numpy forward pass over the original 4-bit weights
//! (`scripts/e5_reference.py`, which never touches ONNX).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use hoiluat::embed::{E5Embedder, Embedder, ModelPaths};

const QUERIES: &[&str] = &[
    "Nam nữ bao nhiêu tuổi thì được kết hôn?",
    "thu tuc dang ky ket hon can giay to gi",
    "Người lao động được nghỉ hằng năm bao nhiêu ngày?",
];
const PASSAGES: &[&str] = &[
    "Luật Hôn nhân và gia đình (52/2014/QH13)\nĐiều 8. Điều kiện kết hôn\n1. Nam, nữ kết hôn với nhau phải tuân theo các điều kiện sau đây:\na) Nam từ đủ 20 tuổi trở lên, nữ từ đủ 18 tuổi trở lên;",
    "Luật Hộ tịch (60/2014/QH13)\nĐiều 18. Thủ tục đăng ký kết hôn\n1. Hai bên nam, nữ nộp tờ khai đăng ký kết hôn theo mẫu quy định cho cơ quan đăng ký hộ tịch và cùng có mặt khi đăng ký kết hôn.",
];

/// Embeddings from the numpy reference for already-prefixed texts.
fn reference(texts: &[String]) -> Vec<Vec<f32>> {
    let repo = common::repo();
    let python = repo.join(".venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/provision.sh first (make test does it)"
    );
    let mut child = Command::new(python)
        .arg(repo.join("scripts/e5_reference.py"))
        .current_dir(&repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::json!({ "texts": texts }).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "e5_reference.py failed");
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    serde_json::from_value(parsed["embeddings"].clone()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
        * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

fn embed_all(embedder: &E5Embedder) -> Vec<Vec<f32>> {
    let mut vectors: Vec<Vec<f32>> = QUERIES
        .iter()
        .map(|q| embedder.embed_query(q).unwrap())
        .collect();
    let passages: Vec<String> = PASSAGES.iter().map(|p| p.to_string()).collect();
    vectors.extend(embedder.embed_passages(&passages).unwrap());
    vectors
}

#[test]
fn converted_graph_matches_an_independent_numpy_forward_pass() {
    let mut texts: Vec<String> = QUERIES.iter().map(|q| format!("query: {q}")).collect();
    texts.extend(PASSAGES.iter().map(|p| format!("passage: {p}")));
    let expected = reference(&texts);

    let mut paths = ModelPaths::under(&common::models_dir());
    paths.model_file = "model-fp32.onnx".into();
    let fp32 = E5Embedder::load(&paths, 1).unwrap();
    let served = E5Embedder::load(&ModelPaths::under(&common::models_dir()), 1).unwrap();
    assert_ne!(
        fp32.model_id(),
        served.model_id(),
        "model ids must tell graphs apart"
    );

    for (name, embedder, threshold) in [("fp32", &fp32, 0.999), ("int8 (served)", &served, 0.99)] {
        let actual = embed_all(embedder);
        for ((text, a), e) in texts.iter().zip(&actual).zip(&expected) {
            assert_eq!(a.len(), 384);
            let similarity = cosine(a, e);
            assert!(
                similarity >= threshold,
                "{name}: cosine {similarity} < {threshold} for {text:?}"
            );
        }
    }

    // The model still ranks: the marriage-age question is closer to Điều 8 than to Điều 18.
    let vectors = embed_all(&served);
    assert!(cosine(&vectors[0], &vectors[3]) > cosine(&vectors[0], &vectors[4]));
}
