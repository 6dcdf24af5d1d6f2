//! Generated sections of Markdown files: the text between a start and an end marker line is
//! replaced by `cargo xtask docs`, and checked by tests to be up to date.

use std::path::Path;

/// `text` with the part between `start` and `end` replaced by `body` (both markers kept, the
/// body on the lines between them); `None` when a marker is missing.
pub fn replaced(text: &str, (start, end): (&str, &str), body: &str) -> Option<String> {
    let a = text.find(start)?;
    let b = text[a..].find(end)? + a;
    Some(format!("{}{start}\n{body}\n{}", &text[..a], &text[b..]))
}

/// Replaces the marked section of the file at `path` with `body`.
pub fn update(path: &Path, markers: (&str, &str), body: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let updated = replaced(&text, markers, body)
        .ok_or_else(|| format!("{}: markers `{}` missing", path.display(), markers.0))?;
    std::fs::write(path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: updated `{}` in {}", markers.0, path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_between_markers_only() {
        let text = "a\n<!-- s -->\nold\n<!-- /s -->\nb\n";
        let out = replaced(text, ("<!-- s -->", "<!-- /s -->"), "new");
        assert_eq!(out.as_deref(), Some("a\n<!-- s -->\nnew\n<!-- /s -->\nb\n"));
        assert_eq!(
            replaced("no markers", ("<!-- s -->", "<!-- /s -->"), "x"),
            None
        );
    }
}
