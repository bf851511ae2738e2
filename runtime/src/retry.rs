//! Retrying computations that fail now and then: Lwt's `Lwt_retry`, plus
//! backoff policies in the manner of Rust's retry crates.
//!
//! # Lwt_retry
//!
//! An operation says whether a failure is worth retrying by returning
//! [`Error::Retry`] or [`Error::Fatal`]. [`on_error`] turns it into a stream
//! of [`Attempt`]s, made one at a time as the stream is read, numbered from 1,
//! and ending after the first success or fatal error. [`with_sleep`] delays
//! each failed attempt before handing it over (so before the next attempt
//! starts), and [`n_times`] reads at most `n + 1` attempts and returns the
//! last one:
//!
//! ```
//! use lwt::retry::{self, Error};
//! let mut calls = 0;
//! let attempts = retry::on_error(move || {
//!     calls += 1;
//!     lwt::resolved(if calls < 3 { Err(Error::<&str, ()>::Retry("busy")) } else { Ok(calls) })
//! });
//! let outcome = retry::n_times(5, &attempts);
//! assert_eq!(outcome.state(), lwt::State::Fulfilled(Ok(3)));
//! ```
//!
//! The sleeps go through a [`Sleeper`], a function from a duration to a
//! promise. [`with_sleep`] and [`with_sleep_duration`] use
//! [`lwt::unix::sleep`](crate::unix::sleep) (feature `unix`);
//! [`with_sleep_using`] takes any sleeper, which is also how tests avoid
//! waiting for real.
//!
//! # Policies
//!
//! A [`Policy`] retries an operation returning `Promise<Result<T, E>>` (or,
//! with [`Policy::run_promise`], a promise whose rejections are the errors)
//! with a choice of backoff — [`constant`](Policy::constant),
//! [`exponential`](Policy::exponential), [`fibonacci`](Policy::fibonacci) —
//! optional jitter from a small seedable generator, a cap on each delay, a
//! budget for the total delay, a maximum number of attempts, a predicate
//! saying which errors are worth retrying, a delay read from the error itself
//! (a `Retry-After`), and a hook told about every retry. Canceling the
//! promise of a run cancels the attempt in flight or the sleep, and no
//! further attempt is made.
//!
//! Deliberate differences from Lwt_retry:
//! - The error type is [`Error<R, F>`] (Lwt's polymorphic variants
//!   `` `Retry `` / `` `Fatal ``); an [`Attempt`] is
//!   `Result<T, (Error<R, F>, u32)>`.
//! - `pp_error ?retry ?fatal` is [`Error::display_with`] (and [`pp_error`]);
//!   plain `Display` prints the payloads as `<opaque>`, as `pp_error` does
//!   without printers.
//! - [`n_times`] with a negative `n` gives a promise rejected with
//!   [`ErrorKind::InvalidArgument`](crate::ErrorKind) (Lwt raises), and
//!   makes no attempt.
//! - Durations are [`Duration`]s, not float seconds.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;
use std::time::Duration;

use crate::core::{apply, rejected, resolved, Promise};
use crate::stream::{self, Stream};

/// A function that sleeps: gives a promise fulfilled once the duration has
/// passed. Canceling the promise should stop the timer, as
/// [`lwt::unix::sleep`](crate::unix::sleep)'s does.
///
/// ```
/// use std::{rc::Rc, time::Duration};
/// // A sleeper for tests: records the delay and resumes at the next turn.
/// let slept = Rc::new(std::cell::RefCell::new(Vec::new()));
/// let s = slept.clone();
/// let sleeper: lwt::retry::Sleeper = Rc::new(move |d: Duration| { s.borrow_mut().push(d); lwt::pause() });
/// let p = sleeper(Duration::from_secs(4));
/// lwt::wakeup_paused();
/// assert!(p.is_fulfilled());
/// assert_eq!(*slept.borrow(), vec![Duration::from_secs(4)]);
/// ```
pub type Sleeper = Rc<dyn Fn(Duration) -> Promise<()>>;

