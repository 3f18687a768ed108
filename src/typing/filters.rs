//! What minijinja's filters give: the result type of a filter from its input, and the
//! element attribute that `selectattr`, `map(attribute=…)`, `sort(attribute=…)` and
//! their kin read. A filter not listed here gives `Unknown`.

use minijinja::machinery::ast::{CallArg, Expr};

use super::ty::{Lookup, Type};

/// The element attribute a filter reads, written as a constant string: its text and the
/// argument expression that holds it.
pub fn attribute_argument<'a>(
    name: &str,
    args: &'a [CallArg<'a>],
) -> Option<(String, &'a Expr<'a>)> {
    let positional = matches!(name, "selectattr" | "rejectattr" | "groupby");
    args.iter().enumerate().find_map(|(i, arg)| {
        let expr = match arg {
            CallArg::Pos(e) if positional && i == 0 => e,
            CallArg::Kwarg("attribute", e) => e,
            _ => return None,
        };
        match expr {
            Expr::Const(c) => c.value.as_str().map(|s| (s.to_string(), expr)),
            _ => None,
        }
    })
}

/// The comparison of `selectattr(attr, 'equalto', value)` and its kin: the constant value.
pub fn equalto_argument<'a>(name: &str, args: &'a [CallArg<'a>]) -> Option<&'a Expr<'a>> {
    if !matches!(name, "selectattr" | "rejectattr") {
        return None;
    }
    match args {
        [
            _,
            CallArg::Pos(Expr::Const(test)),
            CallArg::Pos(value @ Expr::Const(_)),
        ] if matches!(
            test.value.as_str(),
            Some("equalto" | "eq" | "==" | "sameas")
        ) =>
        {
            Some(value)
        }
        _ => None,
    }
}

/// The type at a dotted attribute path (`a.b`, `items.0`) of `ty`, or the first name
/// that is not there (with the names that are).
pub fn attribute_path(ty: &Type, path: &str) -> Result<Type, (String, Vec<String>)> {
    let mut current = ty.clone();
    for part in path.split('.') {
        if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            current = current.element().unwrap_or(Type::Unknown);
            continue;
        }
        current = match current.property(part) {
            Lookup::Found(t, _) => t,
            Lookup::NotAnObject => return Err((part.to_string(), Vec::new())),
            Lookup::Missing(names) => return Err((part.to_string(), names)),
        };
    }
    Ok(current)
}

/// The type filter `name` gives for `input`; `attribute` is the type of the attribute it
/// reads (see [`attribute_argument`]), `fallback` the type of `default`'s argument.
pub fn result(name: &str, input: &Type, attribute: Option<&Type>, fallback: Option<&Type>) -> Type {
    let element = || input.element().unwrap_or(Type::Unknown);
    let same_sequence = || match input.non_null() {
        Type::String => Type::String,
        t if t.element().is_some() => t,
        _ => Type::Unknown,
    };
    match name {
        "length" | "count" | "int" => Type::Integer,
        "float" | "round" => Type::Number,
        "bool" => Type::Bool,
        "abs" => input.clone(),
        "join" | "upper" | "lower" | "title" | "capitalize" | "trim" | "replace" | "format"
        | "string" | "indent" | "escape" | "e" | "safe" | "urlencode" | "pprint" | "tojson"
        | "shell_quote" => Type::String,
        "first" | "last" | "min" | "max" => match input.non_null() {
            Type::String => Type::String,
            _ => element(),
        },
        "list" => match input.non_null() {
            Type::String => Type::array(Type::String),
            _ => Type::array(element()),
        },
        "sort" | "reverse" | "unique" | "select" | "reject" | "selectattr" | "rejectattr" => {
            same_sequence()
        }
        "map" => Type::array(attribute.cloned().unwrap_or(Type::Unknown)),
        "sum" => match (attribute, element()) {
            (Some(Type::Integer), _) | (None, Type::Integer) => Type::Integer,
            _ => Type::Number,
        },
        "split" | "lines" => Type::array(Type::String),
        "batch" | "slice" => Type::array(same_sequence()),
        "default" | "d" => match fallback {
            Some(f) => Type::union([input.clone(), f.clone()]),
            None => input.clone(),
        },
        _ => Type::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_types() {
        let files = Type::array(Type::object([("path", Type::String)]));
        assert_eq!(result("length", &files, None, None), Type::Integer);
        assert_eq!(result("selectattr", &files, None, None), files);
        assert_eq!(
            result("map", &files, Some(&Type::String), None),
            Type::array(Type::String)
        );
        assert_eq!(result("lenght", &files, None, None), Type::Unknown);
        assert_eq!(
            attribute_path(&files.element().unwrap(), "pth"),
            Err(("pth".into(), vec!["path".into()]))
        );
    }
}
