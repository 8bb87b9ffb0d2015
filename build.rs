//! Tells the tests whether the shared data sets sit next to the checkout (`../shared/data`). Tests
//! that read them are marked `#[cfg_attr(not(shared_data), ignore = "…")]`, so a clone without
//! them reports those tests as ignored instead of failing. The product never reads the shared data.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_data)");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let shared = std::path::Path::new(&manifest_dir).join("../shared/data");
    println!("cargo::rerun-if-changed={}", shared.display());
    if shared.join("phapdien/phapdien_dieu.jsonl").exists() {
        println!("cargo::rustc-cfg=shared_data");
    }
}
