//! One shell word: the text it stands for when nothing about it is decided at run time,
//! and the quoting weft writes words back with.

use brush_parser::ParserOptions;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use super::Unclear;

/// The text the word `raw` (as written in the script) stands for after quote removal,
/// or why it has none: any expansion (parameters, commands, arithmetic, a tilde,
/// pathname patterns, braces) makes the word depend on the moment it runs.
pub fn literal(raw: &str, options: &ParserOptions) -> Result<String, Unclear> {
    let pieces = brush_parser::word::parse(raw, options)
        .map_err(|_| Unclear::new(format!("cannot read the word `{raw}`")))?;
    let mut texts = Texts::default();
    for piece in &pieces {
        texts.push_piece(&piece.piece, raw)?;
    }
    let bare = &texts.bare;
    let brace = bare.find('{').is_some_and(|at| {
        let after = &bare[at..];
        after.contains('}') && (after.contains(',') || after.contains(".."))
    });
    if brace {
        return Err(Unclear::new(format!("`{raw}` has a brace expansion")));
    }
    if raw.len() > 1 && raw.starts_with('=') {
        return Err(Unclear::new(format!(
            "`{raw}` starts with `=` (zsh expands it)"
        )));
    }
    check_dollar(&texts.plain, raw)?;
    Ok(texts.text)
}

/// What a word's pieces add up to.
#[derive(Default)]
struct Texts {
    /// The word after quote removal.
    text: String,
    /// Its unquoted text, with a NUL for each quoted part.
    bare: String,
    /// Its plain text, quoted or not, with a NUL for each escape or single-quoted part.
    plain: String,
}

impl Texts {
    fn push_piece(&mut self, piece: &WordPiece, raw: &str) -> Result<(), Unclear> {
        let expansion = |what: &str| Err(Unclear::new(format!("`{raw}` has {what}")));
        match piece {
            WordPiece::Text(t) => {
                check_bare(t, raw, &self.text)?;
                self.bare.push_str(t);
                self.plain.push_str(t);
                self.text.push_str(t);
                return Ok(());
            }
            WordPiece::SingleQuotedText(t) => self.text.push_str(t),
            WordPiece::AnsiCQuotedText(t) if !t.contains('\\') => self.text.push_str(t),
            WordPiece::AnsiCQuotedText(_) => return expansion("a `$'…'` escape"),
            WordPiece::DoubleQuotedSequence(inner) => {
                self.bare.push('\0');
                return self.push_double_quoted(inner, raw);
            }
            WordPiece::EscapeSequence(e) => self.text.push_str(unescape(e, false)),
            WordPiece::GettextDoubleQuotedSequence(_) => {
                return expansion("a `$\"…\"` translation");
            }
            WordPiece::TildePrefix(_) => return expansion("a `~` expansion"),
            WordPiece::ParameterExpansion(_) => return expansion("a parameter expansion"),
            WordPiece::CommandSubstitution(_) | WordPiece::BackquotedCommandSubstitution(_) => {
                return expansion("a command substitution");
            }
            WordPiece::ArithmeticExpression(_) => return expansion("an arithmetic expansion"),
        }
        self.bare.push('\0');
        self.plain.push('\0');
        Ok(())
    }

    fn push_double_quoted(
        &mut self,
        inner: &[WordPieceWithSource],
        raw: &str,
    ) -> Result<(), Unclear> {
        for piece in inner {
            match &piece.piece {
                WordPiece::Text(t) => {
                    self.plain.push_str(t);
                    self.text.push_str(t);
                }
                WordPiece::EscapeSequence(e) => {
                    self.plain.push('\0');
                    self.text.push_str(unescape(e, true));
                }
                _ => {
                    return Err(Unclear::new(format!(
                        "`{raw}` has an expansion inside double quotes"
                    )));
                }
            }
        }
        self.plain.push('\0');
        Ok(())
    }
}

