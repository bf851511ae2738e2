//! Lwt_retry (formatting, the stream of attempts, with_sleep, n_times) and
//! the retry policies (backoffs, jitter, limits, hooks, cancellation).
//! Sleeping goes through a recording sleeper that resumes at the next turn:
//! nothing here waits for real time.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::rc::Rc;
use std::time::Duration;

use lwt::retry::{self, equal_error, opaque, pp_error, Attempt, Error as RetryError, Policy, Sleeper};
use lwt::{pause, resolved, stream, task, ErrorKind, Promise, State};

mod drive;
use drive::{fulfilled, rejected_with, settle};

/// A sleeper that records each delay and resumes at the next turn.
fn recording_sleeper() -> (Sleeper, Rc<RefCell<Vec<Duration>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let sleeper: Sleeper = Rc::new(move |d| {
        l.borrow_mut().push(d);
        pause()
    });
    (sleeper, log)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

type Unit = RetryError<(), ()>;

/// An operation failing with `Retry` `retries` times, then giving `last`.
fn script(retries: u32, last: Result<(), Unit>) -> (impl FnMut() -> Promise<Result<(), Unit>>, Rc<Cell<u32>>) {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let op = move || {
        c.set(c.get() + 1);
        resolved(if c.get() <= retries {
            Err(RetryError::Retry(()))
        } else {
            last
        })
    };
    (op, calls)
}

// --------------------------------------------------------------- formatting

#[test]
fn formats_retry_outcomes_with_a_printer() {
    let e: RetryError<f64, i32> = RetryError::Retry(3.5);
    let shown = e
        .display_with(|r, f| write!(f, "{r}"), |x, f| write!(f, "{x}"))
        .to_string();
    assert_eq!(shown, "`Retry 3.5");
}

#[test]
fn formats_fatal_outcomes_with_a_printer() {
    let show = |x: &i32, f: &mut std::fmt::Formatter<'_>| write!(f, "{x}");
    assert_eq!(
        pp_error(&RetryError::<f64, i32>::Fatal(42), None, Some(&show)),
        "`Fatal 42"
    );
}

#[test]
fn formats_with_the_opaque_default_printer() {
    assert_eq!(RetryError::<f64, i32>::Fatal(42).to_string(), "`Fatal <opaque>");
    assert_eq!(RetryError::<f64, i32>::Retry(1.0).to_string(), "`Retry <opaque>");
    assert_eq!(
        pp_error(&RetryError::<f64, i32>::Retry(1.0), None, None),
        "`Retry <opaque>"
    );
    let e: RetryError<u8, u8> = RetryError::Fatal(1);
    assert_eq!(
        e.display_with(opaque, |x, f| write!(f, "#{x}")).to_string(),
        "`Fatal #1"
    );
}

#[test]
fn debug_shows_the_payload() {
    assert_eq!(
        format!("{:?}", RetryError::<&str, ()>::Retry("busy")),
        "Retry(\"busy\")"
    );
}

#[test]
fn errors_compare_by_constructor_then_payload() {
    let eq = |a: &i32, b: &i32| a == b;
    assert!(equal_error(eq, eq, &RetryError::Retry(1), &RetryError::Retry(1)));
    assert!(!equal_error(eq, eq, &RetryError::Retry(1), &RetryError::Retry(2)));
    assert!(!equal_error(eq, eq, &RetryError::Retry(1), &RetryError::Fatal(1)));
    assert!(equal_error(
        |_: &i32, _: &i32| true,
        eq,
        &RetryError::Retry(1),
        &RetryError::Retry(2)
    ));
    assert_eq!(RetryError::<i32, i32>::Fatal(3), RetryError::Fatal(3));
    assert_ne!(RetryError::<i32, i32>::Fatal(3), RetryError::Retry(3));
}

// ------------------------------------------------------------ the stream

#[test]
fn success_without_retry_ends_the_stream() {
    let s = retry::on_error(|| resolved(Ok::<_, Unit>(42)));
    assert_eq!(fulfilled(&s.next()), Ok(42));
    assert!(fulfilled(&s.is_empty()));
}

#[test]
fn does_not_run_extra_attempts() {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let s = retry::on_error(move || {
        c.set(c.get() + 1);
        resolved(Ok::<_, Unit>(42))
    });
    assert_eq!(fulfilled(&s.next()), Ok(42));
    let _ = fulfilled(&s.is_empty());
    assert_eq!(count.get(), 1);
}

#[test]
fn just_retries_numbering_attempts_from_one() {
    let s = retry::on_error(|| resolved(Err::<(), Unit>(RetryError::Retry(()))));
    let expected: Vec<Attempt<(), (), ()>> = (1..=5).map(|i| Err((RetryError::Retry(()), i))).collect();
    assert_eq!(fulfilled(&s.nget(5)), expected);
}

#[test]
fn retries_before_a_fatal_error_then_ends() {
    let (op, _) = script(3, Err(RetryError::Fatal(())));
    let s = retry::on_error(op);
    assert_eq!(fulfilled(&s.nget(3)).len(), 3);
    assert_eq!(fulfilled(&s.next()), Err((RetryError::Fatal(()), 4)));
    assert!(fulfilled(&s.is_empty()));
}

#[test]
fn retries_before_success_then_ends() {
    let (op, _) = script(3, Ok(()));
    let s = retry::on_error(op);
    assert_eq!(fulfilled(&s.nget(3)).len(), 3);
    assert_eq!(fulfilled(&s.next()), Ok(()));
    assert!(fulfilled(&s.is_empty()));
}

#[test]
fn a_rejected_attempt_reaches_the_reader_and_the_next_read_tries_again() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let s = retry::on_error(move || {
        c.set(c.get() + 1);
        match c.get() {
            1 => lwt::fail_with("connection reset"),
            2 => resolved(Err(RetryError::<(), ()>::Retry(()))),
            _ => resolved(Ok(())),
        }
    });
    assert_eq!(rejected_with(&s.next()).message(), "connection reset");
    assert_eq!(fulfilled(&s.next()), Err((RetryError::Retry(()), 2)));
    assert_eq!(fulfilled(&s.next()), Ok(()));
}

