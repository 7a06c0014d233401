//! Where a field stands in a job file's text.
//!
//! Rules speak in field paths (`body.text.actions[3]`); people need `FILE:LINE:COL`. This
//! module parses the text a second time with toml's span-keeping parser and maps a path to
//! the place of its key (or of the deepest part of the path that exists), and a byte span
//! from a serde error back to the field path it falls in. It trusts nothing about the text:
//! when it cannot find a place it says so with `None` and callers fall back to line 1.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a path into a job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path to a field, written the way people read it: `body.list.items[2].actions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path with one more key.
    pub fn key(&self, name: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(name.to_owned()));
        Self(segs)
    }

    /// This path with one more array index.
    pub fn index(&self, i: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(i));
        Self(segs)
    }

    /// Builds a path from dotted text such as `receiver.contacts` (no indexes).
    pub fn parse_dotted(text: &str) -> Self {
        Self(
            text.split('.')
                .filter(|s| !s.is_empty())
                .map(|s| Seg::Key(s.to_owned()))
                .collect(),
        )
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if first => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// Converts a byte offset in `text` to a 1-based line and column (columns count characters).
pub fn line_col(text: &str, offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    LineCol { line, col }
}

/// The span-keeping parse of a job file, for looking up places.
pub struct SourceMap<'a> {
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> SourceMap<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            root: DeTable::parse(text).ok(),
        }
    }

    /// The byte span of the key at `path`, or of the deepest existing part of it.
    pub fn span_of(&self, path: &FieldPath) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut table: &DeTable = root.get_ref();
        let mut array: Option<&[Spanned<DeValue>]> = None;
        let mut best: Option<Range<usize>> = None;
        for seg in &path.0 {
            let value = match (seg, array) {
                (Seg::Key(name), None) => {
                    let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref() == name) else {
                        return best;
                    };
                    best = Some(key.span());
                    value
                }
                (Seg::Index(i), Some(items)) => {
                    let Some(item) = items.get(*i) else {
                        return best;
                    };
                    best = Some(item.span());
                    item
                }
                _ => return best,
            };
            match value.get_ref() {
                DeValue::Table(t) => {
                    table = t;
                    array = None;
                }
                DeValue::Array(a) => array = Some(a.as_ref()),
                _ => array = None,
            }
        }
        best
    }

    /// The path of the deepest key whose key or value span contains `offset`.
    pub fn path_at(&self, offset: usize) -> FieldPath {
        let mut path = FieldPath::root();
        if let Some(root) = self.root.as_ref() {
            descend_table(root.get_ref(), offset, &mut path);
        }
        path
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

fn descend_table(table: &DeTable, offset: usize, path: &mut FieldPath) {
    for (key, value) in table.iter() {
        if contains(&key.span(), offset) {
            path.0.push(Seg::Key(key.get_ref().to_string()));
            return;
        }
        if contains(&value.span(), offset) {
            path.0.push(Seg::Key(key.get_ref().to_string()));
            descend_value(value.get_ref(), offset, path);
            return;
        }
    }
    // Tables written as `[header]` sections have value spans that do not cover their
    // keys; search inside them too.
    for (key, value) in table.iter() {
        let before = path.0.len();
        path.0.push(Seg::Key(key.get_ref().to_string()));
        descend_value(value.get_ref(), offset, path);
        if path.0.len() > before + 1 {
            return;
        }
        path.0.truncate(before);
    }
}

fn descend_value(value: &DeValue, offset: usize, path: &mut FieldPath) {
    match value {
        DeValue::Table(t) => descend_table(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let before = path.0.len();
                path.0.push(Seg::Index(i));
                if contains(&item.span(), offset) {
                    descend_value(item.get_ref(), offset, path);
                    return;
                }
                descend_value(item.get_ref(), offset, path);
                if path.0.len() > before + 1 {
                    return;
                }
                path.0.truncate(before);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "id = \"a\"\ntags = [\"x\"]\n\n[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\n\n[body]\ntype = \"text\"\ntext.text = \"hi\"\n";

    #[test]
    fn a_nested_key_is_found_on_its_own_line() {
        let map = SourceMap::new(TEXT);
        let path = FieldPath::root()
            .key("receiver")
            .key("contacts")
            .index(0)
            .key("identifierKey");
        let span = map.span_of(&path).expect("found");
        assert_eq!(line_col(TEXT, span.start).line, 5);
        let dotted = FieldPath::parse_dotted("body.text.text");
        assert_eq!(
            line_col(TEXT, map.span_of(&dotted).expect("found").start).line,
            9
        );
    }

    #[test]
    fn a_missing_field_points_at_its_deepest_existing_parent() {
        let map = SourceMap::new(TEXT);
        let span = map
            .span_of(&FieldPath::parse_dotted("body.image.images"))
            .expect("parent found");
        assert_eq!(line_col(TEXT, span.start).line, 7);
    }

    #[test]
    fn an_offset_maps_back_to_its_field_path() {
        let map = SourceMap::new(TEXT);
        let offset = TEXT.find("identifierKey").expect("in text");
        assert_eq!(
            map.path_at(offset).to_string(),
            "receiver.contacts[0].identifierKey"
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 4), LineCol { line: 2, col: 2 });
        assert_eq!(line_col("", 0), LineCol { line: 1, col: 1 });
    }
}