/// The sleeper on the event loop's timers: [`lwt::unix::sleep`](crate::unix::sleep).
#[cfg(feature = "unix")]
pub fn default_sleeper() -> Sleeper {
    Rc::new(crate::unix::sleep)
}

/// Why an attempt failed (Lwt_retry's `` [`Retry of 'r | `Fatal of 'f] ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error<R, F> {
    /// A failure worth retrying.
    Retry(R),
    /// A failure that retrying cannot fix: the attempts stop.
    Fatal(F),
}

/// The outcome of one attempt: the value, or the error with the number of
/// the attempt that produced it, counted from 1 (Lwt_retry's `attempt`).
pub type Attempt<T, R, F> = Result<T, (Error<R, F>, u32)>;

/// Writes `<opaque>`: the printer [`Error::display_with`] and [`pp_error`]
/// use when none is given.
pub fn opaque<T: ?Sized>(_: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("<opaque>")
}

type Printer<'a, T> = Box<dyn Fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result + 'a>;

/// An [`Error`] shown with the given printers; see [`Error::display_with`].
pub struct DisplayWith<'a, R, F> {
    err: &'a Error<R, F>,
    retry: Printer<'a, R>,
    fatal: Printer<'a, F>,
}

impl<R, F> fmt::Display for DisplayWith<'_, R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.err {
            Error::Retry(r) => {
                f.write_str("`Retry ")?;
                (self.retry)(r, f)
            }
            Error::Fatal(x) => {
                f.write_str("`Fatal ")?;
                (self.fatal)(x, f)
            }
        }
    }
}

impl<R, F> Error<R, F> {
    /// Shows the error as `` `Retry <payload> `` or `` `Fatal <payload> ``,
    /// each payload written by its printer (Lwt_retry's `pp_error ~retry
    /// ~fatal`); pass [`opaque`] for a payload to hide.
    ///
    /// ```
    /// use lwt::retry::{opaque, Error};
    /// let e: Error<f64, i32> = Error::Retry(3.5);
    /// assert_eq!(e.display_with(|r, f| write!(f, "{r}"), opaque).to_string(), "`Retry 3.5");
    /// assert_eq!(Error::<(), i32>::Fatal(42).to_string(), "`Fatal <opaque>");
    /// ```
    pub fn display_with<'a>(
        &'a self,
        retry: impl Fn(&R, &mut fmt::Formatter<'_>) -> fmt::Result + 'a,
        fatal: impl Fn(&F, &mut fmt::Formatter<'_>) -> fmt::Result + 'a,
    ) -> DisplayWith<'a, R, F> {
        DisplayWith {
            err: self,
            retry: Box::new(retry),
            fatal: Box::new(fatal),
        }
    }

    /// Whether this is [`Error::Retry`].
    pub fn is_retry(&self) -> bool {
        matches!(self, Error::Retry(_))
    }

    /// Whether this is [`Error::Fatal`].
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::Fatal(_))
    }
}

impl<R, F> fmt::Display for Error<R, F> {
    /// `` `Retry <opaque> `` or `` `Fatal <opaque> ``: Lwt's `pp_error`
    /// without printers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.display_with(opaque, opaque), f)
    }
}

