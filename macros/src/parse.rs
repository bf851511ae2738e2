//! Syntax trees of the forms and their parsers.
//!
//! Parsers report errors in the user's own words: each one says what was
//! expected at that token and how the form is written. `lwt_let!` recovers
//! after a bad step (it skips to the next `;`) so that every mistake of one
//! invocation is reported together.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{token, Arm, Block, Expr, ExprIf, Pat, Stmt, Token, Type};

use crate::check::Errors;

mod kw {
    syn::custom_keyword!(and);
    syn::custom_keyword!(exception);
    syn::custom_keyword!(catch);
    syn::custom_keyword!(finally);
}

/// One `PATTERN [: TYPE] = PROMISE` of a `let!` step.
pub struct Binding {
    pub pat: Pat,
    pub ty: Option<Type>,
    pub expr: Expr,
}

/// A step of `lwt_let!`.
pub enum Step {
    /// `let! p1 = e1 and p2 = e2;`: `let_span` is the `let` keyword.
    Bind { let_span: Span, bindings: Vec<Binding> },
    /// `do! e;`: `do_span` is the `do` keyword.
    Sequence { do_span: Span, expr: Box<Expr> },
    /// Any plain Rust statement, kept as written.
    Plain(Box<Stmt>),
}

/// The body of `lwt_let!`.
pub struct LetChain {
    pub steps: Vec<Step>,
    pub tail: Option<Expr>,
    /// Whether a step failed to parse (then the checks on the whole chain,
    /// which would only repeat that error, are skipped).
    pub broken: bool,
}

fn is_bang_step<K: syn::parse::Peek>(input: ParseStream, k: K) -> bool {
    input.peek(k) && input.peek2(Token![!])
}

