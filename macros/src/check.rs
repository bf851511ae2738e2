//! Checks on the parsed forms, with every error of one invocation collected
//! into a single `syn::Error` (shown together by the compiler).

use std::collections::HashMap;
use std::fmt::Display;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Pat, RangeLimits, Stmt};

use crate::parse::{ForForm, LetChain, MatchArm, MatchForm, Step, TryForm};

/// An accumulator of errors, combined when the checks are done.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// An error covering all of `tokens` (first to last token).
    pub fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Splits `PATTERN if GUARD` into its two parts.
pub fn split_guard(pat: &Pat) -> (&Pat, Option<&Expr>) {
    match pat {
        Pat::Guard(g) => (&g.pat, Some(&g.guard)),
        other => (other, None),
    }
}

/// Whether an error arm matches every error: `e` or `_` without a guard
/// (Lwt adds its re-raising arm unless such an arm exists).
pub fn is_catch_all(arm: &syn::Arm) -> bool {
    let (pat, guard) = split_guard(&arm.pat);
    guard.is_none() && matches!(pat, Pat::Wild(_) | Pat::Ident(_))
}

const ERROR_PATTERN_HELP: &str = "an error arm can only name the error (`e`) or ignore it (`_`), \
     because `lwt::Error` is opaque: test it in a guard instead, e.g. \
     `e if e.is_timeout() => ...` or `e if e.downcast_ref::<MyError>().is_some() => ...`";

fn check_error_pattern(arm: &syn::Arm, errors: &mut Errors) {
    let (pat, _) = split_guard(&arm.pat);
    let ok = match pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none(),
        _ => false,
    };
    if !ok {
        errors.spanned(pat, ERROR_PATTERN_HELP);
    }
}

fn bound_names(pat: &Pat, out: &mut Vec<syn::Ident>) {
    match pat {
        Pat::Ident(i) => {
            let name = i.ident.to_string();
            // `None` or `MAX` name constants or variants, not new bindings.
            if !name.starts_with(|c: char| c.is_uppercase()) {
                out.push(i.ident.clone());
            }
            if let Some((_, sub)) = &i.subpat {
                bound_names(sub, out);
            }
        }
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                bound_names(first, out);
            }
        }
        Pat::Paren(p) => bound_names(&p.pat, out),
        Pat::Reference(r) => bound_names(&r.pat, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| bound_names(&f.pat, out)),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::Type(t) => bound_names(&t.pat, out),
        Pat::Guard(g) => bound_names(&g.pat, out),
        _ => {}
    }
}

pub fn let_chain(chain: &LetChain, errors: &mut Errors) {
    let mut waits = false;
    for step in &chain.steps {
        match step {
            Step::Bind { bindings, .. } => {
                waits = true;
                let mut seen: HashMap<String, Span> = HashMap::new();
                for binding in bindings {
                    let mut names = Vec::new();
                    bound_names(&binding.pat, &mut names);
                    let mut in_this = Vec::new();
                    for name in names {
                        let key = name.to_string();
                        if in_this.contains(&key) {
                            continue;
                        }
                        if let Some(first) = seen.get(&key) {
                            let mut e = syn::Error::new(
                                name.span(),
                                format!(
                                    "`{key}` is bound twice in one `and` group: the bindings of \
                                     `let! .. and ..` are made at the same time, so each name \
                                     may appear once; rename one of them"
                                ),
                            );
                            e.combine(syn::Error::new(*first, format!("first binding of `{key}`")));
                            errors.push(e);
                        }
                        in_this.push(key);
                    }
                    for name in in_this {
                        seen.entry(name.clone()).or_insert_with(|| {
                            binding_span_of(&binding.pat, &name).unwrap_or_else(|| binding.pat.span())
                        });
                    }
                }
            }
            Step::Sequence { .. } => waits = true,
            Step::Plain(_) => {}
        }
    }
    if chain.broken {
        return;
    }
    if chain.tail.is_none() {
        let span = match chain.steps.last() {
            Some(Step::Bind { let_span, .. }) => Some(*let_span),
            Some(Step::Sequence { do_span, .. }) => Some(*do_span),
            Some(Step::Plain(stmt)) => Some(stmt.span()),
            None => None,
        };
        let message = "`lwt_let!` must end with the promise it resolves to, written without \
             `;` (e.g. `lwt::resolved(x)`, or `lwt::resolved(())` when there is no value)";
        errors.error(span.unwrap_or_else(Span::call_site), message);
    } else if !waits {
        let first_let = chain.steps.iter().find_map(|s| match s {
            Step::Plain(stmt) => match &**stmt {
                Stmt::Local(local) => Some(local.let_token.span),
                _ => None,
            },
            _ => None,
        });
        errors.error(
            first_let.unwrap_or_else(Span::call_site),
            "this `lwt_let!` waits for nothing: write `let! x = promise;` (with `!`) to wait \
             for a promise, or `do! promise;` to wait for a `Promise<()>`; a plain `let` \
             binds the promise itself",
        );
    }
}

