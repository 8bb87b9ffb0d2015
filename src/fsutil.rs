//! Small filesystem helpers.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` so that a reader (or a restart after a crash) sees either the old
/// content or the new, never a half-written file: write a sibling temp file, fsync, rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(".{file_name}.tmp"));
    {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}
