//! Expression typing: variables, property and item reads, filters, tests, calls and
//! literals; property reads are checked against the type model as they are typed.

use minijinja::machinery::ast::{self, CallArg, Expr};
use serde_json::Value;

use super::filters;
use super::ty::{Lookup, Type};
use super::walk::Checker;
use crate::workflow::diagnostic::suggest;

/// How many property names a help line lists at most.
const LISTED: usize = 12;

impl Checker<'_> {
    /// The type of `e`; what is wrong in it becomes a finding.
    pub fn expr(&mut self, e: &Expr<'_>) -> Type {
        self.typed(e, false)
    }

    /// `lenient`: `e` is the operand of `default` or of a test, so it may be undefined.
    pub(super) fn typed(&mut self, e: &Expr<'_>, lenient: bool) -> Type {
        match e {
            Expr::Var(v) => {
                let ty = self.variable(v.id).unwrap_or(Type::Unknown);
                self.read_unknown |= ty.is_unknown();
                ty
            }
            Expr::Const(c) => const_type(&serde_json::to_value(&c.value).unwrap_or(Value::Null)),
            Expr::GetAttr(g) => {
                let parent = self.expr(&g.expr);
                self.property(e, &g.expr, &parent, g.name, lenient)
            }
            Expr::GetItem(g) => self.get_item(e, g, lenient),
            Expr::Slice(s) => {
                self.lint_secret_part(&s.expr);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part);
                }
                self.expr(&s.expr)
            }
            Expr::UnaryOp(u) => {
                let inner = self.expr(&u.expr);
                match u.op {
                    ast::UnaryOpKind::Not => Type::Bool,
                    ast::UnaryOpKind::Neg => inner,
                }
            }
            Expr::BinOp(b) => self.bin_op(b),
            Expr::Compare(c) => self.compare(c),
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                let guards = self.defined_paths(&i.test_expr);
                let yes = self.guarded(guards, |this| this.expr(&i.true_expr));
                let no = match &i.false_expr {
                    Some(f) => self.expr(f),
                    None => Type::Null,
                };
                Type::union([yes, no])
            }
            Expr::Filter(f) => self.filter(e, f),
            Expr::Test(t) => self.test(e, t),
            Expr::Call(c) => self.call(c),
            Expr::List(l) => Type::array(self.items(&l.items)),
            Expr::Tuple(t) => Type::array(self.items(&t.items)),
            Expr::Map(m) => {
                for (k, v) in m.keys.iter().zip(&m.values) {
                    self.expr(k);
                    self.expr(v);
                }
                Type::open_object()
            }
        }
    }

    fn items(&mut self, items: &[Expr<'_>]) -> Type {
        let types: Vec<Type> = items.iter().map(|i| self.expr(i)).collect();
        if types.is_empty() {
            Type::Unknown
        } else {
            Type::union(types)
        }
    }

    /// Reading property `name` of `parent_expr` (typed `parent`) in `whole`.
    fn property(
        &mut self,
        whole: &Expr<'_>,
        parent_expr: &Expr<'_>,
        parent: &Type,
        name: &str,
        lenient: bool,
    ) -> Type {
        let of = self.src(parent_expr);
        match parent.property(name) {
            Lookup::Found(ty, required) => {
                if !required && !lenient && !self.guards.contains(&self.key(whole)) {
                    let path = self.src(whole).to_string();
                    self.warn(
                        self.range(whole),
                        format!("`{path}` is optional and is read without a default"),
                        Some(format!("when it is absent the render fails: write `{path} | default(…)`, or test `{path} is defined` first")),
                    );
                }
                self.read_unknown |= ty.is_unknown();
                ty
            }
            Lookup::Missing(names) => {
                let hint = suggest(name, names.iter().map(String::as_str));
                let help = (names.len() <= LISTED).then(|| {
                    let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                    format!("`{of}` has {}", listed.join(", "))
                });
                self.error(
                    self.range(whole),
                    format!("`{of}` has no property `{name}`{hint}"),
                    help,
                );
                Type::Unknown
            }
            Lookup::NotAnObject => {
                let help = parent.element().map(|_| {
                    format!("it is a list: read one element (`{of}[0].{name}`) or map them (`{of} | map(attribute='{name}')`)")
                });
                self.error(
                    self.range(whole),
                    format!(
                        "`{of}` is {}; it has no property `{name}`",
                        parent.describe()
                    ),
                    help,
                );
                Type::Unknown
            }
        }
    }

    fn get_item(&mut self, whole: &Expr<'_>, g: &ast::GetItem<'_>, lenient: bool) -> Type {
        self.lint_secret_part(&g.expr);
        let parent = self.expr(&g.expr);
        self.expr(&g.subscript_expr);
        let key = match &g.subscript_expr {
            Expr::Const(c) => serde_json::to_value(&c.value).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        match key {
            Value::String(name) => self.property(whole, &g.expr, &parent, &name, lenient),
            _ => {
                self.read_unknown = true;
                match parent.non_null() {
                    Type::String => Type::String,
                    other => other.element().unwrap_or(Type::Unknown),
                }
            }
        }
    }

    fn bin_op(&mut self, b: &ast::BinOp<'_>) -> Type {
        use ast::BinOpKind as K;
        let left = self.expr(&b.left);
        let right = match b.op {
            K::ScAnd => {
                let guards = self.defined_paths(&b.left);
                self.guarded(guards, |this| this.expr(&b.right))
            }
            _ => self.expr(&b.right),
        };
        match b.op {
            K::Eq | K::Ne | K::Lt | K::Lte | K::Gt | K::Gte | K::In => {
                self.compare_pair(&b.left, &left, b.op, &b.right, &right);
                Type::Bool
            }
            K::ScAnd | K::ScOr => Type::union([left, right]),
            K::Concat => Type::String,
            K::Add | K::Sub | K::Mul | K::Rem | K::Pow | K::FloorDiv
                if left == Type::Integer && right == Type::Integer =>
            {
                Type::Integer
            }
            K::Add if left == Type::String && right == Type::String => Type::String,
            K::Add | K::Sub | K::Mul | K::Div | K::Rem | K::Pow | K::FloorDiv => {
                let numeric = |t: &Type| matches!(t, Type::Integer | Type::Number);
                if numeric(&left) && numeric(&right) {
                    Type::Number
                } else {
                    Type::Unknown
                }
            }
        }
    }

    fn filter(&mut self, whole: &Expr<'_>, f: &ast::Filter<'_>) -> Type {
        let lenient = matches!(f.name, "default" | "d");
        let input = match &f.expr {
            Some(inner) => self.typed(inner, lenient),
            None => Type::String,
        };
        let args: Vec<Type> = f.args.iter().map(|a| self.expr(arg_expr(a))).collect();
        let start = whole.span().start_offset as usize;
        if !self.catalog.filter(f.name) {
            let names = self.catalog.filter_names();
            let hint = suggest(f.name, names.iter().copied());
            self.error(
                start..start + f.name.len(),
                format!("unknown filter `{}`{hint}", f.name),
                None,
            );
            return Type::Unknown;
        }
        self.lint_secret_filter(f.name, f.expr.as_ref());
        let attribute = filters::attribute_argument(f.name, &f.args)
            .and_then(|(path, arg)| self.element_attribute(f, &input, &path, arg));
        filters::result(f.name, &input, attribute.as_ref(), args.first())
    }

    /// The type of element attribute `path` that filter `f` reads; an error when the
    /// elements have no such property.
    fn element_attribute(
        &mut self,
        f: &ast::Filter<'_>,
        input: &Type,
        path: &str,
        arg: &Expr<'_>,
    ) -> Option<Type> {
        let element = input.element()?;
        let of = f.expr.as_ref().map_or("", |e| self.src(e)).to_string();
        match filters::attribute_path(&element, path) {
            Ok(ty) => {
                if let Some(value) = filters::equalto_argument(f.name, &f.args) {
                    let label = format!("`{path}` of the elements of `{of}`");
                    self.check_equal(&label, &ty, value);
                }
                Some(ty)
            }
            Err((missing, names)) => {
                let hint = suggest(&missing, names.iter().map(String::as_str));
                let message = if names.is_empty() {
                    format!(
                        "the elements of `{of}` are {}; they have no property `{missing}`",
                        element.describe()
                    )
                } else {
                    format!("the elements of `{of}` have no property `{missing}`{hint}")
                };
                self.error(self.range(arg), message, None);
                None
            }
        }
    }

    fn test(&mut self, whole: &Expr<'_>, t: &ast::Test<'_>) -> Type {
        self.typed(&t.expr, true);
        for arg in &t.args {
            self.expr(arg_expr(arg));
        }
        if !self.catalog.test(t.name) {
            let start = whole.span().start_offset as usize;
            let names = self.catalog.test_names();
            let hint = suggest(t.name, names.iter().copied());
            self.error(
                start..start + t.name.len(),
                format!("unknown test `{}`{hint}", t.name),
                None,
            );
        }
        Type::Bool
    }

    pub(super) fn call(&mut self, c: &ast::Call<'_>) -> Type {
        for arg in &c.args {
            self.expr(arg_expr(arg));
        }
        match &c.expr {
            Expr::Var(v) if self.variable(v.id).is_none() => function_type(v.id),
            Expr::GetAttr(g) => {
                let receiver = self.expr(&g.expr);
                let closed = match receiver.non_null() {
                    Type::Object(o) => !o.open,
                    Type::Unknown => false,
                    _ => true,
                };
                if closed {
                    let of = self.src(&g.expr).to_string();
                    let as_filter = self
                        .catalog
                        .filter(g.name)
                        .then(|| format!("use the filter instead: `{of} | {}`", g.name));
                    self.error(
                        self.range(&c.expr),
                        format!(
                            "`{of}` is {}, which has no methods: `{}()` fails",
                            receiver.describe(),
                            g.name
                        ),
                        as_filter,
                    );
                }
                Type::Unknown
            }
            other => {
                self.expr(other);
                Type::Unknown
            }
        }
    }
}

/// The expression of a call argument.
fn arg_expr<'a>(arg: &'a CallArg<'a>) -> &'a Expr<'a> {
    match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => e,
    }
}

/// The type of a constant.
fn const_type(value: &Value) -> Type {
    match value {
        Value::Null => Type::Null,
        Value::Bool(_) => Type::Bool,
        Value::Number(n) if n.is_i64() || n.is_u64() => Type::Integer,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Array(_) => Type::array(Type::Unknown),
        Value::Object(_) => Type::open_object(),
    }
}

/// What the environment's functions give.
fn function_type(name: &str) -> Type {
    match name {
        "range" => Type::array(Type::Integer),
        "debug" => Type::String,
        _ => Type::Unknown,
    }
}