fn binding_span_of(pat: &Pat, name: &str) -> Option<Span> {
    let mut names = Vec::new();
    bound_names(pat, &mut names);
    names.into_iter().find(|n| n == name).map(|n| n.span())
}

pub fn match_form(form: &MatchForm, errors: &mut Errors) {
    let mut value_arms = 0;
    for MatchArm { exception, arm } in &form.arms {
        if exception.is_some() {
            check_error_pattern(arm, errors);
        } else {
            value_arms += 1;
        }
    }
    if value_arms == 0 {
        let message = if form.arms.is_empty() {
            "`lwt_match!` needs arms: `lwt_match!(promise { pattern => ..., exception e => ... })`"
        } else {
            "`lwt_match!` must contain at least one arm for the fulfilled value \
             (not `exception`): add one, e.g. `v => lwt::resolved(v)`, \
             or use `lwt_try!` to handle only the rejected case"
        };
        errors.error(form.brace_span, message);
    }
}

pub fn try_form(form: &TryForm, errors: &mut Errors) {
    if form.catch.is_none() && form.finally.is_none() {
        errors.spanned(
            &form.body,
            "`lwt_try!` needs handlers, a `finally` part or both: \
             `lwt_try!(promise catch { e => ... } finally { cleanup() })`",
        );
    }
    if let Some((span, arms)) = &form.catch {
        if arms.is_empty() {
            errors.error(
                *span,
                "this `catch` has no handler: add arms like `e if e.is_timeout() => ...`, \
                 or remove `catch { }`",
            );
        }
        for MatchArm { exception, arm } in arms {
            if let Some(span) = exception {
                errors.error(
                    *span,
                    "`exception` is not needed in `lwt_try!`: every arm of `catch` handles \
                     an error; write `e => ...`",
                );
            }
            check_error_pattern(arm, errors);
        }
    }
    if let Some((_, block)) = &form.finally {
        if block.stmts.is_empty() {
            errors.error(
                block.brace_token.span.join(),
                "empty `finally`: it must evaluate to the cleanup's `Promise<()>` \
                 (e.g. `finally { conn.close() }`); remove `finally` if there is nothing to do",
            );
        }
    }
}

pub fn for_form(form: &ForForm, errors: &mut Errors) {
    let var_ok = match &form.pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none() && i.by_ref.is_none(),
        _ => false,
    };
    if !var_ok {
        errors.spanned(
            &form.pat,
            "the loop variable of `lwt_for!` must be a name or `_`, as in \
             `lwt_for!(i in 0..n { ... })`",
        );
    }
    check_range(&form.range, errors);
}

fn check_range(range: &Expr, errors: &mut Errors) {
    const SHAPES: &str = "`a..b`, `a..=b`, or `(a..b).rev()` / `(a..=b).rev()` to count down";
    match range {
        Expr::Range(r) => {
            if r.start.is_none() || r.end.is_none() {
                let which = match (&r.start, &r.end) {
                    (None, None) => "bounds",
                    (None, _) => "start",
                    _ => "end",
                };
                let limits = match r.limits {
                    RangeLimits::HalfOpen(_) => "..",
                    RangeLimits::Closed(_) => "..=",
                };
                errors.spanned(
                    range,
                    format!(
                        "this `{limits}` range has no {which}: `lwt_for!` counts over a \
                         bounded range, {SHAPES}"
                    ),
                );
            }
        }
        Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => match &*m.receiver {
            Expr::Paren(p) if matches!(&*p.expr, Expr::Range(_)) => check_range(&p.expr, errors),
            Expr::Range(_) => check_range(&m.receiver, errors),
            other => errors.spanned(other, format!("expected a range before `.rev()`: {SHAPES}")),
        },
        other => errors.spanned(
            other,
            format!(
                "expected a range: {SHAPES}; to walk over a collection, bind its elements \
                 one by one with a `lwt_while!` or Lwt_list's `iter_s`"
            ),
        ),
    }
}