/// Lwt_retry's `pp_error`: the error written with optional printers for the
/// payloads (`None` writes `<opaque>`).
///
/// ```
/// use lwt::retry::{pp_error, Error};
/// let show = |x: &i32, f: &mut std::fmt::Formatter<'_>| write!(f, "{x}");
/// assert_eq!(pp_error(&Error::<(), i32>::Fatal(42), None, Some(&show)), "`Fatal 42");
/// ```
#[allow(clippy::type_complexity)]
pub fn pp_error<R, F>(
    e: &Error<R, F>,
    retry: Option<&dyn Fn(&R, &mut fmt::Formatter<'_>) -> fmt::Result>,
    fatal: Option<&dyn Fn(&F, &mut fmt::Formatter<'_>) -> fmt::Result>,
) -> String {
    e.display_with(
        |r, f| match retry {
            Some(p) => p(r, f),
            None => opaque(r, f),
        },
        |x, f| match fatal {
            Some(p) => p(x, f),
            None => opaque(x, f),
        },
    )
    .to_string()
}

/// Compares two errors with the given equalities for each payload; a
/// `Retry` never equals a `Fatal` (Lwt_retry's `equal_error`). With
/// `PartialEq` payloads, `==` does the same.
///
/// ```
/// use lwt::retry::{equal_error, Error};
/// let same_len = |a: &&str, b: &&str| a.len() == b.len();
/// assert!(equal_error(same_len, |_: &(), _: &()| true, &Error::Retry("ab"), &Error::Retry("cd")));
/// assert!(!equal_error(same_len, |_: &(), _: &()| true, &Error::Retry("ab"), &Error::Fatal(())));
/// ```
pub fn equal_error<R, F>(
    retry: impl Fn(&R, &R) -> bool,
    fatal: impl Fn(&F, &F) -> bool,
    a: &Error<R, F>,
    b: &Error<R, F>,
) -> bool {
    match (a, b) {
        (Error::Retry(x), Error::Retry(y)) => retry(x, y),
        (Error::Fatal(x), Error::Fatal(y)) => fatal(x, y),
        _ => false,
    }
}

/// Lwt_retry's default backoff: `n · 2 · 2ⁿ` seconds before handing over
/// failed attempt `n`, that is 4 s, 16 s, 48 s, 128 s, 320 s, 768 s, 1792 s
/// for attempts 1 to 7 (0 s for `n = 0`). Saturates instead of overflowing.
///
/// ```
/// use std::time::Duration;
/// let d: Vec<u64> = (0..6).map(|n| lwt::retry::default_sleep_duration(n).as_secs()).collect();
/// assert_eq!(d, vec![0, 4, 16, 48, 128, 320]);
/// ```
pub fn default_sleep_duration(n: u32) -> Duration {
    let secs = u64::from(n).saturating_mul(2).saturating_mul(2u64.saturating_pow(n));
    Duration::from_secs(secs)
}

/// The stream of attempts to run `f`, made one at a time as the stream is
/// read (Lwt_retry's `on_error`). Attempts are numbered from 1; a
/// `Retry` error is followed by another attempt, while a success or a
/// `Fatal` error is the last element. A rejection of `f`'s promise (or a
/// panic) reaches the reader, and the next read tries again.
///
/// ```
/// use lwt::retry::{self, Error};
/// let attempts = retry::on_error(|| lwt::resolved(Err::<(), _>(Error::<(), ()>::Retry(()))));
/// let first = attempts.nget(3);
/// assert_eq!(
///     first.state(),
///     lwt::State::Fulfilled(vec![Err((Error::Retry(()), 1)), Err((Error::Retry(()), 2)), Err((Error::Retry(()), 3))])
/// );
/// ```
pub fn on_error<T: 'static, R: 'static, F: 'static>(
    mut f: impl FnMut() -> Promise<Result<T, Error<R, F>>> + 'static,
) -> Stream<Attempt<T, R, F>> {
    let attempt = Rc::new(Cell::new(0u32));
    let stop = Rc::new(Cell::new(false));
    stream::from(move || {
        if stop.get() {
            return resolved(None);
        }
        let n = attempt.get().saturating_add(1);
        attempt.set(n);
        let stop = stop.clone();
        f().map(move |r| match r {
            Ok(v) => {
                stop.set(true);
                Some(Ok(v))
            }
            Err(e @ Error::Fatal(_)) => {
                stop.set(true);
                Some(Err((e, n)))
            }
            Err(e @ Error::Retry(_)) => Some(Err((e, n))),
        })
    })
}

/// The attempts of `attempts`, each failed one handed over only after
/// sleeping `duration(n)` with `sleeper`, `n` being its number (Lwt_retry's
/// `with_sleep ~duration`, with the sleep function given). Successes pass at
/// once; like Lwt, a `Fatal` attempt is delayed too.
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// use lwt::retry::{self, Error};
/// let slept = Rc::new(RefCell::new(Vec::new()));
/// let s = slept.clone();
/// let sleeper: retry::Sleeper = Rc::new(move |d| { s.borrow_mut().push(d); lwt::pause() });
/// let attempts = retry::on_error(|| lwt::resolved(Err::<(), _>(Error::<(), ()>::Retry(()))));
/// let delayed = retry::with_sleep_using(retry::default_sleep_duration, sleeper, &attempts);
/// let outcome = retry::n_times(2, &delayed);
/// while outcome.is_pending() { lwt::wakeup_paused(); }
/// assert_eq!(outcome.state(), lwt::State::Fulfilled(Err((Error::Retry(()), 3))));
/// assert_eq!(*slept.borrow(), [4, 16, 48].map(Duration::from_secs));
/// ```
pub fn with_sleep_using<T: 'static, R: 'static, F: 'static>(
    duration: impl Fn(u32) -> Duration + 'static,
    sleeper: Sleeper,
    attempts: &Stream<Attempt<T, R, F>>,
) -> Stream<Attempt<T, R, F>> {
    attempts.map_s(move |a| match a {
        Ok(v) => resolved(Ok(v)),
        Err((e, n)) => sleeper(duration(n)).map(move |()| Err((e, n))),
    })
}

