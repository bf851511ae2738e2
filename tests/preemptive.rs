//! Tests of `lwt::preemptive` (Lwt_preemptive).
//!
//! The worker pool is process-wide and its bounds are settings of the whole
//! process, so every test here takes [`LOCK`]: they run one at a time.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lwt::{main, preemptive, ErrorKind};

static LOCK: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    preemptive::set_bounds((0, 4)).unwrap();
    preemptive::set_max_number_of_threads_queued(1000);
    g
}

#[test]
fn detach_returns_the_result_of_the_closure() {
    let _g = serial();
    let p = preemptive::detach(|| (1..=20u64).sum::<u64>());
    assert_eq!(main::run(p).unwrap(), 210);
}

#[test]
fn detach_runs_on_another_thread() {
    let _g = serial();
    let here = std::thread::current().id();
    let there = main::run(preemptive::detach(|| std::thread::current().id())).unwrap();
    assert_ne!(here, there);
}

#[test]
fn a_panic_in_the_closure_rejects_the_promise() {
    let _g = serial();
    let p = preemptive::detach(|| -> u32 { panic!("worker exploded") });
    let e = main::run(p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panic);
    assert!(e.message().contains("worker exploded"), "{}", e.message());
    // The pool survives the panic.
    assert_eq!(main::run(preemptive::detach(|| 1)).unwrap(), 1);
}

#[test]
fn the_loop_keeps_running_while_a_job_blocks() {
    let _g = serial();
    let (tx, rx) = mpsc::channel::<u32>();
    let job = preemptive::detach(move || rx.recv().unwrap());
    // The loop thread runs other promises, then releases the job itself.
    let other = lwt::unix::sleep(Duration::from_millis(1)).map(move |()| tx.send(9).unwrap());
    let ((), v) = main::run(lwt::both(other, job)).unwrap();
    assert_eq!(v, 9);
}

#[test]
fn many_jobs_run_concurrently_up_to_the_bound() {
    let _g = serial();
    preemptive::set_bounds((0, 3)).unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let jobs: Vec<_> = (0..3)
        .map(|i| {
            let b = barrier.clone();
            // Each job waits for the other two: only possible with 3 threads.
            preemptive::detach(move || {
                b.wait();
                i
            })
        })
        .collect();
    assert_eq!(main::run(lwt::all(jobs)).unwrap(), vec![0, 1, 2]);
    assert!(preemptive::nbthreads() <= 3);
}

#[test]
fn jobs_beyond_the_threads_wait_in_the_queue() {
    let _g = serial();
    preemptive::set_bounds((0, 1)).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let first = preemptive::detach(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    // Once it runs, the only thread the bounds allow is busy.
    started.recv().unwrap();
    let second = preemptive::detach(|| 2);
    assert_eq!(preemptive::nbthreadsqueued(), 1);
    tx.send(()).unwrap();
    let ((), two) = main::run(lwt::both(first, second)).unwrap();
    assert_eq!(two, 2);
}

#[test]
fn a_full_queue_rejects_with_a_clear_error() {
    let _g = serial();
    preemptive::set_bounds((0, 1)).unwrap();
    preemptive::set_max_number_of_threads_queued(1);
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let busy = preemptive::detach(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    started.recv().unwrap();
    let queued = preemptive::detach(|| ());
    let refused = preemptive::detach(|| ());
    let e = main::run(refused).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failure);
    assert!(e.message().contains("queue full"), "{}", e.message());
    tx.send(()).unwrap();
    main::run(lwt::both(busy, queued)).unwrap();
    assert_eq!(preemptive::get_max_number_of_threads_queued(), 1);
}

#[test]
fn set_bounds_checks_its_arguments() {
    let _g = serial();
    preemptive::set_bounds((2, 5)).unwrap();
    assert_eq!(preemptive::get_bounds(), (2, 5));
    for bad in [(3, 2), (0, 0)] {
        let e = preemptive::set_bounds(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    assert_eq!(preemptive::get_bounds(), (2, 5));
}

#[test]
fn set_bounds_starts_threads_up_to_the_minimum() {
    let _g = serial();
    preemptive::set_bounds((3, 6)).unwrap();
    assert!(preemptive::nbthreads() >= 3);
    preemptive::init(0, 4).unwrap();
    assert_eq!(preemptive::get_bounds(), (0, 4));
}

#[test]
fn simple_init_keeps_bounds_set_before() {
    let _g = serial();
    preemptive::set_bounds((1, 7)).unwrap();
    preemptive::simple_init();
    assert_eq!(preemptive::get_bounds(), (1, 7));
}

#[test]
fn run_in_main_runs_promise_code_on_the_loop_thread() {
    let _g = serial();
    let loop_thread = std::thread::current().id();
    let p = preemptive::detach(move || {
        preemptive::run_in_main(move || {
            let on_loop = std::thread::current().id() == loop_thread;
            lwt::pause().map(move |()| on_loop)
        })
        .unwrap()
    });
    assert!(main::run(p).unwrap());
}

#[test]
fn run_in_main_returns_the_rejection() {
    let _g = serial();
    let p = preemptive::detach(|| {
        let e = preemptive::run_in_main(|| lwt::unix::timeout::<()>(Duration::from_millis(1))).unwrap_err();
        let io = preemptive::run_in_main(|| lwt::rejected::<()>(lwt::Error::io(std::io::Error::from_raw_os_error(2))))
            .unwrap_err();
        (e.kind(), io.io_error().and_then(|e| e.raw_os_error()))
    });
    assert_eq!(main::run(p).unwrap(), (ErrorKind::Timeout, Some(2)));
}

#[test]
fn run_in_main_turns_a_panic_into_an_error() {
    let _g = serial();
    let p = preemptive::detach(|| {
        preemptive::run_in_main(|| -> lwt::Promise<u8> { panic!("main side") })
            .unwrap_err()
            .kind()
    });
    assert_eq!(main::run(p).unwrap(), ErrorKind::Panic);
}

#[test]
fn run_in_main_on_the_loop_thread_is_an_error_not_a_deadlock() {
    let _g = serial();
    let e = preemptive::run_in_main(|| lwt::resolved(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failure);
}

#[test]
fn run_in_main_dont_wait_reports_failures_to_the_handler() {
    let _g = serial();
    let (tx, rx) = mpsc::channel::<(String, std::thread::ThreadId)>();
    let job = preemptive::detach(move || {
        preemptive::run_in_main_dont_wait(
            || lwt::fail_with("from the loop"),
            move |e| tx.send((e.message(), std::thread::current().id())).unwrap(),
        )
        .is_ok()
    });
    assert!(main::run(job).unwrap());
    // The request was posted before the job's completion, and the loop
    // handles its inbox in order: the handler has run by now, on this thread.
    let (msg, thread) = rx.try_recv().unwrap();
    assert_eq!(msg, "from the loop");
    assert_eq!(thread, std::thread::current().id());
}

#[test]
fn run_in_main_dont_wait_from_the_loop_thread_runs_later() {
    let _g = serial();
    let flag = Arc::new(Mutex::new(false));
    let f = flag.clone();
    preemptive::run_in_main_dont_wait(
        move || {
            *f.lock().unwrap() = true;
            lwt::resolved(())
        },
        |_| {},
    )
    .unwrap();
    assert!(!*flag.lock().unwrap());
    main::run(lwt::pause()).unwrap();
    assert!(*flag.lock().unwrap());
}