// ------------------------------------------------------------- n_times

#[test]
fn n_times_zero_runs_one_attempt() {
    let (op, calls) = script(u32::MAX, Ok(()));
    let r = retry::n_times(0, &retry::on_error(op));
    assert_eq!(fulfilled(&r), Err((RetryError::Retry(()), 1)));
    assert_eq!(calls.get(), 1);
}

#[test]
fn n_times_gives_up_on_a_fatal_error() {
    let (op, calls) = script(3, Err(RetryError::Fatal(())));
    let r = retry::n_times(5, &retry::on_error(op));
    assert_eq!(fulfilled(&r), Err((RetryError::Fatal(()), 4)));
    assert_eq!(calls.get(), 4);
}

#[test]
fn n_times_gives_a_retry_error_when_exhausted() {
    let (op, calls) = script(u32::MAX, Ok(()));
    let r = retry::n_times(5, &retry::on_error(op));
    assert_eq!(fulfilled(&r), Err((RetryError::Retry(()), 6)));
    assert_eq!(calls.get(), 6);
}

#[test]
fn n_times_is_ok_on_success() {
    let (op, _) = script(3, Ok(()));
    assert_eq!(fulfilled(&retry::n_times(5, &retry::on_error(op))), Ok(()));
}

#[test]
fn n_times_with_a_negative_count_is_an_invalid_argument_and_tries_nothing() {
    let (op, calls) = script(u32::MAX, Ok(()));
    let r = retry::n_times(-5, &retry::on_error(op));
    let e = rejected_with(&r);
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(e.message(), "Lwt_retry.n_times: n must be non-negative");
    assert_eq!(calls.get(), 0);
}

#[test]
fn n_times_on_a_stream_without_attempts_fails() {
    let empty = stream::empty::<Attempt<(), (), ()>>();
    assert_eq!(rejected_with(&retry::n_times(3, &empty)).kind(), ErrorKind::Failure);
}

// ------------------------------------------------------------ with_sleep

