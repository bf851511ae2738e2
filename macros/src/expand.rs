//! Code generation: each form becomes a chain of calls on the public
//! runtime API (`Promise::bind`-like helpers in `::lwt::__private` that only
//! add the bind site to rejections).
//!
//! Conventions:
//! - user expressions keep their own spans, and the wrappers around them
//!   (`IntoPromise::into_promise(..)`) are spanned on them, so type errors
//!   point at the user's tokens;
//! - temporaries are named at `Span::mixed_site()`, out of the user's reach;
//! - every bind records the user's `file:line` (`Error::with_site`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Block, Expr, Ident, LitInt, Stmt};

use crate::check::{is_catch_all, split_guard};
use crate::parse::{AssertForm, Binding, ForForm, IfForm, LetChain, MatchArm, MatchForm, Step, TryForm, WhileForm};

fn hidden(name: &str) -> Ident {
    format_ident!("__lwt_{}", name, span = Span::mixed_site())
}

/// `file, line` of a token, for `Error::with_site`.
fn site(span: Span) -> TokenStream {
    let line = span.start().line;
    if line == 0 {
        quote_spanned!(span=> ::core::file!(), ::core::line!())
    } else {
        // Not spanned on the user's token: lints would read its source text.
        let line = LitInt::new(&format!("{line}u32"), Span::mixed_site());
        quote_spanned!(span=> ::core::file!(), #line)
    }
}

#[derive(Clone, Copy)]
pub enum Want {
    /// Any `Promise<T>`.
    Promise,
    /// A `Promise<()>`.
    Unit,
    /// A `Promise<bool>`.
    Bool,
}

fn wrap(want: Want, expr: impl ToTokens, span: Span) -> TokenStream {
    match want {
        Want::Promise => {
            quote_spanned!(span=> ::lwt::__private::IntoPromise::into_promise(#expr))
        }
        Want::Unit => {
            quote_spanned!(span=> ::lwt::__private::UnitPromise::into_unit_promise(#expr))
        }
        Want::Bool => {
            quote_spanned!(span=> ::lwt::__private::BoolPromise::into_bool_promise(#expr))
        }
    }
}

fn promise(want: Want, expr: &Expr) -> TokenStream {
    if let Expr::Block(b) = expr {
        if b.label.is_none() && b.attrs.is_empty() {
            return promise_block(want, &b.block);
        }
    }
    wrap(want, expr, expr.span())
}

/// A block whose value is a promise. The wrapper goes on its last
/// expression, so that a non-promise is reported there (or on the closing
/// brace when the block ends with `;`).
pub fn promise_block(want: Want, block: &Block) -> TokenStream {
    let stmts = &block.stmts;
    match stmts.split_last() {
        Some((Stmt::Expr(tail, None), init)) => {
            let tail = promise(want, tail);
            quote!({ #(#init)* #tail })
        }
        // A brace macro on the last line (`lwt_let! { .. }`) is its value.
        Some((Stmt::Macro(m), init)) if m.semi_token.is_none() => {
            let tail = Expr::Macro(syn::ExprMacro {
                attrs: m.attrs.clone(),
                mac: m.mac.clone(),
            });
            let tail = promise(want, &tail);
            quote!({ #(#init)* #tail })
        }
        _ => {
            let close = block.brace_token.span.close();
            let unit = quote_spanned!(close=> ());
            let tail = wrap(want, unit, close);
            quote!({ #(#stmts)* #tail })
        }
    }
}

fn typed_promise(binding: &Binding) -> TokenStream {
    let p = promise(Want::Promise, &binding.expr);
    match &binding.ty {
        None => p,
        Some(ty) => {
            let tmp = hidden("p");
            let span = ty.span();
            quote_spanned!(span=> { let #tmp: ::lwt::Promise<#ty> = #p; #tmp })
        }
    }
}

pub fn let_chain(chain: LetChain) -> TokenStream {
    let mut acc = match &chain.tail {
        Some(tail) => promise(Want::Promise, tail),
        None => quote!(),
    };
    for step in chain.steps.into_iter().rev() {
        acc = match step {
            Step::Plain(stmt) => quote!(#stmt #acc),
            Step::Sequence { do_span, expr } => {
                let p = promise(Want::Unit, &expr);
                let site = site(do_span);
                quote_spanned!(do_span=>
                    ::lwt::__private::bind(#site, #p, move |()| { #acc })
                )
            }
            Step::Bind { let_span, bindings } => {
                let site = site(let_span);
                let (joined, pat) = join(&bindings);
                quote_spanned!(let_span=>
                    ::lwt::__private::bind(#site, #joined, move |#pat| { #acc })
                )
            }
        };
    }
    quote!({ #acc })
}

/// `a = p1 and b = p2 and c = p3` becomes `both(p1, both(p2, p3))` bound to
/// the pattern `(a, (b, c))`: every promise is started, in order, before the
/// one bind that waits for them all.
fn join(bindings: &[Binding]) -> (TokenStream, TokenStream) {
    let Some((last, init)) = bindings.split_last() else {
        return (quote!(::lwt::resolved(())), quote!(()));
    };
    let mut promise = typed_promise(last);
    let mut pat = last.pat.to_token_stream();
    for binding in init.iter().rev() {
        let p = typed_promise(binding);
        let this = &binding.pat;
        let span = binding.pat.span();
        promise = quote_spanned!(span=> ::lwt::both(#p, #promise));
        pat = quote!((#this, #pat));
    }
    (promise, pat)
}

fn arm_body(want: Want, arm: &syn::Arm) -> TokenStream {
    let attrs = &arm.attrs;
    let pat = &arm.pat;
    let body = promise(want, &arm.body);
    quote!(#(#attrs)* #pat => #body,)
}

fn wrapped_arm(variant: &str, arm: &syn::Arm) -> TokenStream {
    let attrs = &arm.attrs;
    let (pat, guard) = split_guard(&arm.pat);
    let variant = Ident::new(variant, pat.span());
    let guard = guard.map(|g| quote!(if #g));
    let body = promise(Want::Promise, &arm.body);
    quote!(#(#attrs)* ::core::result::Result::#variant(#pat) #guard => #body,)
}

pub fn match_form(form: MatchForm) -> TokenStream {
    let span = form.scrutinee.span();
    let site = site(span);
    let scrutinee = promise(Want::Promise, &form.scrutinee);
    let has_exception = form.arms.iter().any(|a| a.exception.is_some());
    if !has_exception {
        let value = hidden("v");
        let arms = form.arms.iter().map(|a| arm_body(Want::Promise, &a.arm));
        return quote_spanned!(span=>
            ::lwt::__private::bind(#site, #scrutinee, move |#value| match #value { #(#arms)* })
        );
    }
    let result = hidden("r");
    let error = hidden("e");
    let (values, errors): (Vec<&MatchArm>, Vec<&MatchArm>) = form.arms.iter().partition(|a| a.exception.is_none());
    let values = values.iter().map(|a| wrapped_arm("Ok", &a.arm));
    let reraise = if errors.iter().any(|a| is_catch_all(&a.arm)) {
        quote!()
    } else {
        quote_spanned!(span=>
            ::core::result::Result::Err(#error) => ::lwt::__private::reraise(#error, #site),
        )
    };
    let errors = errors.iter().map(|a| wrapped_arm("Err", &a.arm));
    quote_spanned!(span=>
        ::lwt::Promise::then(
            ::lwt::__private::guard(|| #scrutinee),
            move |#result| match #result { #(#values)* #(#errors)* #reraise },
        )
    )
}

pub fn try_form(form: TryForm) -> TokenStream {
    let span = form.body.span();
    let body = promise(Want::Promise, &form.body);
    let mut acc = quote_spanned!(span=> ::lwt::__private::guard(|| #body));
    if let Some((catch_span, arms)) = &form.catch {
        let error = hidden("e");
        let site = site(*catch_span);
        let reraise = if arms.iter().any(|a| is_catch_all(&a.arm)) {
            quote!()
        } else {
            quote_spanned!(*catch_span=> #error => ::lwt::__private::reraise(#error, #site),)
        };
        let arms = arms.iter().map(|a| arm_body(Want::Promise, &a.arm));
        acc = quote_spanned!(*catch_span=>
            ::lwt::Promise::catch(#acc, move |#error| match #error { #(#arms)* #reraise })
        );
    }
    if let Some((finally_span, block)) = &form.finally {
        let site = site(*finally_span);
        let cleanup = promise_block(Want::Unit, block);
        acc = quote_spanned!(*finally_span=>
            ::lwt::__private::finalize(#site, #acc, move || #cleanup)
        );
    }
    acc
}

pub fn if_form(form: IfForm) -> TokenStream {
    let span = form.cond.span();
    let site = site(span);
    let cond = promise(Want::Bool, &form.cond);
    let flag = hidden("c");
    let (then_branch, else_branch) = match &form.else_branch {
        Some(e) => (
            promise_block(Want::Promise, &form.then_branch),
            promise(Want::Promise, e),
        ),
        None => (
            promise_block(Want::Unit, &form.then_branch),
            quote_spanned!(span=> ::lwt::resolved(())),
        ),
    };
    quote_spanned!(span=>
        ::lwt::__private::bind(#site, #cond, move |#flag: bool| {
            if #flag #then_branch else { #else_branch }
        })
    )
}

pub fn while_form(form: WhileForm) -> TokenStream {
    let span = form.cond.span();
    let site = site(span);
    let cond = &form.cond;
    let body = promise_block(Want::Unit, &form.body);
    quote_spanned!(span=>
        ::lwt::__private::while_loop(#site, move || {
            if #cond {
                ::core::option::Option::Some(#body)
            } else {
                ::core::option::Option::None
            }
        })
    )
}

pub fn for_form(form: ForForm) -> TokenStream {
    let span = form.range.span();
    let site = site(span);
    let range = &form.range;
    let pat = &form.pat;
    let body = promise_block(Want::Unit, &form.body);
    quote_spanned!(span=>
        ::lwt::__private::for_loop(#site, #range, move |#pat| #body)
    )
}

pub fn assert_form(form: AssertForm) -> TokenStream {
    let cond = &form.cond;
    let span = cond.span();
    let site = site(span);
    let message = match &form.message {
        Some(args) => quote_spanned!(span=> ::std::format!(#args)),
        None => quote_spanned!(span=>
            ::std::string::String::from(
                ::core::concat!("assertion failed: ", ::core::stringify!(#cond))
            )
        ),
    };
    quote_spanned!(span=>
        if #cond {
            ::lwt::resolved(())
        } else {
            ::lwt::__private::assert_failed(#site, #message)
        }
    )
}
