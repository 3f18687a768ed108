//! YAML text to a spanned [`Node`] tree, with saphyr-parser's event stream (it reports
//! the span of every scalar and collection, which serde_yaml does not).
//!
//! A syntax error stops the parse. Duplicate keys are collected and parsing goes on,
//! keeping the first occurrence, so that `validate` can report them with everything else.
//! Anchors, aliases and merge keys (`<<: *common`, `<<: [*a, *b]`) are resolved here; a
//! merged key keeps the span where it is written, so diagnostics point at the anchor.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan, Tag};

use super::diagnostic::Diagnostic;
use super::merge::merge;
use super::node::{Node, NodeKind};
use super::source::{SourceFile, Span};

/// Deepest nesting accepted; deeper documents are rejected before any recursion.
const MAX_DEPTH: usize = 128;
/// Most nodes accepted, aliases expanded (a guard against alias bombs).
const MAX_NODES: usize = 200_000;

/// The result of parsing: the tree, plus duplicate-key diagnostics.
#[derive(Debug)]
pub struct Parsed {
    /// The document's root.
    pub root: Node,
    /// One diagnostic per duplicated key.
    pub duplicates: Vec<Diagnostic>,
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'a> {
    file: &'a SourceFile,
    char_to_byte: Vec<usize>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    duplicates: Vec<Diagnostic>,
    /// Where a plain `<<` is written (a merge key; a quoted `'<<'` is an ordinary key).
    merge_keys: HashSet<usize>,
}

/// Parse `file` into one document. Errors are a single diagnostic: a syntax error.
pub fn parse(file: &SourceFile) -> Result<Parsed, Diagnostic> {
    let run = std::panic::catch_unwind(|| parse_inner(file));
    run.unwrap_or_else(|_| {
        Err(Diagnostic::new(
            Span::at(0),
            "the yaml parser failed on this file",
        ))
    })
}

fn parse_inner(file: &SourceFile) -> Result<Parsed, Diagnostic> {
    let mut char_to_byte: Vec<usize> = file.text.char_indices().map(|(i, _)| i).collect();
    char_to_byte.push(file.text.len());
    let mut builder = Builder {
        file,
        char_to_byte,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        nodes: 0,
        duplicates: Vec::new(),
        merge_keys: HashSet::new(),
    };
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(event) = parser.next_event() {
        match event {
            Ok((event, span)) => builder.event(event, span)?,
            Err(error) => {
                let at = builder.byte(error.marker().index());
                return Err(syntax_error(file, at, error.info()));
            }
        }
    }
    let root = builder.root.take().unwrap_or(Node {
        span: Span::at(0),
        kind: NodeKind::Null,
    });
    Ok(Parsed {
        root,
        duplicates: builder.duplicates,
    })
}

/// A syntax error at byte `at`. The scanner reports a tab where it gave up, often the
/// end of the line before; a tab in indentation is reported on the tab's own line.
fn syntax_error(file: &SourceFile, at: usize, info: &str) -> Diagnostic {
    if info.contains("tab") {
        if let Some(tab) = indentation_tab(file, file.line_index(at)) {
            return Diagnostic::new(Span::new(tab, tab + 1), "a tab in indentation")
                .with_help("yaml indents with spaces only; replace the tab with spaces");
        }
    }
    Diagnostic::new(Span::new(at, at + 1), format!("invalid yaml: {info}"))
}

/// The first tab in the leading whitespace of a line, from line `from` on (or, failing
/// that, before it).
fn indentation_tab(file: &SourceFile, from: usize) -> Option<usize> {
    let tab_in = |line: usize| {
        let range = file.line_range(line);
        let text = &file.text[range.clone()];
        let indent = text.len() - text.trim_start_matches([' ', '\t']).len();
        text[..indent].find('\t').map(|i| range.start + i)
    };
    (from..file.line_count())
        .chain((0..from).rev())
        .find_map(tab_in)
}