/// [`with_sleep_using`] with [`default_sleep_duration`] and the event loop's
/// [`sleep`](crate::unix::sleep) (Lwt_retry's `with_sleep`).
#[cfg(feature = "unix")]
pub fn with_sleep<T: 'static, R: 'static, F: 'static>(attempts: &Stream<Attempt<T, R, F>>) -> Stream<Attempt<T, R, F>> {
    with_sleep_using(default_sleep_duration, default_sleeper(), attempts)
}

/// [`with_sleep_using`] with the event loop's [`sleep`](crate::unix::sleep)
/// (Lwt_retry's `with_sleep ~duration`).
#[cfg(feature = "unix")]
pub fn with_sleep_duration<T: 'static, R: 'static, F: 'static>(
    duration: impl Fn(u32) -> Duration + 'static,
    attempts: &Stream<Attempt<T, R, F>>,
) -> Stream<Attempt<T, R, F>> {
    with_sleep_using(duration, default_sleeper(), attempts)
}

/// Reads at most `n + 1` attempts and gives the last one read: the first
/// success, the first fatal error, or the error of attempt `n + 1` (Lwt_retry's
/// `n_times`). `n = 0` makes exactly one attempt.
///
/// Rejects with [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `n` is
/// negative (no attempt is made), and with a failure if the stream has no
/// attempt at all.
///
/// ```
/// use lwt::retry::{self, Error};
/// let attempts = retry::on_error(|| lwt::resolved(Err::<(), _>(Error::<(), ()>::Retry(()))));
/// assert_eq!(retry::n_times(0, &attempts).state(), lwt::State::Fulfilled(Err((Error::Retry(()), 1))));
/// assert!(retry::n_times(-1, &attempts).is_rejected());
/// ```
pub fn n_times<T: 'static, R: 'static, F: 'static>(
    n: i32,
    attempts: &Stream<Attempt<T, R, F>>,
) -> Promise<Attempt<T, R, F>> {
    if n < 0 {
        return crate::core::fail_invalid_arg("Lwt_retry.n_times: n must be non-negative");
    }
    let tries = n as usize + 1;
    attempts.nget(tries).bind(|mut got| match got.pop() {
        Some(last) => resolved(last),
        None => crate::core::fail_with("Lwt_retry.n_times: impossible (the stream of attempts is empty)"),
    })
}