#[test]
fn the_default_sleep_duration_is_n_times_2_times_2_to_the_n_seconds() {
    let d: Vec<Duration> = (0..8).map(retry::default_sleep_duration).collect();
    assert_eq!(d, [0, 4, 16, 48, 128, 320, 768, 1792].map(secs));
    assert_eq!(
        retry::default_sleep_duration(200),
        Duration::from_secs(u64::MAX),
        "saturates"
    );
}

#[test]
fn with_sleep_sleeps_before_handing_over_each_failed_attempt() {
    let (sleeper, log) = recording_sleeper();
    let (op, calls) = script(u32::MAX, Ok(()));
    let s = retry::with_sleep_using(retry::default_sleep_duration, sleeper, &retry::on_error(op));
    let first = s.next();
    assert!(first.is_pending(), "attempt 1 is held during its sleep");
    assert_eq!((calls.get(), log.borrow().clone()), (1, vec![secs(4)]));
    assert_eq!(fulfilled(&first), Err((RetryError::Retry(()), 1)));
    let second = s.next();
    assert_eq!(calls.get(), 2, "attempt 2 starts only after the first sleep");
    assert_eq!(fulfilled(&second), Err((RetryError::Retry(()), 2)));
    assert_eq!(*log.borrow(), vec![secs(4), secs(16)]);
}

#[test]
fn with_sleep_and_n_times_sleep_between_all_attempts() {
    let (sleeper, log) = recording_sleeper();
    let (op, _) = script(u32::MAX, Ok(()));
    let attempts = retry::with_sleep_using(|_| ms(10), sleeper, &retry::on_error(op));
    let r = retry::n_times(5, &attempts);
    assert_eq!(fulfilled(&r), Err((RetryError::Retry(()), 6)));
    assert_eq!(*log.borrow(), vec![ms(10); 6]);
}

#[test]
fn with_sleep_passes_a_success_at_once_and_delays_a_fatal_error() {
    let (sleeper, log) = recording_sleeper();
    let ok = retry::with_sleep_using(
        |_| secs(1),
        sleeper.clone(),
        &retry::on_error(|| resolved(Ok::<_, Unit>(1))),
    );
    assert_eq!(ok.next().state(), State::Fulfilled(Ok(1)));
    assert!(log.borrow().is_empty());
    let fatal = retry::with_sleep_using(
        |n| secs(u64::from(n) * 7),
        sleeper,
        &retry::on_error(|| resolved(Err::<(), Unit>(RetryError::Fatal(())))),
    );
    assert_eq!(fulfilled(&fatal.next()), Err((RetryError::Fatal(()), 1)));
    assert_eq!(*log.borrow(), vec![secs(7)]);
}

// -------------------------------------------------------------- policies

#[test]
fn constant_backoff_delays() {
    let p = Policy::<()>::constant(ms(250)).max_attempts(5);
    assert_eq!(p.delays().collect::<Vec<_>>(), vec![ms(250); 4]);
}

#[test]
fn exponential_backoff_delays() {
    let p = Policy::<()>::exponential(ms(100), 2.0).max_attempts(6);
    assert_eq!(p.delays().collect::<Vec<_>>(), [100, 200, 400, 800, 1600].map(ms));
}

#[test]
fn fibonacci_backoff_delays() {
    let p = Policy::<()>::fibonacci(ms(100)).max_attempts(8);
    assert_eq!(
        p.delays().collect::<Vec<_>>(),
        [100, 100, 200, 300, 500, 800, 1300].map(ms)
    );
}

#[test]
fn huge_delays_saturate_instead_of_overflowing() {
    let p = Policy::<()>::exponential(secs(1), 10.0).max_attempts(u32::MAX);
    assert_eq!(p.delays().nth(500), Some(Duration::MAX));
    let f = Policy::<()>::fibonacci(secs(1)).max_attempts(u32::MAX);
    assert_eq!(f.delays().nth(5000), Some(Duration::MAX));
}