/// Skips tokens up to and including the next `;` at this nesting level.
fn recover(input: ParseStream) {
    while !input.is_empty() {
        match input.parse::<TokenTree>() {
            Ok(TokenTree::Punct(p)) if p.as_char() == ';' => return,
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

pub fn let_chain(tokens: TokenStream, errors: &mut Errors) -> LetChain {
    let parser = |input: ParseStream| -> syn::Result<LetChain> {
        let mut steps = Vec::new();
        let mut tail = None;
        let mut broken = false;
        while !input.is_empty() {
            let step = if is_bang_step(input, Token![let]) {
                bind_step(input)
            } else if is_bang_step(input, Token![do]) {
                sequence_step(input)
            } else {
                plain_step(input, &mut tail)
            };
            match step {
                Ok(Some(step)) => steps.push(step),
                Ok(None) => {}
                Err(e) => {
                    errors.push(e);
                    broken = true;
                    recover(input);
                }
            }
        }
        Ok(LetChain { steps, tail, broken })
    };
    match parser.parse2(tokens) {
        Ok(chain) => chain,
        Err(e) => {
            errors.push(e);
            LetChain {
                steps: Vec::new(),
                tail: None,
                broken: true,
            }
        }
    }
}

fn plain_step(input: ParseStream, tail: &mut Option<Expr>) -> syn::Result<Option<Step>> {
    // The last expression, written without `;`, is the resulting promise.
    let ahead = input.fork();
    if !input.peek(Token![let]) {
        if let Ok(expr) = ahead.parse::<Expr>() {
            if ahead.is_empty() {
                *tail = Some(expr);
                return input.parse::<Expr>().map(|_| None);
            }
            // An expression left without `;` before another line: only the
            // last line may be (a block-like one, as `if .. { }`, is a
            // statement as it is).
            if !ahead.peek(Token![;]) && !is_block_like(&expr) {
                return Err(syn::Error::new_spanned(
                    &expr,
                    "expected `;` after this expression: only the last line of `lwt_let!` \
                     may be left without `;` (it is the resulting promise)",
                ));
            }
        }
    }
    let stmt: Stmt = input.parse()?;
    Ok(Some(Step::Plain(Box::new(stmt))))
}

/// Whether `expr` is a statement without `;` (as Rust reads a block).
fn is_block_like(expr: &Expr) -> bool {
    match expr {
        Expr::Block(_)
        | Expr::Const(_)
        | Expr::ForLoop(_)
        | Expr::If(_)
        | Expr::Loop(_)
        | Expr::Match(_)
        | Expr::TryBlock(_)
        | Expr::Unsafe(_)
        | Expr::While(_) => true,
        Expr::Macro(m) => matches!(m.mac.delimiter, syn::MacroDelimiter::Brace(_)),
        _ => false,
    }
}

fn bind_step(input: ParseStream) -> syn::Result<Option<Step>> {
    let let_token: Token![let] = input.parse()?;
    input.parse::<Token![!]>()?;
    let mut bindings = vec![binding(input, "let!")?];
    while input.peek(kw::and) {
        let and_token: kw::and = input.parse()?;
        if input.is_empty() || input.peek(Token![;]) || input.peek(Token![=]) {
            return Err(syn::Error::new(
                and_token.span,
                "expected a binding after `and`: parallel bindings are written \
                 `let! a = p1 and b = p2;`",
            ));
        }
        bindings.push(binding(input, "and")?);
    }
    if input.is_empty() {
        return Err(syn::Error::new(
            let_token.span,
            "a `let!` cannot end `lwt_let!`: add `;` and then the resulting promise, \
             e.g. `let! x = p; lwt::resolved(x)`",
        ));
    }
    if !input.peek(Token![;]) {
        let msg = if input.peek(Token![,]) {
            "expected `;` or `and`: to wait for several promises at once, join their \
             bindings with `and`: `let! a = p1 and b = p2;`"
        } else {
            "expected `;` or `and` after the promise of this `let!`"
        };
        return Err(input.error(msg));
    }
    input.parse::<Token![;]>()?;
    Ok(Some(Step::Bind {
        let_span: let_token.span,
        bindings,
    }))
}

fn binding(input: ParseStream, after: &str) -> syn::Result<Binding> {
    if input.is_empty() || input.peek(Token![;]) || input.peek(Token![=]) {
        return Err(input.error(format!(
            "expected a pattern after `{after}`, as in `{after} x = promise`"
        )));
    }
    let pat = Pat::parse_single(input)?;
    let ty = if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        Some(input.parse::<Type>()?)
    } else {
        None
    };
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            if input.is_empty() { pat.span() } else { input.span() },
            format!("expected `=` between the pattern and the promise: `{after} PATTERN = PROMISE;`"),
        ));
    }
    input.parse::<Token![=]>()?;
    if input.is_empty() || input.peek(Token![;]) || input.peek(kw::and) {
        return Err(input.error(format!("expected a promise after `=`, as in `{after} x = promise`")));
    }
    let expr: Expr = input.parse()?;
    Ok(Binding { pat, ty, expr })
}

fn sequence_step(input: ParseStream) -> syn::Result<Option<Step>> {
    let do_token: Token![do] = input.parse()?;
    input.parse::<Token![!]>()?;
    if input.is_empty() || input.peek(Token![;]) {
        return Err(syn::Error::new(
            do_token.span,
            "expected a `Promise<()>` after `do!`, as in `do! lwt::pause();`",
        ));
    }
    let expr: Expr = input.parse()?;
    if input.is_empty() {
        return Err(syn::Error::new(
            do_token.span,
            "a `do!` step cannot end `lwt_let!`: the last line is the resulting promise, \
             so drop the `do!` (or add `;` and a promise after it)",
        ));
    }
    if !input.peek(Token![;]) {
        return Err(input.error("expected `;` after the promise of this `do!`"));
    }
    input.parse::<Token![;]>()?;
    Ok(Some(Step::Sequence {
        do_span: do_token.span,
        expr: Box::new(expr),
    }))
}

/// An arm of `lwt_match!`, or a handler of `lwt_try!`.
pub struct MatchArm {
    /// The `exception` keyword, for arms on the rejected case.
    pub exception: Option<Span>,
    pub arm: Arm,
}

/// `lwt_match!(SCRUTINEE { ARMS })`.
pub struct MatchForm {
    pub scrutinee: Expr,
    pub brace_span: Span,
    pub arms: Vec<MatchArm>,
}

