//! Readable differences between what a cassette recorded and what a run sent.

use serde_json::Value;
use similar::TextDiff;

/// A unified diff of `recorded` against `now`, lines prefixed `-`/`+`, with a little
/// context; headed `cassette` / `this run`.
pub fn text_diff(recorded: &str, now: &str) -> String {
    labeled_diff(recorded, now, ("cassette", "this run"))
}

/// A unified diff of `old` against `new` under the headers `labels`.
pub fn labeled_diff(old: &str, new: &str, labels: (&str, &str)) -> String {
    let old = with_final_newline(old);
    let new = with_final_newline(new);
    TextDiff::from_lines(old.as_str(), new.as_str())
        .unified_diff()
        .context_radius(2)
        .header(labels.0, labels.1)
        .to_string()
}

/// [`text_diff`] of two JSON values, pretty-printed.
pub fn json_diff(recorded: Option<&Value>, now: Option<&Value>) -> String {
    let show = |v: Option<&Value>| match v {
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => "(none)".to_string(),
    };
    text_diff(&show(recorded), &show(now))
}

fn with_final_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_changed_line_shows_as_minus_and_plus_under_headers() {
        let diff = text_diff("keep\nold words\nkeep too", "keep\nnew words\nkeep too");
        assert_eq!(
            diff,
            "--- cassette\n+++ this run\n@@ -1,3 +1,3 @@\n keep\n-old words\n+new words\n keep too\n"
        );
    }

    #[test]
    fn json_values_are_compared_pretty_printed() {
        let diff = json_diff(Some(&json!({"a": 1})), Some(&json!({"a": 2})));
        assert!(diff.contains("-  \"a\": 1\n+  \"a\": 2\n"), "{diff}");
        assert!(json_diff(None, Some(&json!(1))).contains("-(none)\n+1\n"));
    }
}