// ------------------------------------------------------------------ policies

/// A small pseudo-random generator (SplitMix64) for jitter: seedable, so a
/// run can be replayed, and free of any dependency.
#[derive(Clone, Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn random_seed() -> u64 {
    // The standard library seeds each `RandomState` from the OS.
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Constant,
    Exponential(f64),
    Fibonacci,
}

fn scale(base: Duration, factor: f64) -> Duration {
    if !factor.is_finite() || factor <= 0.0 {
        return if factor > 0.0 { Duration::MAX } else { Duration::ZERO };
    }
    Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// The `k`-th Fibonacci number (1, 1, 2, 3, 5, ...), as a float that
/// saturates to infinity.
fn fibonacci(k: u32) -> f64 {
    let (mut a, mut b) = (0.0f64, 1.0f64);
    for _ in 0..k.min(2000) {
        let c = a + b;
        a = b;
        b = c;
    }
    a
}

type RetryIf<E> = Rc<RefCell<dyn FnMut(&E) -> bool>>;
type DelayFrom<E> = Rc<RefCell<dyn FnMut(&E) -> Option<Duration>>>;
type Notify<E> = Rc<RefCell<dyn FnMut(&E, u32, Duration)>>;

/// How to retry: a backoff, limits, and hooks (not in Lwt; in the manner of
/// the `backon` crate). A policy is a value: clone it, keep it, run it as
/// often as you like.
///
/// The delay before retry `k` (that is, after failed attempt `k`, counted
/// from 1) is, with `b` the base delay:
///
/// | backoff | delay `k` | first values for `b` = 100 ms |
/// |---|---|---|
/// | [`constant`](Self::constant) | `b` | 100, 100, 100, 100 ms |
/// | [`exponential`](Self::exponential) (factor `f`) | `b · fᵏ⁻¹` | 100, 200, 400, 800, 1600 ms (`f` = 2) |
/// | [`fibonacci`](Self::fibonacci) | `b · Fib(k)` | 100, 100, 200, 300, 500, 800 ms |
///
/// then, in this order: capped by [`max_delay`](Self::max_delay); replaced
/// by the error's own delay if [`delay_from`](Self::delay_from) gives one
/// (also capped, never jittered); with [`jitter`](Self::jitter), drawn
/// uniformly from `[0, delay]` ("full jitter"). A run stops retrying when the
/// error fails [`retry_if`](Self::retry_if), when [`max_attempts`](Self::max_attempts)
/// attempts were made (default: 4, that is one try and three retries), or
/// when the next delay would take the total slept beyond
/// [`max_total_delay`](Self::max_total_delay); it then gives the last error.
///
/// ```
/// use std::{rc::Rc, time::Duration};
/// use lwt::retry::Policy;
/// let ms = Duration::from_millis;
/// let p = Policy::<()>::exponential(ms(100), 2.0).max_attempts(6).max_delay(ms(1000));
/// assert_eq!(p.delays().collect::<Vec<_>>(), vec![ms(100), ms(200), ms(400), ms(800), ms(1000)]);
///
/// // Retry a flaky operation; the sleeper here resumes at the next turn.
/// let sleeper: lwt::retry::Sleeper = Rc::new(|_| lwt::pause());
/// let mut calls = 0;
/// let outcome = Policy::constant(ms(10)).sleeper(sleeper).run(move || {
///     calls += 1;
///     lwt::resolved(if calls < 3 { Err("busy") } else { Ok(calls) })
/// });
/// while outcome.is_pending() { lwt::wakeup_paused(); }
/// assert_eq!(outcome.state(), lwt::State::Fulfilled(Ok(3)));
/// ```
pub struct Policy<E: 'static> {
    shape: Shape,
    base: Duration,
    max_delay: Option<Duration>,
    max_total: Option<Duration>,
    max_attempts: u32,
    jitter: bool,
    seed: Option<u64>,
    retry_if: Option<RetryIf<E>>,
    delay_from: Option<DelayFrom<E>>,
    notify: Option<Notify<E>>,
    sleeper: Option<Sleeper>,
}

