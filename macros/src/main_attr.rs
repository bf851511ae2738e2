//! `#[lwt::main]` and `#[lwt::test]`: run the promise a function's body
//! evaluates to, on the event loop, and return its value.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{GenericArgument, Item, ItemFn, PathArguments, ReturnType, Type};

use crate::check::Errors;
use crate::expand::{promise_block, Want};

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[lwt::main]",
            Kind::Test => "#[lwt::test]",
        }
    }
}

pub fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let name = kind.name();
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => f,
        Ok(other) => {
            let error = syn::Error::new(
                first_token_span(&other),
                format!("{name} goes on a function, as in `{name} fn main() {{ ... }}`"),
            );
            let error = error.into_compile_error();
            return quote!(#error #item);
        }
        Err(e) => {
            let error = e.into_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.error(args.span(), format!("{name} takes no arguments: write `{name}` alone"));
    }
    let output = check_signature(kind, &parsed, &mut errors);
    match errors.finish() {
        Ok(()) => generate(kind, parsed, output),
        Err(e) => {
            let error = e.into_compile_error();
            // Keep a `main` so that the crate reports only this mistake.
            let ident = &parsed.sig.ident;
            let stand_in = if kind == Kind::Main && ident == "main" {
                quote!(
                    fn main() {}
                )
            } else {
                quote!()
            };
            quote!(#error #stand_in)
        }
    }
}

/// The span of an item's first token after its attributes (`struct`, `mod`...).
fn first_token_span(item: &Item) -> Span {
    let mut tokens = item.to_token_stream().into_iter();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            other => return other.span(),
        }
    }
    Span::call_site()
}

/// The `T` of a declared `-> Promise<T>`, or `None` for no return type.
fn check_signature(kind: Kind, f: &ItemFn, errors: &mut Errors) -> Option<Type> {
    let name = kind.name();
    let sig = &f.sig;
    if let Some(asyncness) = &sig.asyncness {
        errors.error(
            asyncness.span,
            format!(
                "{name} runs the promise that the body evaluates to, so the function cannot \
                 be `async`: remove `async` and end the body with a promise (an async block \
                 becomes one with `lwt::spawn(async {{ ... }})`)"
            ),
        );
    }
    if let Some(constness) = &sig.constness {
        errors.error(constness.span, format!("{name} cannot go on a `const fn`"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.error(sig.generics.span(), format!("{name} cannot go on a generic function"));
    }
    if !sig.inputs.is_empty() {
        let message = match kind {
            Kind::Main => {
                "the main function cannot take arguments: remove them (read command-line arguments \
                 with `std::env::args()`)"
            }
            Kind::Test => "a test function cannot take arguments: remove them",
        };
        errors.spanned(&sig.inputs, message);
    }
    if let Some(variadic) = &sig.variadic {
        errors.error(variadic.span(), format!("{name} cannot go on a variadic function"));
    }
    match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => match promise_output(ty) {
            Some(t) => Some(t.clone()),
            None => {
                errors.spanned(
                    ty,
                    format!(
                        "{name} runs the promise that the body evaluates to: declare it as \
                         `-> lwt::Promise<T>` (the function then returns `T`), or leave the \
                         return type out for a `Promise<()>`"
                    ),
                );
                None
            }
        },
    }
}

fn promise_output(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Promise" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

fn generate(kind: Kind, f: ItemFn, output: Option<Type>) -> TokenStream {
    let declared = match &f.sig.output {
        ReturnType::Type(_, ty) => Some((**ty).clone()),
        ReturnType::Default => None,
    };
    let ItemFn {
        attrs, vis, sig, block, ..
    } = f;
    let ident = &sig.ident;
    let body_span = block.brace_token.span.join();
    let promise = syn::Ident::new("__lwt_promise", Span::mixed_site());
    let body = promise_block(Want::Promise, &block);
    // The declared `Promise<T>` stays as written (it may use an import).
    let (ret, promise_ty) = match (&output, &declared) {
        (Some(t), Some(declared)) => (quote_spanned!(t.span()=> -> #t), quote!(#declared)),
        _ => (quote!(), quote_spanned!(body_span=> ::lwt::Promise<()>)),
    };
    let (test_attr, driver) = match kind {
        Kind::Main => (quote!(), quote!(run_main)),
        Kind::Test => (quote!(#[::core::prelude::v1::test]), quote!(run_test)),
    };
    quote! {
        #(#attrs)*
        #test_attr
        #vis fn #ident() #ret {
            let #promise: #promise_ty = #body;
            ::lwt::__private::#driver(#promise)
        }
    }
}
