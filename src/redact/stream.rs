//! [`StreamRedactor`]: redaction of text that arrives in pieces (a model's answer streamed
//! as deltas, bytes written to a terminal), where a secret can be cut in two. The end of
//! what has arrived that could be the beginning of a secret is held back until the next
//! piece shows whether it is one.

use super::redactor::{Redactor, mask};

/// Redacts one stream of pieces; call [`StreamRedactor::finish`] at its end.
#[derive(Debug, Default)]
pub struct StreamRedactor {
    redactor: Redactor,
    pending: Vec<u8>,
}

impl StreamRedactor {
    /// A stream redactor over `redactor`'s secrets.
    pub fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
        }
    }

    /// Takes the next piece; returns what can be released now, redacted (possibly empty).
    pub fn push(&mut self, piece: &[u8]) -> Vec<u8> {
        if self.redactor.is_empty() {
            return piece.to_vec();
        }
        self.pending.extend_from_slice(piece);
        let covered = self.redactor.covered(&self.pending);
        let mut cut = self.pending.len() - self.redactor.partial_suffix(&self.pending);
        for range in covered.iter().rev() {
            if range.start < cut && cut < range.end {
                cut = range.start;
            }
        }
        let released: Vec<_> = covered.into_iter().filter(|r| r.end <= cut).collect();
        let out = mask(&self.pending[..cut], &released);
        self.pending.drain(..cut);
        out
    }

    /// The end of the stream: everything still held back, redacted.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        self.redactor.redact_bytes(&rest).into_owned()
    }

    /// Whether anything is held back.
    pub fn is_holding(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(secrets: &[&str]) -> StreamRedactor {
        StreamRedactor::new(Redactor::new(secrets).expect("redactor"))
    }

    fn run(s: &mut StreamRedactor, pieces: &[&str]) -> String {
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(s.push(piece.as_bytes()));
        }
        out.extend(s.finish());
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_secret_cut_across_pieces_is_masked() {
        let mut s = stream(&["open sesame 9f8e"]);
        let pieces = ["the key is open ", "ses", "ame 9", "f8e, done"];
        assert_eq!(run(&mut s, &pieces), "the key is ***, done");
    }

    #[test]
    fn every_cut_of_every_text_gives_the_one_shot_result() {
        let secrets = ["abcdefgh", "abcdefghij", "ghijklmn", "tok\"en\\x"];
        let redactor = Redactor::new(secrets).expect("redactor");
        let text = "xx abcdefghijklmn abcdefgh! \"tok\\\"en\\\\x\" abcdefg abcdefghij";
        let whole = redactor.redact(text).into_owned();
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let mut s = StreamRedactor::new(redactor.clone());
                let got = run(&mut s, &[&text[..a], &text[a..b], &text[b..]]);
                assert_eq!(got, whole, "cut at {a} and {b}");
            }
        }
    }

    #[test]
    fn text_that_cannot_start_a_secret_is_released_at_once() {
        let mut s = stream(&["abcdefgh"]);
        assert_eq!(s.push(b"hello world "), b"hello world ");
        assert_eq!(s.push(b"then abc"), b"then ");
        assert!(s.is_holding());
        assert_eq!(s.push(b"!"), b"abc!");
        assert!(!s.is_holding());
    }

    #[test]
    fn without_secrets_pieces_pass_unchanged() {
        let mut s = StreamRedactor::default();
        assert_eq!(s.push(b"anything"), b"anything");
        assert!(s.finish().is_empty());
    }
}