impl<E: 'static> Clone for Policy<E> {
    fn clone(&self) -> Self {
        Policy {
            shape: self.shape,
            base: self.base,
            max_delay: self.max_delay,
            max_total: self.max_total,
            max_attempts: self.max_attempts,
            jitter: self.jitter,
            seed: self.seed,
            retry_if: self.retry_if.clone(),
            delay_from: self.delay_from.clone(),
            notify: self.notify.clone(),
            sleeper: self.sleeper.clone(),
        }
    }
}

impl<E: 'static> fmt::Debug for Policy<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("backoff", &self.shape)
            .field("base", &self.base)
            .field("max_delay", &self.max_delay)
            .field("max_total_delay", &self.max_total)
            .field("max_attempts", &self.max_attempts)
            .field("jitter", &self.jitter)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl<E: 'static> Policy<E> {
    fn with_shape(shape: Shape, base: Duration) -> Policy<E> {
        Policy {
            shape,
            base,
            max_delay: None,
            max_total: None,
            max_attempts: 4,
            jitter: false,
            seed: None,
            retry_if: None,
            delay_from: None,
            notify: None,
            #[cfg(feature = "unix")]
            sleeper: Some(default_sleeper()),
            #[cfg(not(feature = "unix"))]
            sleeper: None,
        }
    }

    /// The same delay before every retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = lwt::retry::Policy::<()>::constant(Duration::from_secs(1)).max_attempts(4);
    /// assert_eq!(p.delays().collect::<Vec<_>>(), vec![Duration::from_secs(1); 3]);
    /// ```
    pub fn constant(delay: Duration) -> Policy<E> {
        Policy::with_shape(Shape::Constant, delay)
    }

    /// `initial · factorᵏ⁻¹` before retry `k`: with 1 s and a factor of 2,
    /// 1 s, 2 s, 4 s, 8 s... A factor that is not a positive number gives
    /// zero delays.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = lwt::retry::Policy::<()>::exponential(Duration::from_secs(1), 3.0).max_attempts(5);
    /// assert_eq!(p.delays().map(|d| d.as_secs()).collect::<Vec<_>>(), vec![1, 3, 9, 27]);
    /// ```
    pub fn exponential(initial: Duration, factor: f64) -> Policy<E> {
        Policy::with_shape(Shape::Exponential(factor), initial)
    }

    /// `initial · Fib(k)` before retry `k` (Fib = 1, 1, 2, 3, 5, 8, ...):
    /// with 1 s, 1 s, 1 s, 2 s, 3 s, 5 s...
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = lwt::retry::Policy::<()>::fibonacci(Duration::from_secs(1)).max_attempts(7);
    /// assert_eq!(p.delays().map(|d| d.as_secs()).collect::<Vec<_>>(), vec![1, 1, 2, 3, 5, 8]);
    /// ```
    pub fn fibonacci(initial: Duration) -> Policy<E> {
        Policy::with_shape(Shape::Fibonacci, initial)
    }

    /// Caps every delay at `d`.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = Some(d);
        self
    }

    /// Stops retrying when the next delay would take the total time slept by
    /// this run beyond `d` (the time spent in attempts is not counted).
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = lwt::retry::Policy::<()>::constant(Duration::from_secs(4))
    ///     .max_attempts(100)
    ///     .max_total_delay(Duration::from_secs(10));
    /// assert_eq!(p.delays().count(), 2); // 4 s + 4 s; a third would make 12 s
    /// ```
    pub fn max_total_delay(mut self, d: Duration) -> Self {
        self.max_total = Some(d);
        self
    }

    /// Makes at most `n` attempts in all: one try and `n - 1` retries.
    /// `u32::MAX` is, in practice, no limit. A run with `n = 0` is rejected
    /// with [`ErrorKind::InvalidArgument`](crate::ErrorKind).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Draws each delay uniformly from `[0, delay]` ("full jitter"), so that
    /// many clients do not retry in step. Each run seeds its generator
    /// afresh from the OS; see [`jitter_seed`](Self::jitter_seed).
    pub fn jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// Turns jitter on with a fixed seed: every run then draws the same
    /// delays, which makes runs replayable.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = lwt::retry::Policy::<()>::constant(Duration::from_secs(10)).max_attempts(4).jitter_seed(7);
    /// let a: Vec<_> = p.delays().collect();
    /// assert_eq!(a, p.delays().collect::<Vec<_>>());
    /// assert!(a.iter().all(|d| *d <= Duration::from_secs(10)));
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter = true;
        self.seed = Some(seed);
        self
    }

    /// Retries only the errors for which `f` is true; any other error ends
    /// the run at once (it is fatal). By default every error is retried.
    pub fn retry_if(mut self, f: impl FnMut(&E) -> bool + 'static) -> Self {
        self.retry_if = Some(Rc::new(RefCell::new(f)));
        self
    }

    /// Takes the delay from the error when `f` returns one (a server's
    /// `Retry-After`, say): it replaces the backoff's delay, is capped by
    /// [`max_delay`](Self::max_delay), and is not jittered.
    pub fn delay_from(mut self, f: impl FnMut(&E) -> Option<Duration> + 'static) -> Self {
        self.delay_from = Some(Rc::new(RefCell::new(f)));
        self
    }

    /// Calls `f` before each retry with the error, the number of the attempt
    /// that failed (from 1) and the delay about to be slept.
    pub fn notify(mut self, f: impl FnMut(&E, u32, Duration) + 'static) -> Self {
        self.notify = Some(Rc::new(RefCell::new(f)));
        self
    }

    /// Sleeps with `s` instead of the event loop's timers.
    pub fn sleeper(mut self, s: Sleeper) -> Self {
        self.sleeper = Some(s);
        self
    }

    fn backoff(&self, k: u32) -> Duration {
        let raw = match self.shape {
            Shape::Constant => self.base,
            // A factor that is not a positive number gives zero delays (as
            // documented): `powi` would give 1 for the first retry and
            // alternate signs for a negative factor.
            Shape::Exponential(f) if f.is_nan() || f <= 0.0 => Duration::ZERO,
            Shape::Exponential(f) => scale(self.base, f.powi(k.saturating_sub(1).min(i32::MAX as u32) as i32)),
            Shape::Fibonacci => scale(self.base, fibonacci(k)),
        };
        match self.max_delay {
            Some(m) => raw.min(m),
            None => raw,
        }
    }

    fn new_rng(&self) -> SplitMix {
        SplitMix(self.seed.unwrap_or_else(random_seed))
    }

    /// The delay before retry `k`, if the policy retries at all: `None` when
    /// the attempts or the total budget are used up.
    fn next_delay(
        &self,
        k: u32,
        from_error: Option<Duration>,
        slept: Duration,
        rng: &mut SplitMix,
    ) -> Option<Duration> {
        if k >= self.max_attempts {
            return None;
        }
        let d = match from_error {
            Some(d) => match self.max_delay {
                Some(m) => d.min(m),
                None => d,
            },
            None => {
                let d = self.backoff(k);
                if self.jitter {
                    scale(d, rng.next_f64())
                } else {
                    d
                }
            }
        };
        match self.max_total {
            Some(budget) if slept.saturating_add(d) > budget => None,
            _ => Some(d),
        }
    }

    /// The delays a run would sleep if every attempt failed with an error
    /// that is retried and carries no delay of its own.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut rng = self.new_rng();
        let mut slept = Duration::ZERO;
        let mut k = 0u32;
        std::iter::from_fn(move || {
            k = k.checked_add(1)?;
            let d = self.next_delay(k, None, slept, &mut rng)?;
            slept = slept.saturating_add(d);
            Some(d)
        })
    }

    /// Runs `f` until it gives `Ok`, an error that is not retried, or the
    /// policy gives up; resolves with that last result. A rejection of `f`'s
    /// promise (or a panic, or a cancellation) is not an `E`: it ends the run
    /// and rejects the result. Canceling the result cancels the attempt in
    /// flight or the sleep.
    ///
    /// Rejects with [`ErrorKind::InvalidArgument`](crate::ErrorKind) when
    /// `max_attempts` is 0, or when there is no sleeper (without the `unix`
    /// feature, set one with [`sleeper`](Self::sleeper)).
    pub fn run<T: 'static>(&self, f: impl FnMut() -> Promise<Result<T, E>> + 'static) -> Promise<Result<T, E>> {
        if self.max_attempts == 0 {
            return crate::core::fail_invalid_arg("lwt::retry::Policy::run: max_attempts must be at least 1");
        }
        let Some(sleeper) = self.sleeper.clone() else {
            return crate::core::fail_invalid_arg(
                "lwt::retry::Policy::run: no sleeper (enable the `unix` feature or call `.sleeper(...)`)",
            );
        };
        let run = Run {
            policy: self.clone(),
            sleeper,
            f,
            attempt: 0,
            slept: Duration::ZERO,
            rng: self.new_rng(),
        };
        attempt(run)
    }
}