fn is_exception_arm(input: ParseStream) -> bool {
    input.peek(kw::exception)
        && !(input.peek2(Token![=>])
            || input.peek2(Token![if])
            || input.peek2(Token![|])
            || input.peek2(Token![@])
            || input.peek2(Token![,])
            || input.peek2(Token![::])
            || input.peek2(token::Paren)
            || input.peek2(token::Brace))
}

fn arms(input: ParseStream) -> syn::Result<Vec<MatchArm>> {
    let mut arms = Vec::new();
    while !input.is_empty() {
        let exception = if is_exception_arm(input) {
            Some(input.parse::<kw::exception>()?.span)
        } else {
            None
        };
        let arm: Arm = input.parse()?;
        arms.push(MatchArm { exception, arm });
    }
    Ok(arms)
}

pub fn match_form(input: ParseStream) -> syn::Result<MatchForm> {
    if input.is_empty() {
        return Err(input.error("expected a promise and the arms: `lwt_match!(promise { pattern => ... })`"));
    }
    let scrutinee = Expr::parse_without_eager_brace(input)?;
    if !input.peek(token::Brace) {
        return Err(input.error(
            "expected `{` and the arms after the promise: \
             `lwt_match!(promise { pattern => ..., exception e => ... })`",
        ));
    }
    let content;
    let brace = syn::braced!(content in input);
    let arms = arms(&content)?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the arms of `lwt_match!`"));
    }
    Ok(MatchForm {
        scrutinee,
        brace_span: brace.span.join(),
        arms,
    })
}

/// `lwt_try!(BODY [catch { HANDLERS }] [finally { CLEANUP }])`.
pub struct TryForm {
    pub body: Expr,
    pub catch: Option<(Span, Vec<MatchArm>)>,
    pub finally: Option<(Span, Block)>,
}

pub fn try_form(input: ParseStream) -> syn::Result<TryForm> {
    if input.is_empty() || input.peek(kw::catch) || input.peek(kw::finally) {
        return Err(input.error("expected the promise to protect first: `lwt_try!(promise catch { e => ... })`"));
    }
    let body: Expr = input.parse()?;
    let mut catch = None;
    let mut finally: Option<(Span, Block)> = None;
    let mut errors = Errors::default();
    while !input.is_empty() {
        if input.peek(kw::catch) {
            let kw: kw::catch = input.parse()?;
            if catch.is_some() {
                errors.error(kw.span, "`catch` given twice: put every handler in one `catch { ... }`");
            }
            if let Some((finally_span, _)) = &finally {
                let mut e = syn::Error::new(kw.span, "`catch` must come before `finally`");
                e.combine(syn::Error::new(*finally_span, "`finally` is here"));
                errors.push(e);
            }
            if !input.peek(token::Brace) {
                return Err(input.error("expected `{` after `catch`: `catch { e if e.is_timeout() => ..., e => ... }`"));
            }
            let content;
            syn::braced!(content in input);
            // `exception` arms are parsed, to be refused with an explanation.
            catch = Some((kw.span, arms(&content)?));
        } else if input.peek(kw::finally) {
            let kw: kw::finally = input.parse()?;
            if finally.is_some() {
                errors.error(kw.span, "`finally` given twice: put all cleanup in one block");
            }
            if !input.peek(token::Brace) {
                return Err(input.error("expected a block after `finally`: `finally { cleanup_promise() }`"));
            }
            finally = Some((kw.span, input.parse()?));
        } else {
            return Err(input.error("expected `catch { ... }` or `finally { ... }` after the protected promise"));
        }
    }
    errors.finish()?;
    Ok(TryForm { body, catch, finally })
}

/// `lwt_if!(CONDITION { ... } [else ...])`.
pub struct IfForm {
    pub cond: Expr,
    pub then_branch: Block,
    pub else_branch: Option<Expr>,
}

