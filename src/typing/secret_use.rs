//! A lint of what templates do with secrets: weft masks a secret's value as it is given
//! (and its trimmed and JSON-escaped forms), so a template that changes it (`| upper`,
//! `| b64encode`, `[:8]`, `| replace(…)`) writes something weft cannot recognise, and
//! that text reaches the prompt and every record of it unmasked. Filters that keep the
//! value, or give nothing of it away (`length`), pass. The lint follows the secret as
//! written (`inputs.token`, `env.GH_TOKEN`), not through a variable it was assigned to.

use minijinja::machinery::ast::Expr;

use super::walk::Checker;

/// Filters whose result holds the secret as it is (or in a form weft masks), or nothing
/// of it.
const KEEPING: &[&str] = &[
    "default", "d", "string", "safe", "tojson", "trim", "length", "count", "bool",
];

impl Checker<'_> {
    /// The secret `e` reads (`inputs.token`), unless `inputs`/`env` is a local there.
    fn secret_read(&self, e: &Expr<'_>) -> Option<String> {
        let (root, name) = match e {
            Expr::GetAttr(g) => (&g.expr, g.name.to_string()),
            Expr::GetItem(g) => match &g.subscript_expr {
                Expr::Const(c) => (&g.expr, c.value.as_str()?.to_string()),
                _ => return None,
            },
            _ => return None,
        };
        let Expr::Var(var) = root else { return None };
        if self.locals.iter().any(|(n, _)| n == var.id) {
            return None;
        }
        let path = format!("{}.{name}", var.id);
        self.secrets.contains(&path).then_some(path)
    }

    /// Warns when filter `filter` changes the secret `operand` reads.
    pub(super) fn lint_secret_filter(&mut self, filter: &str, operand: Option<&Expr<'_>>) {
        let Some(operand) = operand else { return };
        if KEEPING.contains(&filter) {
            return;
        }
        if let Some(path) = self.secret_read(operand) {
            let what = format!("`{filter}` changes it");
            self.warn_transformed(operand, &path, &what);
        }
    }

    /// Warns when a slice or subscript takes a part of the secret `operand` reads.
    pub(super) fn lint_secret_part(&mut self, operand: &Expr<'_>) {
        if let Some(path) = self.secret_read(operand) {
            self.warn_transformed(operand, &path, "a part of it is taken");
        }
    }

    fn warn_transformed(&mut self, operand: &Expr<'_>, path: &str, what: &str) {
        self.warn(
            self.range(operand),
            format!("`{path}` is secret and {what}: weft masks only the value as given, so the result is written unmasked"),
            Some(format!(
                "pass it as it is (`{{{{ {path} }}}}`): weft cannot recognise a changed secret to mask it"
            )),
        );
    }
}
