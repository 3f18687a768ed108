//! Redaction (`weft::redact`, and the reporter's event redaction) on generated secrets and
//! texts made of pieces of them: secrets over a small alphabet so that they overlap, nest
//! and repeat, with quotes, backslashes, non-ASCII and astral characters so that their
//! escaped forms differ; texts that hold secrets whole, cut, JSON-escaped and side by side,
//! delivered in random pieces. What must hold: no secret survives, whole or JSON-escaped,
//! in the one-shot result, in the pieces a stream releases, or in the deltas and events a
//! reporter writes; and text that shares no character with the secrets passes unchanged.

use proptest::prelude::*;
use weft::engine::event::RunEvent;
use weft::redact::{Redactor, StreamRedactor};
use weft::report::EventRedactor;

use crate::harness::fuzz;

/// Secrets (8 to 14 characters, never a `*`, so that a mask cannot complete one), a text
/// and where it is cut into pieces.
#[derive(Debug, Clone)]
struct Case {
    secrets: Vec<String>,
    text: String,
    cuts: Vec<usize>,
}

fn secret() -> impl Strategy<Value = String> {
    let special = ["\"", "\\", "'", " ", "\n", "Ü", "🔑", "é"].map(String::from);
    proptest::collection::vec(
        prop_oneof![
            8 => "[ab]",
            3 => proptest::sample::select(special.to_vec()),
        ],
        8..15,
    )
    .prop_map(|chars| chars.concat())
}

/// A piece of text: noise, a secret, a part of one, or one JSON-escaped.
fn piece(secrets: Vec<String>) -> impl Strategy<Value = String> {
    let n = secrets.len();
    let (a, b, c) = (secrets.clone(), secrets.clone(), secrets);
    prop_oneof![
        3 => "[abxy *\"\\\\]{0,6}",
        3 => (0..n).prop_map(move |i| a[i].clone()),
        2 => (0..n, 1usize..8).prop_map(move |(i, k)| b[i].chars().take(k).collect()),
        1 => (0..n).prop_map(move |i| {
            let quoted = serde_json::to_string(&c[i]).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_string()
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    proptest::collection::vec(secret(), 1..4).prop_flat_map(|secrets| {
        let text =
            proptest::collection::vec(piece(secrets.clone()), 0..10).prop_map(|p| p.concat());
        (
            Just(secrets),
            text,
            proptest::collection::vec(0usize..200, 0..6),
        )
            .prop_map(|(secrets, text, cuts)| Case {
                secrets,
                text,
                cuts,
            })
    })
}

impl Case {
    /// The text cut into pieces at character boundaries.
    fn pieces(&self) -> Vec<String> {
        let chars: Vec<char> = self.text.chars().collect();
        let mut cuts: Vec<usize> = self.cuts.iter().map(|c| c % (chars.len() + 1)).collect();
        cuts.push(chars.len());
        cuts.sort_unstable();
        let mut at = 0;
        cuts.into_iter()
            .map(|c| {
                let piece: String = chars[at..c].iter().collect();
                at = c;
                piece
            })
            .collect()
    }

    /// The secret (or JSON-escaped secret) `text` holds, if any.
    fn leak(&self, text: &str) -> Option<String> {
        self.secrets.iter().find_map(|s| {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            let escaped = &quoted[1..quoted.len() - 1];
            [s.as_str(), escaped]
                .into_iter()
                .find(|form| text.contains(form))
                .map(str::to_string)
        })
    }
}

#[test]
fn redaction_never_lets_a_secret_through() {
    fuzz("redaction", 1_500, case(), |case| {
        let redactor = Redactor::new(&case.secrets).expect("a redactor");
        let whole = redactor.redact(&case.text).into_owned();
        prop_assert_eq!(case.leak(&whole), None, "one shot: {:?}", whole);
        let noise = case.text.replace(|c: char| !"xyz".contains(c), "");
        prop_assert_eq!(
            redactor.redact(&noise),
            noise.as_str(),
            "text of no secret's characters"
        );
        let mut stream = StreamRedactor::new(redactor.clone());
        let mut streamed = Vec::new();
        for piece in case.pieces() {
            streamed.extend(stream.push(piece.as_bytes()));
        }
        streamed.extend(stream.finish());
        let streamed = String::from_utf8(streamed).expect("utf-8 out");
        prop_assert_eq!(case.leak(&streamed), None, "streamed: {:?}", streamed);
        let mut events = EventRedactor::new(redactor);
        let mut written = Vec::new();
        for piece in case.pieces() {
            written.extend(events.apply(&RunEvent::TurnDelta {
                step: "s".into(),
                index: None,
                delta: piece,
            }));
        }
        written.extend(events.apply(&RunEvent::StepRetrying {
            step: "s".into(),
            index: None,
            attempt: 2,
            reason: case.text.clone(),
        }));
        let json = serde_json::to_string(&written).expect("json");
        let deltas: String = written
            .iter()
            .filter_map(|e| match e {
                RunEvent::TurnDelta { delta, .. } => Some(delta.as_str()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(case.leak(&deltas), None, "deltas: {:?}", deltas);
        prop_assert_eq!(case.leak(&json), None, "events: {}", json);
        Ok(())
    });
}
