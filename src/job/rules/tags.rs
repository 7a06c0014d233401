//! Tag rules: at most [`MAX_TAGS`] distinct tags of Bird's characters. A tag repeating an
//! earlier one after lower-casing is only a warning: Bird lower-cases tags and msgspool
//! sends each once (DESIGN §2). Linear in the number of tags (a set, not pairwise
//! comparison), so a file with 300,000 tags costs milliseconds.

use std::collections::HashSet;

use super::{Problem, Problems};
use crate::job::locate::FieldPath;
use crate::job::model::JobFile;

pub const MAX_TAGS: usize = 10;

pub(super) fn check(file: &JobFile, p: &mut Problems) {
    let Some(tags) = &file.tags else { return };
    let path = FieldPath::root().key("tags");
    let distinct: HashSet<String> = tags.iter().map(|t| t.to_lowercase()).collect();
    if distinct.len() > MAX_TAGS {
        p.add(
            path.clone(),
            format!(
                "at most {MAX_TAGS} distinct tags are allowed, found {}",
                distinct.len()
            ),
        );
    }
    for (i, tag) in tags.iter().enumerate() {
        let ok_chars = tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '));
        if tag.trim().is_empty() {
            p.add(path.index(i), "a tag cannot be empty or blank");
        } else if tag.chars().count() > 50 || !ok_chars {
            p.add(
                path.index(i),
                format!(
                    "tag {tag:?} must be 1 to 50 characters of letters, digits, '-', '_' and spaces"
                ),
            );
        }
    }
}

/// Problems that do not refuse the file: tags repeating an earlier one once lower-cased
/// (Bird lower-cases tags; msgspool sends each once).
pub fn warnings(file: &JobFile) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let path = FieldPath::root().key("tags");
    let mut seen = HashSet::new();
    for (i, tag) in file.tags.iter().flatten().enumerate() {
        if !seen.insert(tag.to_lowercase()) {
            p.add(
                path.index(i),
                format!(
                    "tag {tag:?} repeats an earlier tag (Bird lower-cases tags): it is sent once"
                ),
            );
        }
    }
    p.0
}