#[test]
fn max_delay_caps_every_delay() {
    let p = Policy::<()>::exponential(secs(1), 2.0)
        .max_attempts(7)
        .max_delay(secs(10));
    assert_eq!(p.delays().collect::<Vec<_>>(), [1, 2, 4, 8, 10, 10].map(secs));
}

#[test]
fn seeded_jitter_is_replayable_and_stays_within_the_delay() {
    let p = Policy::<()>::constant(secs(10)).max_attempts(50).jitter_seed(42);
    let a: Vec<Duration> = p.delays().collect();
    assert_eq!(a, p.delays().collect::<Vec<_>>());
    assert!(a.iter().all(|d| *d <= secs(10)));
    assert!(a.windows(2).any(|w| w[0] != w[1]), "the delays vary");
    let other: Vec<Duration> = p.clone().jitter_seed(43).delays().collect();
    assert_ne!(a, other);
}

#[test]
fn unseeded_jitter_stays_within_the_capped_delay() {
    let p = Policy::<()>::exponential(secs(1), 2.0)
        .max_attempts(20)
        .max_delay(secs(30))
        .jitter();
    let d: Vec<Duration> = p.delays().collect();
    assert_eq!(d.len(), 19);
    assert!(d.iter().all(|d| *d <= secs(30)));
}

#[test]
fn max_total_delay_stops_before_the_budget_is_exceeded() {
    let p = Policy::<()>::exponential(secs(1), 2.0)
        .max_attempts(100)
        .max_total_delay(secs(20));
    assert_eq!(p.delays().collect::<Vec<_>>(), [1, 2, 4, 8].map(secs));
}

#[test]
fn a_run_succeeds_after_failures_and_sleeps_between_attempts() {
    let (sleeper, log) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::exponential(ms(100), 2.0)
        .max_attempts(10)
        .sleeper(sleeper)
        .run(move || {
            c.set(c.get() + 1);
            resolved(if c.get() < 4 { Err("busy") } else { Ok(c.get()) })
        });
    assert_eq!(fulfilled(&p), Ok(4));
    assert_eq!(*log.borrow(), [100, 200, 400].map(ms));
}

