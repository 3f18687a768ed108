//! Comparisons with constants: `steps.a.status == 'completed'` can never be true when
//! `status` is one of `succeeded`, `failed`, `skipped`, `interrupted`; an integer input
//! never equals the string `'3'`. Both are errors, pointed at the constant.

use minijinja::machinery::ast::{self, Expr};
use serde_json::Value;

use super::ty::{Type, list_values, value_text};
use super::walk::Checker;
use crate::workflow::diagnostic::suggest;

/// The comparisons that can be decided from types.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Other,
}

impl From<ast::CompareOpKind> for Op {
    fn from(op: ast::CompareOpKind) -> Self {
        use ast::CompareOpKind as K;
        match op {
            K::Eq => Op::Eq,
            K::Ne => Op::Ne,
            K::In => Op::In,
            K::NotIn => Op::NotIn,
            _ => Op::Other,
        }
    }
}

impl From<ast::BinOpKind> for Op {
    fn from(op: ast::BinOpKind) -> Self {
        use ast::BinOpKind as K;
        match op {
            K::Eq => Op::Eq,
            K::Ne => Op::Ne,
            K::In => Op::In,
            _ => Op::Other,
        }
    }
}

impl Checker<'_> {
    /// A chained comparison (`a == b`, `a < b < c`, `x in [..]`).
    pub(super) fn compare(&mut self, c: &ast::Compare<'_>) -> Type {
        let mut left_expr = &c.expr;
        let mut left = self.expr(left_expr);
        for op in &c.ops {
            let right = self.expr(&op.expr);
            self.compare_pair(left_expr, &left, op.op, &op.expr, &right);
            left_expr = &op.expr;
            left = right;
        }
        Type::Bool
    }

    /// One comparison of `left` with `right`.
    pub(super) fn compare_pair(
        &mut self,
        left_expr: &Expr<'_>,
        left: &Type,
        op: impl Into<Op>,
        right_expr: &Expr<'_>,
        right: &Type,
    ) {
        let op = op.into();
        match (op, left_expr, right_expr) {
            (Op::Eq | Op::Ne, value @ Expr::Const(_), other)
            | (Op::Eq | Op::Ne, other, value @ Expr::Const(_)) => {
                let ty = if matches!(other, Expr::Const(_)) {
                    return;
                } else if std::ptr::eq(other, left_expr) {
                    left
                } else {
                    right
                };
                let label = format!("`{}`", self.src(other));
                self.check_equal_op(&label, ty, value, op == Op::Ne);
            }
            (Op::In | Op::NotIn, needle, Expr::List(list)) if !matches!(needle, Expr::Const(_)) => {
                let label = format!("`{}`", self.src(needle));
                for item in list.items.iter().filter(|i| matches!(i, Expr::Const(_))) {
                    self.check_equal_op(&label, left, item, false);
                }
            }
            (Op::In | Op::NotIn, value @ Expr::Const(_), haystack) => {
                if let (Some(element), Some(Value::String(_)) | Some(Value::Number(_))) =
                    (right.element(), const_value(value))
                {
                    let label = format!("every element of `{}`", self.src(haystack));
                    self.check_equal_op(&label, &element, value, op == Op::NotIn);
                }
            }
            _ => {}
        }
    }

    /// `label` (typed `ty`) compared for equality with the constant `value`.
    pub(super) fn check_equal(&mut self, label: &str, ty: &Type, value: &Expr<'_>) {
        self.check_equal_op(label, ty, value, false);
    }

    fn check_equal_op(&mut self, label: &str, ty: &Type, value: &Expr<'_>, negated: bool) {
        let Some(constant) = const_value(value).filter(|c| !c.is_null()) else {
            return;
        };
        if can_equal(ty, &constant) {
            return;
        }
        let shown = value_text(&constant);
        let outcome = if negated { "true" } else { "false" };
        let message = match ty.non_null() {
            Type::Enum(values) => {
                let names: Vec<String> = values.iter().map(value_text).collect();
                let hint = suggest(&shown, names.iter().map(String::as_str));
                format!(
                    "{label} is never `{shown}`: it is one of {}{hint}",
                    list_values(&values)
                )
            }
            _ => format!(
                "{label} is {}; it is never {} `{shown}`",
                ty.describe(),
                kind_of(&constant)
            ),
        };
        self.error(
            self.range(value),
            message,
            Some(format!("so the comparison is always {outcome}")),
        );
    }
}

/// The JSON value of a constant expression.
fn const_value(e: &Expr<'_>) -> Option<Value> {
    match e {
        Expr::Const(c) => serde_json::to_value(&c.value).ok(),
        _ => None,
    }
}

/// "the string", "the number", … for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "none,",
        Value::Bool(_) => "the boolean",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "the list",
        Value::Object(_) => "the mapping",
    }
}

/// Whether a value of type `ty` can equal `value` (minijinja compares numbers and
/// booleans by value, anything else by kind first).
fn can_equal(ty: &Type, value: &Value) -> bool {
    ty.members().iter().any(|member| match member {
        Type::Unknown => true,
        Type::Null => value.is_null(),
        Type::Bool | Type::Integer | Type::Number => value.is_number() || value.is_boolean(),
        Type::String => value.is_string(),
        Type::Enum(values) => values.iter().any(|v| same(v, value)),
        Type::Array(_) => value.is_array(),
        Type::Object(_) => value.is_object(),
        Type::Union(_) => true,
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether a value of type `given` may be a value of type `declared` (an input's): false
/// only when the types show it never is.
pub fn may_fit(given: &Type, declared: &Type) -> bool {
    let fits_value = |v: &Value| match declared {
        Type::Enum(values) => values.contains(v),
        Type::String => v.is_string(),
        Type::Integer => v.is_i64() || v.is_u64(),
        Type::Number => v.is_number(),
        Type::Bool => v.is_boolean(),
        _ => true,
    };
    match (given.non_null(), declared) {
        (Type::Unknown, _) | (_, Type::Unknown) => true,
        (Type::Union(members), _) => members.iter().any(|m| may_fit(m, declared)),
        (Type::Enum(values), _) => values.iter().filter(|v| !v.is_null()).all(fits_value),
        (Type::String, Type::Enum(values)) => values.iter().any(Value::is_string),
        (Type::Integer, Type::Number) => true,
        (Type::Array(_), Type::Array(_)) | (Type::Object(_), Type::Object(_)) => true,
        (g, d) => g == *d,
    }
}