impl Policy<crate::Error> {
    /// [`run`](Self::run) for an operation whose failures are rejections:
    /// retries rejected promises (never a cancellation) and rejects with the
    /// last error when the policy gives up.
    ///
    /// ```
    /// use std::rc::Rc;
    /// let sleeper: lwt::retry::Sleeper = Rc::new(|_| lwt::pause());
    /// let mut calls = 0;
    /// let p = lwt::retry::Policy::constant(std::time::Duration::ZERO).sleeper(sleeper).run_promise(move || {
    ///     calls += 1;
    ///     if calls == 1 { lwt::fail_with("flaky") } else { lwt::resolved(calls) }
    /// });
    /// while p.is_pending() { lwt::wakeup_paused(); }
    /// assert_eq!(p.state(), lwt::State::Fulfilled(2));
    /// ```
    pub fn run_promise<T: 'static>(&self, mut f: impl FnMut() -> Promise<T> + 'static) -> Promise<T> {
        self.run(move || {
            f().then(|r| match r {
                Err(e) if e.is_canceled() => rejected(e),
                r => resolved(r),
            })
        })
        .bind(crate::core::of_result)
    }
}

struct Run<E: 'static, F> {
    policy: Policy<E>,
    sleeper: Sleeper,
    f: F,
    attempt: u32,
    slept: Duration,
    rng: SplitMix,
}

fn attempt<T: 'static, E: 'static, F: FnMut() -> Promise<Result<T, E>> + 'static>(
    mut run: Run<E, F>,
) -> Promise<Result<T, E>> {
    run.attempt = run.attempt.saturating_add(1);
    let p = apply(|()| (run.f)(), ());
    p.bind(move |r| {
        let e = match r {
            Ok(v) => return resolved(Ok(v)),
            Err(e) => e,
        };
        let retry = match &run.policy.retry_if {
            Some(pred) => (pred.borrow_mut())(&e),
            None => true,
        };
        if !retry {
            return resolved(Err(e));
        }
        let from_error = run.policy.delay_from.as_ref().and_then(|f| (f.borrow_mut())(&e));
        let Some(d) = run.policy.next_delay(run.attempt, from_error, run.slept, &mut run.rng) else {
            return resolved(Err(e));
        };
        if let Some(n) = &run.policy.notify {
            (n.borrow_mut())(&e, run.attempt, d);
        }
        drop(e);
        run.slept = run.slept.saturating_add(d);
        let sleep = (run.sleeper)(d);
        sleep.bind(move |()| attempt(run))
    })
}