pub fn if_form(input: ParseStream) -> syn::Result<IfForm> {
    if input.is_empty() {
        return Err(input.error("expected a `Promise<bool>` and a block: `lwt_if!(promise { ... } else { ... })`"));
    }
    let cond = Expr::parse_without_eager_brace(input)?;
    if !input.peek(token::Brace) {
        let message = "expected a block after the condition: `lwt_if!(promise { ... } else { ... })`";
        return Err(if input.is_empty() {
            syn::Error::new_spanned(&cond, message)
        } else {
            input.error(message)
        });
    }
    let then_branch: Block = input.parse()?;
    let else_branch = if input.peek(Token![else]) {
        let else_token: Token![else] = input.parse()?;
        Some(if input.peek(Token![if]) {
            Expr::If(input.parse::<ExprIf>()?)
        } else if input.peek(token::Brace) {
            Expr::Block(syn::ExprBlock {
                attrs: Vec::new(),
                label: None,
                block: input.parse()?,
            })
        } else {
            return Err(syn::Error::new(
                else_token.span,
                "expected a block or `if` after `else`",
            ));
        })
    } else {
        None
    };
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after `lwt_if!`'s branches"));
    }
    Ok(IfForm {
        cond,
        then_branch,
        else_branch,
    })
}

/// `lwt_for!(VAR in RANGE { BODY })`.
pub struct ForForm {
    pub pat: Pat,
    pub range: Expr,
    pub body: Block,
}

pub fn for_form(input: ParseStream) -> syn::Result<ForForm> {
    if input.is_empty() {
        return Err(input.error("expected a loop variable, a range and a body: `lwt_for!(i in 0..n { ... })`"));
    }
    let pat = Pat::parse_single(input)?;
    if !input.peek(Token![in]) {
        return Err(input.error("expected `in` after the loop variable: `lwt_for!(i in 0..n { ... })`"));
    }
    input.parse::<Token![in]>()?;
    if input.is_empty() || input.peek(token::Brace) {
        return Err(input.error("expected a range after `in`: `a..b`, `a..=b`, or `(a..b).rev()` to count down"));
    }
    let range = Expr::parse_without_eager_brace(input)?;
    if !input.peek(token::Brace) {
        let message = "expected the loop body after the range: `lwt_for!(i in 0..n { promise })`";
        return Err(if input.is_empty() {
            syn::Error::new_spanned(&range, message)
        } else {
            input.error(message)
        });
    }
    let body: Block = input.parse()?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the body of `lwt_for!`"));
    }
    Ok(ForForm { pat, range, body })
}

/// `lwt_while!(CONDITION { BODY })`.
pub struct WhileForm {
    pub cond: Expr,
    pub body: Block,
}

pub fn while_form(input: ParseStream) -> syn::Result<WhileForm> {
    if input.is_empty() {
        return Err(input.error("expected a condition and a body: `lwt_while!(condition { promise })`"));
    }
    let cond = Expr::parse_without_eager_brace(input)?;
    if !input.peek(token::Brace) {
        let message = "`lwt_while!` needs a body after the condition: `lwt_while!(condition { promise_of_unit })`";
        return Err(if input.is_empty() {
            syn::Error::new_spanned(&cond, message)
        } else {
            input.error(message)
        });
    }
    let body: Block = input.parse()?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the body of `lwt_while!`"));
    }
    Ok(WhileForm { cond, body })
}

/// `lwt_assert!(CONDITION [, FORMAT, ARGS...])`.
pub struct AssertForm {
    pub cond: Expr,
    pub message: Option<TokenStream>,
}

pub fn assert_form(input: ParseStream) -> syn::Result<AssertForm> {
    if input.is_empty() {
        return Err(input.error("expected a condition: `lwt_assert!(x > 0)`"));
    }
    let cond: Expr = input.parse()?;
    let message = if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        let rest: TokenStream = input.parse()?;
        if rest.is_empty() {
            None
        } else {
            Some(rest)
        }
    } else if input.is_empty() {
        None
    } else {
        return Err(input.error(
            "expected `,` and a message after the condition, as in \
             `lwt_assert!(x > 0, \"x is {x}\")`",
        ));
    };
    Ok(AssertForm { cond, message })
}
