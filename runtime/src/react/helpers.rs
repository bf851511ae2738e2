//! Lifted helpers for common signal types: React's `S.Bool`, `S.Int` (and
//! `S.Float`), `S.Option` and `S.Pair`.

/// Boolean signals (React's `S.Bool`).
pub mod bool {
    use std::primitive::bool;

    use crate::react::event::Event;
    use crate::react::signal::{self, const_, Signal};

    /// The constant `false` (React's `S.Bool.zero`).
    pub fn zero() -> Signal<bool> {
        const_(false)
    }

    /// The constant `true` (React's `S.Bool.one`).
    pub fn one() -> Signal<bool> {
        const_(true)
    }

    /// The negation of `s` (React's `S.Bool.not`).
    ///
    /// ```
    /// use lwt::react::s;
    /// let (b, set) = s::create(false);
    /// let nb = s::bool::not(&b);
    /// set.set(true);
    /// assert!(!nb.value());
    /// ```
    pub fn not(s: &Signal<bool>) -> Signal<bool> {
        s.map(|b| !b)
    }

    /// `a && b` at every instant (React's `S.Bool.(&&)`).
    pub fn and(a: &Signal<bool>, b: &Signal<bool>) -> Signal<bool> {
        signal::l2(|x, y| *x && *y, a, b)
    }

    /// `a || b` at every instant (React's `S.Bool.(||)`).
    pub fn or(a: &Signal<bool>, b: &Signal<bool>) -> Signal<bool> {
        signal::l2(|x, y| *x || *y, a, b)
    }

    /// Occurs with the new value whenever `s` changes (React's
    /// `S.Bool.edge`).
    pub fn edge(s: &Signal<bool>) -> Event<bool> {
        s.changes()
    }

    /// Occurs when `s` goes from false to true (React's `S.Bool.rise`).
    ///
    /// ```
    /// use lwt::react::s;
    /// let (b, set) = s::create(false);
    /// let up = s::bool::rise(&b).next();
    /// set.set(true);
    /// assert!(up.is_fulfilled());
    /// ```
    pub fn rise(s: &Signal<bool>) -> Event<()> {
        edge(s).filter_map(|b| if *b { Some(()) } else { None })
    }

    /// Occurs when `s` goes from true to false (React's `S.Bool.fall`).
    pub fn fall(s: &Signal<bool>) -> Event<()> {
        edge(s).filter_map(|b| if *b { None } else { Some(()) })
    }

    /// A signal that starts at `init` and flips at each occurrence of `e`
    /// (React's `S.Bool.flip`).
    ///
    /// ```
    /// use lwt::react::{e, s};
    /// let (toggle, press) = e::create::<()>();
    /// let on = s::bool::flip(false, &toggle);
    /// press.send(());
    /// assert!(on.value());
    /// press.send(());
    /// assert!(!on.value());
    /// ```
    pub fn flip<T: 'static>(init: bool, e: &Event<T>) -> Signal<bool> {
        signal::fold(|acc: &bool, _: &T| !acc, init, e)
    }
}

/// Arithmetic on number signals (React's `S.Int` and `S.Float`, generic
/// over any type with the operators).
pub mod int {
    use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

    use crate::react::signal::{self, const_, Signal};

    /// The constant 0 (React's `S.Int.zero`).
    pub fn zero<T: From<u8> + 'static>() -> Signal<T> {
        const_(T::from(0))
    }

    /// The constant 1 (React's `S.Int.one`).
    pub fn one<T: From<u8> + 'static>() -> Signal<T> {
        const_(T::from(1))
    }

    /// The constant -1 (React's `S.Int.minus_one`).
    pub fn minus_one<T: From<i8> + 'static>() -> Signal<T> {
        const_(T::from(-1))
    }

    /// `-s` (React's `S.Int.(~-)`).
    pub fn neg<T: Neg<Output = T> + Clone + PartialEq + 'static>(s: &Signal<T>) -> Signal<T> {
        s.map(|x| -x.clone())
    }

    /// `s + 1` (React's `S.Int.succ`).
    pub fn succ<T: Add<Output = T> + From<u8> + Clone + PartialEq + 'static>(s: &Signal<T>) -> Signal<T> {
        s.map(|x| x.clone() + T::from(1))
    }

    /// `s - 1` (React's `S.Int.pred`).
    pub fn pred<T: Sub<Output = T> + From<u8> + Clone + PartialEq + 'static>(s: &Signal<T>) -> Signal<T> {
        s.map(|x| x.clone() - T::from(1))
    }

    /// `|s|` (React's `S.Int.abs`).
    pub fn abs<T: Neg<Output = T> + PartialOrd + From<u8> + Clone + 'static>(s: &Signal<T>) -> Signal<T> {
        s.map(|x| if *x < T::from(0) { -x.clone() } else { x.clone() })
    }

    macro_rules! binary {
        ($(#[$doc:meta])* $name:ident, $tr:ident, $op:tt) => {
            $(#[$doc])*
            pub fn $name<T: $tr<Output = T> + Clone + PartialEq + 'static>(a: &Signal<T>, b: &Signal<T>) -> Signal<T> {
                signal::l2(|x: &T, y: &T| x.clone() $op y.clone(), a, b)
            }
        };
    }

    binary!(
        /// `a + b` at every instant (React's `S.Int.(+)`).
        ///
        /// ```
        /// use lwt::react::s;
        /// let (a, set_a) = s::create(1);
        /// let b = s::const_(10);
        /// let sum = s::int::add(&a, &b);
        /// set_a.set(5);
        /// assert_eq!(sum.value(), 15);
        /// ```
        add, Add, +
    );
    binary!(
        /// `a - b` (React's `S.Int.(-)`).
        sub, Sub, -
    );
    binary!(
        /// `a * b` (React's `S.Int.( * )`).
        mul, Mul, *
    );
    binary!(
        /// `a / b` (React's `S.Float.(/.)`). An integer division by zero
        /// panics: inside a step that panic is contained (the signal keeps
        /// its value, the hook hears of it).
        div, Div, /
    );
    binary!(
        /// `a % b` (React's `S.Int.(mod)`); see [`div`] about zero.
        rem, Rem, %
    );
    binary!(
        /// Bitwise and (React's `S.Int.(land)`).
        bitand, BitAnd, &
    );
    binary!(
        /// Bitwise or (React's `S.Int.(lor)`).
        bitor, BitOr, |
    );
    binary!(
        /// Bitwise exclusive or (React's `S.Int.(lxor)`).
        bitxor, BitXor, ^
    );
    binary!(
        /// Shift left (React's `S.Int.(lsl)`).
        shl, Shl, <<
    );
    binary!(
        /// Shift right, arithmetic for signed types (React's `S.Int.(asr)`
        /// and `(lsr)` on unsigned types).
        shr, Shr, >>
    );

    /// Bitwise not (React's `S.Int.lnot`).
    pub fn bitnot<T: Not<Output = T> + Clone + PartialEq + 'static>(s: &Signal<T>) -> Signal<T> {
        s.map(|x| !x.clone())
    }
}

