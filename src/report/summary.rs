//! The summary table at the end of a run, and the column layout other tables share.

use super::color::Colors;
use crate::engine::StepRecord;
use crate::engine::agent::Usage;
use crate::vocab::format_duration;

/// Lays out `rows` (the first is the header) in columns two spaces apart; columns listed
/// in `right` are right-aligned. Cells may carry ANSI colour: widths count visible text.
pub fn align(rows: &[Vec<String>], right: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| visible_width(cell))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c].saturating_sub(visible_width(cell)));
            let last = c + 1 == row.len();
            match (right.contains(&c), last) {
                (true, _) => line.push_str(&format!("{pad}{cell}")),
                (false, true) => line.push_str(cell),
                (false, false) => line.push_str(&format!("{cell}{pad}")),
            }
            if !last {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// A duration for people: `850ms`, `12.3s`, `4m05s`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format_duration(std::time::Duration::from_millis(ms)),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

/// Token totals for people: `45` or `1,234,567`.
pub fn tokens(usage: &Usage) -> String {
    let digits = usage.total_tokens.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The end-of-run table: step, status, duration, attempts, tokens, and a total line with
/// the session's wall-clock time. A step that `uses` a workflow shows its steps' tokens,
/// which the total counts once.
pub fn table(steps: &[StepRecord], wall_ms: u64, colors: Colors) -> String {
    let calls = |id: &str| {
        let prefix = format!("{id}/");
        steps.iter().any(|o| o.id.starts_with(&prefix))
    };
    let mut rows = vec![
        ["step", "status", "duration", "attempts", "tokens"]
            .iter()
            .map(|h| colors.bold(h))
            .collect::<Vec<_>>(),
    ];
    let mut total = Usage::default();
    for s in steps {
        if !calls(&s.id) {
            total.add(&s.usage);
        }
        let status = if s.reused {
            format!("{} (kept)", s.status.as_str())
        } else if s.cached {
            format!("{} (cached)", s.status.as_str())
        } else {
            s.status.as_str().to_string()
        };
        rows.push(vec![
            s.id.clone(),
            colors.status(s.status, &status),
            duration(s.duration_ms),
            s.attempts.to_string(),
            tokens(&s.usage),
        ]);
    }
    rows.push(vec![
        "total".into(),
        String::new(),
        duration(wall_ms),
        String::new(),
        tokens(&total),
    ]);
    align(&rows, &[2, 3, 4])
}

/// `cache: 3 steps served from the cache, 1,234 tokens saved` when any result was
/// served (a fan-out's elements count in the tokens even when only some were).
pub fn cache_line(steps: &[StepRecord]) -> Option<String> {
    let served = steps.iter().filter(|s| s.cached).count();
    let mut saved = Usage::default();
    for s in steps {
        if let Some(usage) = &s.saved {
            saved.add(usage);
        }
    }
    if served == 0 && saved == Usage::default() {
        return None;
    }
    let noun = if served == 1 { "step" } else { "steps" };
    Some(format!(
        "cache: {served} {noun} served from the cache, {} tokens saved",
        tokens(&saved)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_visible_width() {
        let rows = vec![
            vec!["a".to_string(), "\x1b[32mok\x1b[0m".to_string(), "1".into()],
            vec!["long".to_string(), "failed".to_string(), "100".into()],
        ];
        let text = align(&rows, &[2]);
        assert_eq!(
            text,
            "a     \x1b[32mok\x1b[0m        1\nlong  failed  100\n"
        );
    }

    #[test]
    fn durations_and_tokens_read_well() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(12_345), "12.3s");
        assert_eq!(duration(245_000), "4m05s");
        let usage = Usage {
            total_tokens: 1_234_567,
            ..Usage::default()
        };
        assert_eq!(tokens(&usage), "1,234,567");
    }
}
