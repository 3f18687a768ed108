//! [`Redactor`]: masks every occurrence of a run's secret values, in the form they were
//! given and in the forms encoders give them (JSON-escaped, once and twice, with or without
//! `\u` escapes for non-ASCII characters), so that a secret inside a JSON string inside a
//! string (a tool call's `arguments`) is found too.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::AhoCorasick;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The fewest characters a secret may have. Masking a shorter value would garble unrelated
/// text (every `42`, every `abc` in a model's answer), so weft refuses such secrets.
pub const MIN_SECRET_CHARS: usize = 8;

/// The patterns could not be compiled (far more, or far longer, secrets than a run has).
#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the redaction of the secrets: {0}")]
pub struct RedactorError(String);

/// Masks a set of secret values. Cloning is cheap; the empty redactor changes nothing.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    matcher: AhoCorasick,
    /// Every form of every secret, as the matcher knows them.
    patterns: Vec<Vec<u8>>,
    longest: usize,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.as_ref().map_or(0, |i| i.patterns.len());
        write!(f, "Redactor({n} patterns)")
    }
}

impl Redactor {
    /// A redactor of `secrets`; empty values and the mask itself are left out (they
    /// reveal nothing).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, RedactorError> {
        let mut patterns: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|s| !s.as_ref().is_empty() && s.as_ref() != MASK)
            .flat_map(|s| forms(s.as_ref()))
            .map(String::into_bytes)
            .collect();
        patterns.sort();
        patterns.dedup();
        if patterns.is_empty() {
            return Ok(Self::default());
        }
        let matcher = AhoCorasick::new(&patterns).map_err(|e| RedactorError(e.to_string()))?;
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Self {
            inner: Some(Arc::new(Inner {
                matcher,
                patterns,
                longest,
            })),
        })
    }

    /// True when there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether `bytes` hold a secret (in any of the forms it is masked in).
    pub fn finds_in(&self, bytes: &[u8]) -> bool {
        !self.covered(bytes).is_empty()
    }

    /// `text` with every secret masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// `bytes` with every secret masked. A secret is valid UTF-8, so in valid UTF-8 a
    /// match always starts and ends on character boundaries.
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let covered = self.covered(bytes);
        if covered.is_empty() {
            return Cow::Borrowed(bytes);
        }
        Cow::Owned(mask(bytes, &covered))
    }

    /// The byte ranges of `bytes` that belong to a secret, overlapping and adjacent
    /// occurrences merged, in order.
    pub(super) fn covered(&self, bytes: &[u8]) -> Vec<Range<usize>> {
        let Some(inner) = &self.inner else {
            return Vec::new();
        };
        let mut found: Vec<Range<usize>> = inner
            .matcher
            .find_overlapping_iter(bytes)
            .map(|m| m.range())
            .collect();
        found.sort_by_key(|r| (r.start, r.end));
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
        for range in found {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    /// The length of the longest end of `bytes` that is the beginning (not the whole) of
    /// a secret: what text arriving in pieces must hold back until the next piece.
    pub(super) fn partial_suffix(&self, bytes: &[u8]) -> usize {
        let Some(inner) = &self.inner else { return 0 };
        let from = bytes.len().saturating_sub(inner.longest.saturating_sub(1));
        (from..bytes.len())
            .find(|&start| {
                let tail = &bytes[start..];
                inner
                    .patterns
                    .iter()
                    .any(|p| p.len() > tail.len() && p.starts_with(tail))
            })
            .map_or(0, |start| bytes.len() - start)
    }
}

/// `bytes` with each of the `covered` ranges replaced by the mask.
pub(super) fn mask(bytes: &[u8], covered: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for range in covered {
        out.extend_from_slice(&bytes[at..range.start]);
        out.extend_from_slice(MASK.as_bytes());
        at = range.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}

/// The forms `secret` takes: as it is, or inside shell quotes (`'it'\''s'`, `"say \"hi\""`,
/// as the agent's commands and weft's approval lines quote it); each of those also
/// JSON-escaped once and twice (a JSON document inside a JSON string), with non-ASCII
/// characters as they are or as `\u` escapes in lower or upper case hex.
fn forms(secret: &str) -> Vec<String> {
    let single = secret.replace('\'', r"'\''");
    let double: String = secret
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' | '$' | '`' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let mut layer = vec![secret.to_string(), single, double];
    layer.sort();
    layer.dedup();
    let mut all = layer.clone();
    for _ in 0..2 {
        let next: Vec<String> = layer
            .iter()
            .flat_map(|s| {
                [
                    json_escape(s),
                    ascii_escape(s, false),
                    ascii_escape(s, true),
                ]
            })
            .collect();
        all.extend(next.iter().cloned());
        layer = next;
    }
    all.sort();
    all.dedup();
    all
}

/// The inside of the JSON string of `text`, as serde_json writes it.
fn json_escape(text: &str) -> String {
    serde_json::to_string(text)
        .map(|quoted| quoted[1..quoted.len() - 1].to_string())
        .unwrap_or_default()
}

/// Like [`json_escape`], with every non-ASCII character as `\uXXXX` (UTF-16 surrogate
/// pairs beyond the BMP), as Python's `json.dumps` and others write it.
fn ascii_escape(text: &str, upper: bool) -> String {
    let mut out = String::new();
    for c in json_escape(text).chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{unit:04X}"));
            } else {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        Redactor::new(secrets).expect("redactor")
    }

    #[test]
    fn masks_every_occurrence_and_leaves_the_rest() {
        let r = redactor(&["hunter2-secret"]);
        assert_eq!(
            r.redact("a hunter2-secret and hunter2-secret."),
            "a *** and ***."
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_empty_redactor_changes_nothing() {
        let r = redactor(&["", MASK]);
        assert!(r.is_empty());
        assert_eq!(r.redact("*** and more"), "*** and more");
    }

    #[test]
    fn overlapping_secrets_are_masked_as_one_run() {
        let r = redactor(&["abcdefgh", "efghijkl"]);
        assert_eq!(r.redact("x abcdefghijkl y"), "x *** y");
        let nested = redactor(&["secret-value", "cret-val"]);
        assert_eq!(nested.redact("[secret-value] [cret-val]"), "[***] [***]");
        let adjacent = redactor(&["abcdefgh", "12345678"]);
        assert_eq!(adjacent.redact("abcdefgh12345678"), "***");
    }

    #[test]
    fn a_repeated_character_secret_leaves_no_tail() {
        let r = redactor(&["aaaaaaaa"]);
        assert_eq!(r.redact("aaaaaaaaaaa!"), "***!");
    }

    #[test]
    fn json_escaped_forms_are_masked() {
        let secret = "tok\"en\\Ü-42/\n";
        let r = redactor(&[secret]);
        let once = serde_json::to_string(secret).unwrap();
        assert_eq!(r.redact(&once), "\"***\"");
        let twice = serde_json::to_string(&serde_json::json!({"cmd": secret}).to_string()).unwrap();
        assert!(!r.redact(&twice).contains("en\\"), "{}", r.redact(&twice));
        assert_eq!(r.redact(&twice), "\"{\\\"cmd\\\":\\\"***\\\"}\"");
        assert_eq!(r.redact(r#"tok\"en\\\u00dc-42/\n"#), "***");
        assert_eq!(r.redact(r#"tok\"en\\\u00DC-42/\n"#), "***");
    }

    #[test]
    fn shell_quoted_forms_are_masked() {
        let r = redactor(&["it's \"$ecret\""]);
        assert_eq!(r.redact(r#"echo 'it'\''s "$ecret"'"#), "echo '***'");
        assert_eq!(r.redact(r#"echo "it's \"\$ecret\"""#), r#"echo "***""#);
        let args = serde_json::json!({ "cmd": r#"echo 'it'\''s "$ecret"'"# }).to_string();
        assert_eq!(r.redact(&args), r#"{"cmd":"echo '***'"}"#);
    }

    #[test]
    fn characters_beyond_the_bmp_are_escaped_as_surrogate_pairs() {
        let r = redactor(&["key-🔑-value"]);
        assert_eq!(r.redact(r"x key-\ud83d\udd11-value y"), "x *** y");
        assert_eq!(r.redact("x key-🔑-value y"), "x *** y");
    }

    #[test]
    fn partial_suffix_is_the_longest_beginning_of_a_secret() {
        let r = redactor(&["abcdefgh", "xyz12345"]);
        assert_eq!(r.partial_suffix(b"hello abc"), 3);
        assert_eq!(r.partial_suffix(b"hello abcdefg"), 7);
        assert_eq!(
            r.partial_suffix(b"hello abcdefgh"),
            0,
            "a whole match is not partial"
        );
        assert_eq!(r.partial_suffix(b"hello"), 0);
        assert_eq!(r.partial_suffix(b"x"), 1);
    }
}