/// Signals of options (React's `S.Option`).
pub mod option {
    use crate::react::signal::{self, const_, SRepr, Signal};

    /// What [`value`] shows while the signal is `None`.
    pub enum Fallback<T: 'static> {
        /// The value of this signal at creation if the option is `None`
        /// then; afterwards the last `Some` value (React's `` `Init ``).
        Init(Signal<T>),
        /// The current value of this signal (React's `` `Always ``).
        Always(Signal<T>),
    }

    /// The constant `None` (React's `S.Option.none`).
    pub fn none<T: 'static>() -> Signal<Option<T>> {
        const_(None)
    }

    /// `s` wrapped in `Some`, with `s`'s own equality on the values (React's
    /// `S.Option.some`).
    pub fn some<T: Clone + 'static>(s: &Signal<T>) -> Signal<Option<T>> {
        match &s.0 {
            SRepr::Const(v) => const_(Some((**v).clone())),
            SRepr::Node(n) => {
                let eq = n.eq.clone();
                let eq2 = move |a: &Option<T>, b: &Option<T>| match (a, b) {
                    (Some(x), Some(y)) => eq(x, y),
                    (None, None) => true,
                    _ => false,
                };
                s.map_eq(eq2, |x| Some(x.clone()))
            }
        }
    }

    /// The `Some` values of `s`; while it is `None`, what `fallback` says
    /// (React's `S.Option.value`).
    ///
    /// ```
    /// use lwt::react::s;
    /// use lwt::react::s::option::Fallback;
    /// let (o, set) = s::create(None);
    /// let v = s::option::value(&o, Fallback::Always(s::const_(0)));
    /// assert_eq!(v.value(), 0);
    /// set.set(Some(4));
    /// assert_eq!(v.value(), 4);
    /// ```
    pub fn value<T: Clone + PartialEq + 'static>(s: &Signal<Option<T>>, fallback: Fallback<T>) -> Signal<T> {
        match fallback {
            Fallback::Always(d) => signal::l2(|o: &Option<T>, d: &T| o.clone().unwrap_or_else(|| d.clone()), s, &d),
            Fallback::Init(d) => {
                let init = s.value().unwrap_or_else(|| d.value());
                s.filter_map(Option::clone, init)
            }
        }
    }
}

/// Signals of pairs (React's `S.Pair`).
pub mod pair {
    use crate::react::signal::{self, Signal};

    /// The pair of both signals' values (React's `S.Pair.pair`).
    ///
    /// ```
    /// use lwt::react::s;
    /// let (a, set_a) = s::create(1);
    /// let p = s::pair::pair(&a, &s::const_("x"));
    /// set_a.set(2);
    /// assert_eq!(p.value(), (2, "x"));
    /// ```
    pub fn pair<A: Clone + PartialEq + 'static, B: Clone + PartialEq + 'static>(
        a: &Signal<A>,
        b: &Signal<B>,
    ) -> Signal<(A, B)> {
        signal::l2(|x: &A, y: &B| (x.clone(), y.clone()), a, b)
    }

    /// The first component (React's `S.Pair.fst`).
    pub fn fst<A: Clone + PartialEq + 'static, B: 'static>(s: &Signal<(A, B)>) -> Signal<A> {
        s.map(|p| p.0.clone())
    }

    /// The second component (React's `S.Pair.snd`).
    pub fn snd<A: 'static, B: Clone + PartialEq + 'static>(s: &Signal<(A, B)>) -> Signal<B> {
        s.map(|p| p.1.clone())
    }
}
