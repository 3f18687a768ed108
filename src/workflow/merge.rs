//! YAML merge keys: `<<: *common` (or `<<: [*a, *b]`) in a mapping adds the entries of
//! the named mappings that the mapping does not set itself, as the YAML 1.1 merge-key type
//! describes. The parser finds the keys; this is what they do.

use std::collections::HashSet;

use super::diagnostic::Diagnostic;
use super::node::{Node, NodeKind};

/// Resolves the merge keys of a mapping: each `<<` is replaced, where it stands, by the
/// entries of the mapping (or mappings, the first winning) it names that the mapping
/// does not set itself.
pub(super) fn merge(
    entries: Vec<(Node, Node)>,
    is_merge_key: impl Fn(&Node) -> bool,
) -> Result<Vec<(Node, Node)>, Diagnostic> {
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return Ok(entries);
    }
    let mut taken: HashSet<String> = entries
        .iter()
        .filter(|(k, _)| !is_merge_key(k))
        .map(|(k, _)| k.key_text())
        .collect();
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if !is_merge_key(&key) {
            out.push((key, value));
            continue;
        }
        for source in merge_sources(&value)? {
            let NodeKind::Map(merged) = source.kind else {
                continue;
            };
            for (k, v) in merged {
                if taken.insert(k.key_text()) {
                    out.push((k, v));
                }
            }
        }
    }
    Ok(out)
}

/// The mappings a merge key's value names: one mapping, or a list of them.
fn merge_sources(value: &Node) -> Result<Vec<Node>, Diagnostic> {
    let wrong = |node: &Node| {
        Diagnostic::new(
            node.span,
            format!(
                "`<<` merges a mapping or a list of mappings, found {}",
                node.describe()
            ),
        )
        .with_help("write `<<: *name` with an anchor on a mapping (`common: &name { ... }`)")
    };
    match &value.kind {
        NodeKind::Map(_) => Ok(vec![value.clone()]),
        NodeKind::Seq(items) => items
            .iter()
            .map(|item| match item.kind {
                NodeKind::Map(_) => Ok(item.clone()),
                _ => Err(wrong(item)),
            })
            .collect(),
        _ => Err(wrong(value)),
    }
}