/// A `$` the parser left in plain text although bash would expand it (`"$[1+1]"`, the old
/// arithmetic form): only a `$` followed by nothing or by a character that starts no
/// expansion is literal.
fn check_dollar(t: &str, raw: &str) -> Result<(), Unclear> {
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        let expands = c == '$'
            && chars
                .peek()
                .is_some_and(|n| n.is_alphanumeric() || "[({_@*#?-$!".contains(*n));
        if expands {
            return Err(Unclear::new(format!("`{raw}` has a `$` expansion")));
        }
    }
    Ok(())
}

/// Unquoted text that the shell would still expand: pathname patterns and tildes.
fn check_bare(t: &str, raw: &str, text: &str) -> Result<(), Unclear> {
    if t.contains(['*', '?']) || (t.contains('[') && raw != "[") {
        return Err(Unclear::new(format!("`{raw}` is a pathname pattern")));
    }
    if t.contains(['(', ')']) {
        return Err(Unclear::new(format!("`{raw}` has an unquoted parenthesis")));
    }
    let mut before = text.chars().last();
    for c in t.chars() {
        if c == '~' && matches!(before, None | Some('=' | ':')) {
            return Err(Unclear::new(format!("`{raw}` has a `~` expansion")));
        }
        before = Some(c);
    }
    Ok(())
}

/// The text of a backslash escape: a line continuation is nothing; inside double quotes
/// a backslash only escapes `$`, `` ` ``, `"` and `\`.
fn unescape(escape: &str, double_quoted: bool) -> &str {
    let escaped = escape.strip_prefix('\\').unwrap_or(escape);
    match escaped {
        "\n" => "",
        "$" | "`" | "\"" | "\\" => escaped,
        _ if double_quoted => escape,
        _ => escaped,
    }
}

/// A word written back for display and matching: as it is when it has no blank, quote or
/// shell operator character, else in single quotes (`'a b'`, `''`, `'it'\''s'`).
pub fn quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"'\"\\`$|&;<>()".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(raw: &str) -> Result<String, String> {
        literal(raw, &super::super::script::options()).map_err(|e| e.to_string())
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        assert_eq!(lit("ls").unwrap(), "ls");
        assert_eq!(lit("'a | b'").unwrap(), "a | b");
        assert_eq!(lit(r#""q\"x""#).unwrap(), "q\"x");
        assert_eq!(lit(r#""a\nb""#).unwrap(), r"a\nb");
        assert_eq!(lit(r"a\ b").unwrap(), "a b");
        assert_eq!(lit(r"\l\s").unwrap(), "ls");
        assert_eq!(lit("'x'\"y\"z").unwrap(), "xyz");
        assert_eq!(lit("$'plain'").unwrap(), "plain");
        assert_eq!(lit("a\\\nb").unwrap(), "ab");
        assert_eq!(lit("{}").unwrap(), "{}");
        assert_eq!(lit("a~b").unwrap(), "a~b");
        assert_eq!(lit("[").unwrap(), "[");
        assert_eq!(lit("'*.rs'").unwrap(), "*.rs");
    }

    #[test]
    fn anything_decided_at_run_time_has_no_literal() {
        for raw in [
            "$HOME",
            "\"$HOME\"",
            "${x}",
            "$(id)",
            "\"a$(id)\"",
            "`id`",
            "$((1+2))",
            "~/x",
            "X=~/a",
            "p=a:~/b",
            "*.rs",
            "a?",
            "[ab]",
            "{a,b}",
            "x{1..3}",
            "$'\\x41'",
            "$\"hello\"",
            "=ls",
            "\"$[1+1]\"",
            "$[1+1]",
        ] {
            assert!(lit(raw).is_err(), "{raw} should have no literal");
        }
    }

    #[test]
    fn words_are_quoted_only_when_they_must_be() {
        assert_eq!(quote("cargo"), "cargo");
        assert_eq!(quote("--name=a,b/c.rs"), "--name=a,b/c.rs");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("a|b"), "'a|b'");
        assert_eq!(quote("{}"), "{}");
    }
}
