//! From template offsets to file offsets. A template is the parsed value of a YAML scalar
//! (plain, single- or double-quoted, literal `|` or folded `>`), whose text differs from
//! the file's by quotes, escapes, indentation and folded line breaks. [`ScalarMap`] aligns
//! the value with the scalar's source once, so every diagnostic lands on its line:column.

use std::ops::Range;

use crate::workflow::{SourceFile, Span};

/// How far ahead in the source a character of the value is looked for.
const WINDOW: usize = 512;

/// The file offset of every byte of a scalar's value.
#[derive(Debug, Clone)]
pub struct ScalarMap {
    /// For each byte offset of the value, and one past its end: the file offset.
    offsets: Vec<usize>,
}

impl ScalarMap {
    /// Align `value` with the scalar written at `span` of `file`.
    pub fn new(file: &SourceFile, span: Span, value: &str) -> Self {
        let start = file.clamp(span.start);
        let raw = &file.text[start..file.clamp(span.end).max(start)];
        let tokens = tokens(raw, start);
        let mut offsets = vec![start; value.len() + 1];
        let mut next = 0;
        let mut last = start;
        for (at, c) in value.char_indices() {
            let found = tokens
                .iter()
                .skip(next)
                .take(WINDOW)
                .position(|&(_, t)| matches(c, t));
            let file_at = match found {
                Some(k) => {
                    next += k + 1;
                    tokens[next - 1].0
                }
                None => tokens.get(next).map_or(last, |t| t.0),
            };
            for (k, slot) in offsets[at..at + c.len_utf8()].iter_mut().enumerate() {
                *slot = file_at + k;
            }
            last = file_at + c.len_utf8();
        }
        offsets[value.len()] = last;
        ScalarMap { offsets }
    }

    /// The file span of the value's byte range `range`.
    pub fn span(&self, range: Range<usize>) -> Span {
        let max = self.offsets.len() - 1;
        let start = range.start.min(max);
        let end = range.end.clamp(start, max);
        let from = self.offsets[start];
        let to = if end > start {
            self.offsets[end - 1] + 1
        } else {
            from
        };
        Span::new(from, to.max(from))
    }
}

/// Whether value character `c` can come from source character `t`: the same, or a line
/// break that folding turned into a space.
fn matches(c: char, t: char) -> bool {
    c == t || (c == ' ' && t == '\n')
}

/// The source's characters with their file offsets, escapes decoded, block scalar
/// headers and quotes dropped.
fn tokens(raw: &str, base: usize) -> Vec<(usize, char)> {
    let (body, skip) = match raw.chars().next() {
        Some('|' | '>') => match raw.find('\n') {
            Some(i) => (&raw[i + 1..], i + 1),
            None => ("", raw.len()),
        },
        Some('"') => return double_quoted(&raw[1..], base + 1),
        Some('\'') => return single_quoted(&raw[1..], base + 1),
        _ => (raw, 0),
    };
    body.char_indices()
        .map(|(i, c)| (base + skip + i, c))
        .collect()
}

fn single_quoted(body: &str, base: usize) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
            chars.next();
        }
        out.push((base + i, c));
    }
    out
}

fn double_quoted(body: &str, base: usize) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push((base + i, c));
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let decoded = match e {
            'n' => Some('\n'),
            't' | '\t' => Some('\t'),
            'r' => Some('\r'),
            '0' => Some('\0'),
            '\n' => None,
            'x' | 'u' | 'U' => {
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..digits)
                    .filter_map(|_| chars.next().map(|x| x.1))
                    .collect();
                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
            }
            other => Some(other),
        };
        out.extend(decoded.map(|d| (base + i, d)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1-based line:column where `needle` of the value lands in the file.
    fn at(yaml: &str, value: &str, needle: &str) -> (usize, usize) {
        let file = SourceFile::new("w.yaml", yaml);
        let start = yaml.find(": ").unwrap() + 2;
        let map = ScalarMap::new(&file, Span::new(start, yaml.trim_end().len()), value);
        let i = value.find(needle).unwrap();
        let span = map.span(i..i + needle.len());
        assert_eq!(&yaml[span.start..span.end], needle, "{yaml:?}");
        let p = file.position(span.start);
        (p.line, p.column)
    }

    #[test]
    fn plain_and_quoted_scalars() {
        assert_eq!(at("p: a {{ x.y }}\n", "a {{ x.y }}", "x.y"), (1, 9));
        let dq = "p: \"say \\\"hi\\\"\\n{{ x.y }}\"\n";
        assert_eq!(at(dq, "say \"hi\"\n{{ x.y }}", "x.y"), (1, 20));
        let sq = "p: 'it''s {{ x.y }}'\n";
        assert_eq!(at(sq, "it's {{ x.y }}", "x.y"), (1, 14));
    }

    #[test]
    fn block_scalars_literal_and_folded() {
        let literal = "p: |\n  one\n  two {{ x.y }}\n";
        assert_eq!(at(literal, "one\ntwo {{ x.y }}\n", "x.y"), (3, 10));
        let folded = "p: >-\n  one\n  two\n    three {{ x.y }}\n";
        assert_eq!(at(folded, "one two\n  three {{ x.y }}", "x.y"), (4, 14));
        let plain = "p: one\n  two {{ x.y }}\n";
        assert_eq!(at(plain, "one two {{ x.y }}", "x.y"), (2, 10));
    }
}
