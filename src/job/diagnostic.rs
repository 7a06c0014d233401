//! Problems found in a job file, as data: file, line, column, field, message and severity,
//! rendered for people (`FILE:LINE:COL: error: FIELD: MESSAGE`) and for programs (one JSON
//! object per line, the same fields).
//!
//! Owns the cap on how many problems one file reports ([`MAX_SHOWN`], then "... and N
//! more") and the line index that turns byte offsets into places in O(log n), so a file with
//! 300,000 broken entries costs linear time, not quadratic.

use std::fmt;

use serde_json::json;

/// The most problems shown for one file; the rest are counted in one closing line.
pub const MAX_SHOWN: usize = 20;

/// How bad a problem is: errors refuse the file, warnings only inform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in one file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// The field path, empty for the file as a whole.
    pub field: String,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    /// The machine-readable form: one JSON object with every field.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "file": self.file,
            "line": self.line,
            "column": self.col,
            "field": self.field,
            "message": self.message,
            "severity": self.severity.word(),
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, sev) = (&self.file, self.severity.word());
        write!(f, "{file}:{}:{}: {sev}: ", self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in a job file (never empty), at most [`MAX_SHOWN`] of them plus a
/// closing "... and N more" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobErrors(pub Vec<Diagnostic>);

impl JobErrors {
    /// Sorts `first` (the first problems in the file, of `total` found) by place, keeps
    /// [`MAX_SHOWN`] and counts the rest in one more diagnostic at the file's start.
    pub fn capped(mut first: Vec<Diagnostic>, total: usize, file: &str) -> JobErrors {
        first.sort_by_key(|d| (d.line, d.col));
        let mut all = first;
        if total > MAX_SHOWN {
            let more = total - MAX_SHOWN;
            all.truncate(MAX_SHOWN);
            all.push(Diagnostic {
                file: file.to_owned(),
                line: 1,
                col: 1,
                field: String::new(),
                message: format!(
                    "... and {more} more problems (the first {MAX_SHOWN} are shown; fix them and check again)"
                ),
                severity: Severity::Error,
            });
        }
        JobErrors(all)
    }

    /// One JSON object per line, in the order of the human form.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&d.to_json().to_string());
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for JobErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JobErrors {}

/// Byte offsets of line starts, built once per file.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_agrees_with_a_scan_from_the_start() {
        let text = "ab\ncdé\n\nxyz";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            if !text.is_char_boundary(offset) {
                continue;
            }
            let lc = crate::job::locate::line_col(text, offset);
            assert_eq!(index.line_col(offset), (lc.line, lc.col), "offset {offset}");
        }
    }

    fn diag(line: usize) -> Diagnostic {
        Diagnostic {
            file: "f.toml".into(),
            line,
            col: 1,
            field: "tags".into(),
            message: "m".into(),
            severity: Severity::Error,
        }
    }

    #[test]
    fn more_than_twenty_problems_end_in_one_counting_line() {
        let errors = JobErrors::capped((1..=25).rev().map(diag).collect(), 25, "f.toml");
        assert_eq!(errors.0.len(), MAX_SHOWN + 1);
        assert_eq!(errors.0[0].line, 1);
        assert!(errors.to_string().ends_with(
            "... and 5 more problems (the first 20 are shown; fix them and check again)"
        ));
        assert_eq!(errors.to_json_lines().lines().count(), 21);
    }
}
