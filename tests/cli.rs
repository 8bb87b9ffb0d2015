//! The `hoiluat corpus check` command: prints diagnostics with file and line, exits non-zero on
//! errors, and passes on the shipped corpus.

mod common;

use std::process::Command;

fn corpus_check(corpus_dir: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hoiluat"))
        .args(["corpus", "check"])
        .env("HOILUAT__PATHS__CORPUS_DIR", corpus_dir)
        .env_remove("HOILUAT_CONFIG")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn shipped_corpus_has_no_errors() {
    let (ok, stdout) = corpus_check(&common::repo().join("corpus"));
    assert!(ok, "{stdout}");
    assert!(stdout.contains(" 0 errors"), "{stdout}");
}

#[test]
fn errors_are_reported_with_file_and_line_and_fail_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::corpus_with(dir.path(), &["luat-35-2013-qh13.md"]);
    let bad = "---
so_hieu: 1/2026/QH15
ten: Luật thử
loai_van_ban: Luật
co_quan_ban_hanh: Quốc hội
ngay_ban_hanh: 2026-01-01
tinh_trang: con_hieu_luc
pham_vi: toan_quoc
linh_vuc: [thu]
nguon: test
hieu_luc_tu: 2026-07-01
---
Điều 1. Phạm vi
Nội dung.
Điều 1. Lặp lại
Nội dung.
";
    std::fs::write(good.join("bad.md"), bad).unwrap();
    let (ok, stdout) = corpus_check(&good);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("bad.md:11: error: unknown front-matter key `hieu_luc_tu`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bad.md:15: error: duplicate article number 1"),
        "{stdout}"
    );
    assert!(stdout.contains("1 files rejected"), "{stdout}");
}

/// The environment variables of the set-up guides' examples, exactly as written there (the shell
/// lines `HOILUAT__…=value \` before a `hoiluat` command), are accepted by the binary.
#[test]
fn the_documented_environment_variables_are_accepted_as_written() {
    let mut examples = 0;
    for guide in [
        "bots/zalo/README.md",
        "bots/telegram/README.md",
        "bots/web/README.md",
    ] {
        let text = std::fs::read_to_string(common::repo().join(guide)).unwrap();
        let mut assignments: Vec<(String, String)> = Vec::new();
        for line in text.lines().map(str::trim) {
            let assignment = line.trim_end_matches('\\').trim();
            match assignment.split_once('=') {
                Some((key, value)) if key.starts_with("HOILUAT__") && !key.contains(' ') => {
                    // The shell's quoting, as a shell would remove it.
                    let value = value.trim_matches('\'').trim_matches('"');
                    assignments.push((key.to_owned(), value.to_owned()));
                }
                _ if line.starts_with("hoiluat ") && !assignments.is_empty() => {
                    examples += 1;
                    let dir = tempfile::tempdir().unwrap();
                    let output = Command::new(env!("CARGO_BIN_EXE_hoiluat"))
                        .args(["staff", "list"])
                        .envs(assignments.drain(..))
                        .env("HOILUAT__PATHS__DATA_DIR", dir.path())
                        .env_remove("HOILUAT_CONFIG")
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    assert!(output.status.success(), "{guide}: {line}: {stderr}");
                }
                _ => assignments.clear(),
            }
        }
    }
    assert!(examples >= 1, "no example found in the guides");
}

/// `hoiluat directory import`: a file with a bad row changes nothing and names the row; a good
/// file replaces the directory.
#[test]
fn the_directory_is_imported_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("h.sqlite3");
    let import = |csv: &str| {
        let file = dir.path().join("danh-ba.csv");
        std::fs::write(&file, csv).unwrap();
        Command::new(env!("CARGO_BIN_EXE_hoiluat"))
            .args(["directory", "import"])
            .arg(&file)
            .env("HOILUAT__DATABASE__PATH", &database)
            .env_remove("HOILUAT_CONFIG")
            .output()
            .unwrap()
    };
    let bad = import("xa_phuong,vai_tro,ho_ten\nXã Bình Sơn,hoa_giai_vien,\n");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("Dòng 2: thiếu họ tên"), "{stderr}");
    let good = import(
        "xa_phuong,vai_tro,ho_ten\nXã Bình Sơn,hoa_giai_vien,Tổ hòa giải thôn 1\n,so_tu_phap,Sở Tư pháp\n",
    );
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("directory replaced: 2 entries"));
    let db = hoiluat::db::Db::open(&database).unwrap();
    let rows: i64 = db
        .call_blocking(|c| c.query_row("SELECT count(*) FROM directory_entries", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(rows, 2);
}
