//! weft's own filters, beside minijinja's built-ins: `tojson` (with an optional `indent`)
//! and `shell_quote`.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

/// Adds weft's filters to `env`.
pub fn add(env: &mut Environment<'static>) {
    env.add_filter("tojson", tojson);
    env.add_filter("shell_quote", shell_quote);
}

/// `value | tojson`, `value | tojson(2)` or `tojson(indent=2)`: the value as JSON, compact
/// or indented by that many spaces.
fn tojson(value: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = match indent {
        Some(n) => Some(n),
        None => kwargs.get::<Option<usize>>("indent")?,
    };
    kwargs.assert_all_used()?;
    let invalid = |e: serde_json::Error| Error::new(ErrorKind::InvalidOperation, e.to_string());
    let Some(width) = indent else {
        return serde_json::to_string(&value).map_err(invalid);
    };
    let pad = vec![b' '; width];
    let formatter = serde_json::ser::PrettyFormatter::with_indent(&pad);
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut serializer).map_err(invalid)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `value | shell_quote`: the value as one POSIX shell word (`'it'\''s'`), so that a
/// script can splice it and the shell reads it as data; a list becomes its elements,
/// each quoted, separated by spaces.
fn shell_quote(value: Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let words: Result<Vec<String>, Error> = value.try_iter()?.map(shell_quote).collect();
            Ok(words?.join(" "))
        }
        ValueKind::Map => Err(Error::new(
            ErrorKind::InvalidOperation,
            "shell_quote quotes a string, a number or a list, not a mapping",
        )),
        ValueKind::Undefined | ValueKind::None => Err(Error::new(
            ErrorKind::InvalidOperation,
            "shell_quote of none: give a default first (`x | default('') | shell_quote`)",
        )),
        _ => {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            Ok(format!("'{}'", text.replace('\'', r"'\''")))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::Renderer;

    #[test]
    fn tojson_and_shell_quote() {
        let r = Renderer::new();
        let ctx = json!({"v": {"a": [1, "x"]}, "s": "it's $(rm -rf /)", "xs": ["a b", "c"]});
        assert_eq!(
            r.render("{{ v | tojson }}", &ctx).unwrap(),
            r#"{"a":[1,"x"]}"#
        );
        assert_eq!(
            r.render("{{ v | tojson(indent=2) }}", &ctx).unwrap(),
            "{\n  \"a\": [\n    1,\n    \"x\"\n  ]\n}"
        );
        assert_eq!(
            r.render("{{ v.a | tojson(1) }}", &ctx).unwrap(),
            "[\n 1,\n \"x\"\n]"
        );
        assert_eq!(
            r.render("{{ s | shell_quote }}", &ctx).unwrap(),
            r"'it'\''s $(rm -rf /)'"
        );
        assert_eq!(
            r.render("{{ xs | shell_quote }}", &ctx).unwrap(),
            "'a b' 'c'"
        );
        assert_eq!(r.render("{{ 3 | shell_quote }}", &ctx).unwrap(), "'3'");
        assert!(r.render("{{ v | shell_quote }}", &ctx).is_err());
        assert_eq!(
            r.render("{{ range(3) | join(',') }}", &ctx).unwrap(),
            "0,1,2"
        );
        assert_eq!(
            r.render("{{ 'a\nb' | indent(2) }}", &ctx).unwrap(),
            "a\n  b"
        );
    }
}