#[test]
fn a_run_gives_the_last_error_after_max_attempts() {
    let (sleeper, log) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::constant(ms(5)).max_attempts(3).sleeper(sleeper).run(move || {
        c.set(c.get() + 1);
        resolved(Err::<(), _>(c.get()))
    });
    assert_eq!(fulfilled(&p), Err(3));
    assert_eq!(calls.get(), 3);
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn by_default_a_policy_makes_four_attempts() {
    let (sleeper, _) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::constant(Duration::ZERO).sleeper(sleeper).run(move || {
        c.set(c.get() + 1);
        resolved(Err::<(), _>(()))
    });
    assert_eq!(fulfilled(&p), Err(()));
    assert_eq!(calls.get(), 4);
}

#[test]
fn zero_max_attempts_is_an_invalid_argument() {
    let p = Policy::constant(secs(1))
        .max_attempts(0)
        .run(|| resolved(Ok::<_, ()>(())));
    assert_eq!(rejected_with(&p).kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_run_stops_when_the_total_delay_budget_is_used() {
    let (sleeper, log) = recording_sleeper();
    let p = Policy::constant(secs(3))
        .max_attempts(100)
        .max_total_delay(secs(10))
        .sleeper(sleeper)
        .run(|| resolved(Err::<(), _>("down")));
    assert_eq!(fulfilled(&p), Err("down"));
    assert_eq!(*log.borrow(), vec![secs(3); 3]);
}

#[test]
fn retry_if_makes_other_errors_fatal() {
    let (sleeper, log) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::constant(secs(1))
        .max_attempts(10)
        .retry_if(|e: &&str| *e == "busy")
        .sleeper(sleeper)
        .run(move || {
            c.set(c.get() + 1);
            resolved(Err::<(), _>(if c.get() < 3 { "busy" } else { "forbidden" }))
        });
    assert_eq!(fulfilled(&p), Err("forbidden"));
    assert_eq!(calls.get(), 3);
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn retry_if_can_classify_lwt_retry_errors() {
    let (sleeper, _) = recording_sleeper();
    let (op, calls) = script(2, Err(RetryError::Fatal(())));
    let p = Policy::constant(Duration::ZERO)
        .max_attempts(10)
        .retry_if(RetryError::is_retry)
        .sleeper(sleeper)
        .run(op);
    assert_eq!(fulfilled(&p), Err(RetryError::Fatal(())));
    assert_eq!(calls.get(), 3);
}

/// A server error carrying its own `Retry-After`.
#[derive(Debug, Clone, PartialEq)]
struct Throttled {
    retry_after: Option<Duration>,
}

#[test]
fn delay_from_takes_the_delay_from_the_error() {
    let (sleeper, log) = recording_sleeper();
    let errors = Rc::new(RefCell::new(vec![
        Throttled {
            retry_after: Some(secs(7)),
        },
        Throttled { retry_after: None },
        Throttled {
            retry_after: Some(secs(600)),
        },
    ]));
    let e2 = errors.clone();
    let p = Policy::constant(secs(1))
        .max_attempts(10)
        .max_delay(secs(60))
        .jitter_seed(1)
        .delay_from(|e: &Throttled| e.retry_after)
        .sleeper(sleeper)
        .run(move || {
            let next = if e2.borrow().is_empty() {
                None
            } else {
                Some(e2.borrow_mut().remove(0))
            };
            resolved(match next {
                Some(e) => Err(e),
                None => Ok("served"),
            })
        });
    assert_eq!(fulfilled(&p), Ok("served"));
    let log = log.borrow();
    assert_eq!(log[0], secs(7), "taken from the error, not jittered");
    assert!(log[1] <= secs(1), "the jittered backoff");
    assert_eq!(log[2], secs(60), "capped by max_delay");
}

#[test]
fn notify_is_told_the_error_the_attempt_and_the_delay() {
    let (sleeper, _) = recording_sleeper();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::exponential(secs(1), 2.0)
        .max_attempts(3)
        .notify(move |e: &String, attempt, delay| s.borrow_mut().push((e.clone(), attempt, delay)))
        .sleeper(sleeper)
        .run(move || {
            c.set(c.get() + 1);
            resolved(Err::<(), _>(format!("error {}", c.get())))
        });
    assert_eq!(fulfilled(&p), Err("error 3".to_string()));
    assert_eq!(
        *seen.borrow(),
        vec![("error 1".to_string(), 1, secs(1)), ("error 2".to_string(), 2, secs(2))]
    );
}

#[test]
fn a_rejected_attempt_ends_the_run() {
    let (sleeper, log) = recording_sleeper();
    let p = Policy::<()>::constant(secs(1))
        .sleeper(sleeper)
        .run(|| lwt::fail_with::<Result<(), ()>>("bug"));
    assert_eq!(rejected_with(&p).message(), "bug");
    assert!(log.borrow().is_empty());
}

#[test]
fn a_panicking_attempt_ends_the_run() {
    let (sleeper, _) = recording_sleeper();
    let p = Policy::<()>::constant(secs(1))
        .sleeper(sleeper)
        .run(|| -> Promise<Result<(), ()>> { panic!("oops") });
    assert_eq!(rejected_with(&p).kind(), ErrorKind::Panic);
}

#[test]
fn run_promise_retries_rejections_and_rejects_with_the_last_one() {
    let (sleeper, log) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::constant(ms(1))
        .max_attempts(3)
        .sleeper(sleeper)
        .run_promise(move || {
            c.set(c.get() + 1);
            lwt::fail_with::<()>(format!("failure {}", c.get()))
        });
    assert_eq!(rejected_with(&p).message(), "failure 3");
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn run_promise_succeeds_after_a_rejection() {
    let (sleeper, _) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = Policy::constant(ms(1)).sleeper(sleeper).run_promise(move || {
        c.set(c.get() + 1);
        if c.get() == 1 {
            lwt::fail_with("flaky")
        } else {
            resolved("ok")
        }
    });
    assert_eq!(fulfilled(&p), "ok");
}

#[test]
fn canceling_a_run_during_the_sleep_cancels_the_sleep_and_stops() {
    let sleeps: Rc<RefCell<Vec<Promise<()>>>> = Rc::new(RefCell::new(Vec::new()));
    let s = sleeps.clone();
    let sleeper: Sleeper = Rc::new(move |_| {
        let (p, _r) = task::<()>();
        s.borrow_mut().push(p.clone());
        p
    });
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let run = Policy::constant(secs(60))
        .max_attempts(10)
        .sleeper(sleeper)
        .run(move || {
            c.set(c.get() + 1);
            resolved(Err::<(), _>("down"))
        });
    assert!(run.is_pending());
    assert_eq!(sleeps.borrow().len(), 1);
    run.cancel();
    assert!(run.is_canceled());
    assert!(sleeps.borrow()[0].is_canceled(), "the sleep was canceled");
    settle();
    assert_eq!(calls.get(), 1, "no attempt after the cancel");
}

#[test]
fn canceling_a_run_during_an_attempt_cancels_the_attempt_and_stops() {
    let (sleeper, log) = recording_sleeper();
    type Attempts = Rc<RefCell<Vec<Promise<Result<(), &'static str>>>>>;
    let attempts: Attempts = Rc::new(RefCell::new(Vec::new()));
    let a = attempts.clone();
    let run = Policy::constant(secs(1))
        .max_attempts(10)
        .sleeper(sleeper)
        .run(move || {
            let (p, _r) = task();
            a.borrow_mut().push(p.clone());
            p
        });
    run.cancel();
    assert!(run.is_canceled());
    assert!(attempts.borrow()[0].is_canceled());
    settle();
    assert_eq!(attempts.borrow().len(), 1);
    assert!(log.borrow().is_empty());
}

#[test]
fn run_promise_does_not_retry_a_canceled_attempt() {
    let (sleeper, log) = recording_sleeper();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let run = Policy::constant(secs(1))
        .max_attempts(10)
        .sleeper(sleeper)
        .run_promise(move || {
            c.set(c.get() + 1);
            task::<()>().0
        });
    run.cancel();
    assert!(run.is_canceled());
    settle();
    assert_eq!(calls.get(), 1);
    assert!(log.borrow().is_empty());
}

#[test]
fn a_policy_can_be_run_again() {
    let (sleeper, log) = recording_sleeper();
    let policy = Policy::fibonacci(ms(10)).max_attempts(4).sleeper(sleeper);
    for _ in 0..2 {
        let p = policy.run(|| resolved(Err::<(), _>(())));
        assert_eq!(fulfilled(&p), Err(()));
    }
    assert_eq!(*log.borrow(), [10, 10, 20, 10, 10, 20].map(ms));
}

#[test]
fn an_exponential_factor_that_is_not_positive_gives_zero_delays() {
    // As the doc of `Policy::exponential` says; powers of a negative
    // factor must not bring back positive delays every other retry.
    for factor in [0.0, -2.0, f64::NAN] {
        let p = Policy::<()>::exponential(secs(1), factor).max_attempts(5);
        assert_eq!(
            p.delays().collect::<Vec<_>>(),
            vec![Duration::ZERO; 4],
            "factor {factor}"
        );
    }
}

#[test]
fn on_error_numbers_an_attempt_after_a_rejected_one_as_the_next() {
    let mut calls = 0;
    let attempts = retry::on_error(move || {
        calls += 1;
        match calls {
            1 => lwt::fail_with("down"),
            2 => resolved(Err(RetryError::<(), ()>::Retry(()))),
            _ => resolved(Ok(calls)),
        }
    });
    assert!(rejected_with(&attempts.get()).message().contains("down"));
    assert_eq!(
        fulfilled(&attempts.nget(5)),
        vec![Err((RetryError::Retry(()), 2)), Ok(3)]
    );
}

#[test]
fn n_times_rejects_with_the_error_of_a_rejected_attempt() {
    let attempts = retry::on_error(|| lwt::fail_with::<Result<(), Unit>>("down"));
    assert!(rejected_with(&retry::n_times(3, &attempts)).message().contains("down"));
}