impl Builder<'_> {
    fn byte(&self, char_index: usize) -> usize {
        self.char_to_byte
            .get(char_index)
            .copied()
            .unwrap_or(self.file.text.len())
    }

    fn span(&self, span: YamlSpan) -> Span {
        Span::new(self.byte(span.start.index()), self.byte(span.end.index()))
    }

    fn event(&mut self, event: Event<'_>, span: YamlSpan) -> Result<(), Diagnostic> {
        let span = self.span(span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::new(
                        Span::new(span.start, span.start + 3),
                        "a workflow file holds one yaml document; remove this `---` and what follows",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if text == "<<" && style == ScalarStyle::Plain && tag.is_none() {
                    self.merge_keys.insert(span.start);
                }
                let kind = resolve_scalar(&text, style, tag.as_deref());
                self.finish(Node { span, kind }, anchor)?;
            }
            Event::SequenceStart(anchor, _) => self.open(Frame::Seq {
                start: span.start,
                anchor,
                items: Vec::new(),
            })?,
            Event::MappingStart(anchor, _) => self.open(Frame::Map {
                start: span.start,
                anchor,
                entries: Vec::new(),
                key: None,
            })?,
            Event::SequenceEnd | Event::MappingEnd => self.close(span)?,
            Event::Alias(id) => {
                let node =
                    self.anchors.get(&id).cloned().ok_or_else(|| {
                        Diagnostic::new(span, "alias refers to an unknown anchor")
                    })?;
                self.nodes += count(&node);
                self.finish(node, 0)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            let at = match &frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => *start,
            };
            return Err(Diagnostic::new(
                Span::new(at, at + 1),
                format!("the document nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self, end: Span) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (node, anchor) = match frame {
            Frame::Seq {
                start,
                anchor,
                items,
            } => (
                Node {
                    span: Span::new(start, end.end),
                    kind: NodeKind::Seq(items),
                },
                anchor,
            ),
            Frame::Map {
                start,
                anchor,
                entries,
                ..
            } => {
                let entries = merge(entries, |k| self.is_merge_key(k))?;
                let entries = self.dedup(entries);
                (
                    Node {
                        span: Span::new(start, end.end),
                        kind: NodeKind::Map(entries),
                    },
                    anchor,
                )
            }
        };
        self.finish(node, anchor)
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::new(
                node.span,
                format!("the document has more than {MAX_NODES} values once aliases are expanded"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }

    fn is_merge_key(&self, key: &Node) -> bool {
        key.kind == NodeKind::Str("<<".into()) && self.merge_keys.contains(&key.span.start)
    }

    fn dedup(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        let in_steps = self.path_is_steps();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut kept = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let text = key.key_text();
            if let Some(first) = seen.get(&text) {
                let line = self.file.position(*first).line;
                let what = if in_steps { "step id" } else { "key" };
                self.duplicates.push(
                    Diagnostic::new(key.span, format!("duplicate {what} `{text}`")).with_help(
                        format!("`{text}` is first defined on line {line}; rename or remove one"),
                    ),
                );
                continue;
            }
            seen.insert(text, key.span.start);
            kept.push((key, value));
        }
        kept
    }

    /// True when the mapping being closed is the value of the top-level `steps` key.
    fn path_is_steps(&self) -> bool {
        matches!(
            self.stack.as_slice(),
            [Frame::Map { key: Some(k), .. }] if k.kind == NodeKind::Str("steps".into())
        )
    }
}

fn count(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// YAML 1.2 core schema: plain scalars may be null, booleans or numbers; the rest are strings.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeKind {
    let forced_string = tag.is_some_and(|t| t.suffix == "str");
    if style != ScalarStyle::Plain || forced_string {
        return NodeKind::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if let Some(kind) = resolve_int(text) {
        return kind;
    }
    if is_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    NodeKind::Str(text.to_string())
}

fn resolve_int(text: &str) -> Option<NodeKind> {
    let parsed = if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = text.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(match text.parse::<i64>() {
            Ok(i) => NodeKind::Int(i),
            Err(_) => NodeKind::Float(text.parse::<f64>().unwrap_or(f64::NAN)),
        });
    };
    parsed.map(NodeKind::Int)
}

fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole)
        && frac.is_none_or(digits)
        && (!whole.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        parse(&SourceFile::new("t.yaml", text)).unwrap().root
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let node = root("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 1.2.3\n");
        assert_eq!(
            node.to_json(),
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": null, "e": 1.5, "f": "1.2.3"})
        );
    }

    #[test]
    fn spans_cover_keys_and_values() {
        let file = SourceFile::new("t.yaml", "steps:\n  hello:\n    prompt: hi there\n");
        let node = parse(&file).unwrap().root;
        let (key, value) = node.entry("steps").unwrap().1.entry("hello").unwrap();
        assert_eq!(&file.text[key.span.start..key.span.end], "hello");
        let prompt = value.entry("prompt").unwrap().1;
        assert_eq!(&file.text[prompt.span.start..prompt.span.end], "hi there");
    }

    #[test]
    fn duplicate_step_ids_are_reported_and_parsing_goes_on() {
        let file = SourceFile::new("t.yaml", "steps:\n  a: {prompt: x}\n  a: {prompt: y}\n");
        let parsed = parse(&file).unwrap();
        assert_eq!(parsed.duplicates.len(), 1);
        assert_eq!(parsed.duplicates[0].message, "duplicate step id `a`");
        assert_eq!(file.position(parsed.duplicates[0].span.start).line, 3);
    }

    #[test]
    fn merge_keys_fill_what_the_mapping_does_not_set() {
        let text = "common: &c { sandbox: read-only, retries: 2 }\nmore: &m { retries: 5, timeout: 1m }\nstep:\n  <<: [*c, *m]\n  retries: 3\n  prompt: p\n";
        let file = SourceFile::new("t.yaml", text);
        let parsed = parse(&file).unwrap();
        assert!(parsed.duplicates.is_empty());
        let step = parsed.root.entry("step").unwrap().1;
        assert_eq!(
            step.to_json(),
            serde_json::json!({"sandbox": "read-only", "timeout": "1m", "retries": 3, "prompt": "p"})
        );
        let (key, _) = step.entry("sandbox").unwrap();
        assert_eq!(
            file.position(key.span.start).line,
            1,
            "the merged key keeps its span"
        );
        let quoted = root("a: { '<<': x }\n");
        assert_eq!(quoted.to_json(), serde_json::json!({"a": {"<<": "x"}}));
        let error = parse(&SourceFile::new("t.yaml", "a:\n  <<: text\n")).unwrap_err();
        assert!(
            error.message.starts_with("`<<` merges a mapping"),
            "{}",
            error.message
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let file = SourceFile::new("t.yaml", "a: [1, 2\nb: 3\n");
        let error = parse(&file).unwrap_err();
        assert!(
            error.message.starts_with("invalid yaml: "),
            "{}",
            error.message
        );
    }
}
