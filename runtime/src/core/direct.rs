//! Direct style: promises as `Future`s and `async` blocks as promises
//! (Lwt_direct's `spawn` / `await` / `yield`).
//!
//! `Promise<T>` implements [`Future`] with output `Result<T, Error>`, so an
//! `async` block can `.await` promises and use `?` on their errors; [`spawn`]
//! turns such a block into a promise. The two styles mix freely on one thread.
//!
//! How tasks run: a spawned future is polled at once, until it first waits.
//! When a promise it waits on resolves, the promise's callback wakes the task,
//! and the task is polled again as soon as the current resolution finishes
//! (the same moment `wakeup_later` callbacks run). A waker used from another
//! thread (say, a channel fed by a worker) queues the task for this thread and
//! calls the notifier the event loop installed, which wakes the loop; the
//! loop's next [`wakeup_paused`](crate::wakeup_paused) polls it.
//!
//! Deliberate differences from Lwt_direct: `spawn` starts the task at once
//! (Lwt queues it until the main loop turns), and canceling the promise of a
//! spawned task drops the future (Lwt ignores the cancel). A task runs,
//! across all its `.await`s, with the storage ([`with_value`] keys) in effect
//! where it was spawned, as a callback runs with the storage of its
//! registration (Lwt_direct starts each task with empty storage, which its
//! own `Storage.set` then fills; lwt-rs has no task-local setter).
//!
//! [`with_value`]: crate::with_value

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::callback::Callback;
use super::error::{panic_message, Error};
use super::hook;
use super::node::{HowToCancel, Node};
use super::promise::{Promise, Repr};
use super::rc::{AnyNode, NodeRef};
use super::storage::{self, Snapshot};

impl<T: 'static> Future for Promise<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        let this = self.get_mut();
        if let Repr::Node(n) = &this.0 {
            let root = n.root();
            if root.is_pending() {
                register_waker(&root, cx.waker());
                return Poll::Pending;
            }
            return Poll::Ready(root.take_outcome());
        }
        // The placeholder left behind is shared, not allocated: awaiting an
        // already-resolved promise happens once per step of a direct-style loop.
        let taken = Repr::Rejected(Error::polled_after_completion());
        match std::mem::replace(&mut this.0, taken) {
            Repr::Fulfilled(v) => Poll::Ready(Ok(v)),
            Repr::Rejected(e) => Poll::Ready(Err(e)),
            Repr::Node(_) => Poll::Pending,
        }
    }
}

/// The wakers waiting on one pending promise, shared by every poll of it.
type WakerSet = Rc<RefCell<Vec<Waker>>>;

thread_local! {
    /// The wakers of the pending promises polled as futures, by the address
    /// of their root node. Each entry also holds the node, so that its
    /// address cannot be reused by another node while the entry exists (a
    /// node that became a proxy, its callback moved on, could otherwise be
    /// freed and its address taken by a new promise, which would then find
    /// this entry and get no callback of its own).
    static WAKERS: RefCell<HashMap<usize, (AnyNode, WakerSet)>> = RefCell::new(HashMap::new());
}

/// Makes `root` wake `waker` when it resolves.
///
/// A future is polled again and again while it waits (a `select!` in a
/// loop polls a long-lived promise at every turn), each time with a waker
/// that is usually the same. A callback per poll would pile up on the
/// promise until it resolves, and wake the task once per poll. So a
/// promise gets one callback, for the first poll, and a set of wakers that
/// later polls join unless a waker in it already wakes the same task
/// ([`Waker::will_wake`]). The set is found again by the address of the
/// root node; the callback takes it out of the table when it runs, or when
/// it is dropped unrun (so a freed node's address, reused, finds nothing).
fn register_waker<T: 'static>(root: &NodeRef<T>, waker: &Waker) {
    let key = root.addr() as usize;
    if let Some(set) = WAKERS.with(|m| m.borrow().get(&key).map(|(_, set)| set.clone())) {
        let mut set = set.borrow_mut();
        if !set.iter().any(|w| w.will_wake(waker)) {
            set.push(waker.clone());
        }
        return;
    }
    let set: WakerSet = Rc::new(RefCell::new(vec![waker.clone()]));
    let old = WAKERS.with(|m| m.borrow_mut().insert(key, (root.erase(), set.clone())));
    drop(old);
    let entry = Waiting { key, set };
    root.add_callback(Callback::regular(move |_: &NodeRef<T>| entry.wake()));
}

/// A promise's entry in [`WAKERS`], held by its callback.
struct Waiting {
    key: usize,
    set: WakerSet,
}

impl Waiting {
    fn wake(self) {
        let wakers = std::mem::take(&mut *self.set.borrow_mut());
        drop(self);
        for w in wakers {
            w.wake();
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let _ = WAKERS.try_with(|m| {
            let mine = {
                let m = m.borrow();
                m.get(&self.key).is_some_and(|(_, s)| Rc::ptr_eq(s, &self.set))
            };
            if mine {
                let removed = m.borrow_mut().remove(&self.key);
                drop(removed);
            }
        });
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

struct Task {
    future: RefCell<Option<BoxFuture>>,
    /// The storage (`with_value` keys) in effect when the task was spawned:
    /// every poll runs with it, as every Lwt callback runs with the storage
    /// of its registration (Lwt rule 41; Lwt_direct keeps a task's storage
    /// across `await`).
    storage: Snapshot,
    /// Queued to be polled (so a task is queued once however often woken).
    queued: Cell<bool>,
    /// Its waker, made at its first poll and reused: promises it waits on
    /// recognise it (see [`register_waker`]).
    waker: std::cell::OnceCell<Waker>,
    canceled: Cell<bool>,
}

/// Task ids woken from other threads, for the thread that owns the tasks.
struct Remote {
    /// Set when `woken` may be non-empty: lets the loop skip the lock.
    any: AtomicBool,
    woken: Mutex<Vec<usize>>,
    notifier: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

thread_local! {
    static TASKS: RefCell<Vec<Option<Rc<Task>>>> = const { RefCell::new(Vec::new()) };
    static FREE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static READY: RefCell<VecDeque<usize>> = const { RefCell::new(VecDeque::new()) };
    /// Tasks that woke themselves while being polled: polled again only
    /// once the ready queue has been run through (see [`run_ready_tasks`]).
    static YIELDED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The task being polled, if any.
    static POLLING: Cell<Option<usize>> = const { Cell::new(None) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static REMOTE: Arc<Remote> = Arc::new(Remote { any: AtomicBool::new(false), woken: Mutex::new(Vec::new()), notifier: Mutex::new(None) });
}

struct TaskWaker {
    id: usize,
    remote: Arc<Remote>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = REMOTE.try_with(|r| Arc::ptr_eq(r, &self.remote)).unwrap_or(false);
        if local {
            schedule(self.id);
        } else {
            if let Ok(mut w) = self.remote.woken.lock() {
                w.push(self.id);
                self.remote.any.store(true, Ordering::Release);
            }
            let notifier = self.remote.notifier.lock().ok().and_then(|n| n.clone());
            if let Some(f) = notifier {
                f();
            }
        }
    }
}

fn schedule(id: usize) {
    let task = TASKS.with(|t| t.borrow().get(id).cloned().flatten());
    if let Some(task) = task {
        if !task.queued.replace(true) {
            if POLLING.with(Cell::get) == Some(id) {
                YIELDED.with(|y| y.borrow_mut().push(id));
            } else {
                READY.with(|r| r.borrow_mut().push_back(id));
            }
            super::context::note_work();
        }
    }
}

/// Installs the function a waker calls when it wakes a task of this thread
/// from another thread; the event loop uses it to interrupt its poll.
pub fn set_remote_wake_notifier(f: Arc<dyn Fn() + Send + Sync>) {
    REMOTE.with(|r| {
        if let Ok(mut n) = r.notifier.lock() {
            *n = Some(f);
        }
    });
}

/// The number of tasks made by [`spawn`] on this thread that have not
/// finished (a task waiting on a future from another thread is one of them).
pub fn live_tasks() -> usize {
    TASKS.with(|t| t.borrow().iter().filter(|t| t.is_some()).count())
}

/// Whether pauses or woken tasks are waiting: the event loop must not block.
pub fn has_ready_work() -> bool {
    super::pause::has_paused()
        || READY.with(|r| !r.borrow().is_empty())
        || YIELDED.with(|y| !y.borrow().is_empty())
        || REMOTE.with(|r| r.any.load(Ordering::Acquire))
}

/// Moves tasks woken from other threads, and the tasks that yielded, to the
/// ready queue and polls them (at each turn of the loop).
pub(crate) fn poll_remote() {
    let woken = REMOTE.with(|r| {
        if !r.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        r.any.store(false, Ordering::Release);
        r.woken.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    });
    for id in woken {
        schedule(id);
    }
    YIELDED.with(|y| {
        let mut y = y.borrow_mut();
        if !y.is_empty() {
            READY.with(|r| r.borrow_mut().extend(y.drain(..)));
        }
    });
    run_ready_tasks();
}

/// Polls every ready task (called when the outermost resolution finishes,
/// and by the loop's turn through [`poll_remote`], which also brings back
/// the tasks that yielded).
///
/// A task woken by another task (or by a promise resolved meanwhile) is
/// polled in the same run. A task that wakes *itself* while it is polled
/// (the cooperative yield of the `futures` ecosystem: wake, then return
/// `Pending`) is set aside until the loop's next turn, as a
/// [`pause`](crate::pause) is: polled again at once, it would spin here,
/// and the paused promises and the event loop, whose turn it meant to
/// give, would never get one. `has_ready_work` counts it, so the loop does
/// not block meanwhile.
pub(crate) fn run_ready_tasks() {
    if READY.with(|r| r.borrow().is_empty()) || RUNNING.with(|r| r.get()) {
        return;
    }
    RUNNING.with(|r| r.set(true));
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.with(|r| r.set(false));
        }
    }
    let _running = Running;
    while let Some(id) = READY.with(|r| r.borrow_mut().pop_front()) {
        poll_task(id);
    }
}

fn poll_task(id: usize) {
    let Some(task) = TASKS.with(|t| t.borrow().get(id).cloned().flatten()) else {
        return;
    };
    task.queued.set(false);
    let Some(mut fut) = task.future.borrow_mut().take() else {
        return;
    };
    let waker = task.waker.get_or_init(|| {
        Waker::from(Arc::new(TaskWaker {
            id,
            remote: REMOTE.with(Arc::clone),
        }))
    });
    let mut cx = Context::from_waker(waker);
    // The future runs user code: the task's own wrapper turns a panic into
    // a rejection, so polling never unwinds through here.
    // Without the task's own storage, a task resumed by a waker would see
    // the storage of whoever resolved the promise it awaited.
    let snap = task.storage.clone();
    struct Polling(Option<usize>);
    impl Drop for Polling {
        fn drop(&mut self) {
            POLLING.with(|p| p.set(self.0));
        }
    }
    let _polling = Polling(POLLING.with(|p| p.replace(Some(id))));
    let done = super::context::run_nested(|| storage::with_captured(snap, || fut.as_mut().poll(&mut cx).is_ready()));
    if done || task.canceled.get() {
        remove(id);
    } else {
        *task.future.borrow_mut() = Some(fut);
    }
}

fn insert(task: Rc<Task>) -> usize {
    let free = FREE.with(|f| f.borrow_mut().pop());
    TASKS.with(|t| {
        let mut t = t.borrow_mut();
        match free {
            Some(id) => {
                t[id] = Some(task);
                id
            }
            None => {
                t.push(Some(task));
                t.len() - 1
            }
        }
    })
}

fn remove(id: usize) {
    let task = TASKS.with(|t| t.borrow_mut().get_mut(id).and_then(Option::take));
    if task.is_some() {
        FREE.with(|f| f.borrow_mut().push(id));
    }
    drop(task);
}

/// Catches a panic in one poll of the inner future.
struct Guarded<F>(Pin<Box<F>>);

impl<T, F: Future<Output = Result<T, Error>>> Future for Guarded<F> {
    type Output = Result<T, Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(p) => Poll::Ready(Err(Error::panic(panic_message(&*p)))),
        }
    }
}

/// Runs an `async` block as a promise (Lwt_direct's `spawn`). The block is
/// polled at once, up to its first pending `.await`. Canceling the promise
/// drops the block at the point where it waits.
///
/// ```
/// let (p, r) = lwt::wait::<u32>();
/// let q = lwt::spawn(async move {
///     let x = p.await?;
///     Ok(x + 1)
/// });
/// assert!(q.is_pending());
/// r.wakeup(41);
/// assert_eq!(q.state(), lwt::State::Fulfilled(42));
/// ```
pub fn spawn<T: 'static>(fut: impl Future<Output = Result<T, Error>> + 'static) -> Promise<T> {
    let node = Node::<T>::alloc(HowToCancel::this());
    let out = node.clone();
    let guarded = Guarded(Box::pin(fut));
    let wrapped: BoxFuture = Box::pin(async move {
        let r = guarded.await;
        let _ = out.root().resolve(r);
    });
    let task = Rc::new(Task {
        future: RefCell::new(Some(wrapped)),
        storage: storage::capture(),
        queued: Cell::new(false),
        waker: std::cell::OnceCell::new(),
        canceled: Cell::new(false),
    });
    let id = insert(task.clone());
    let promise = Promise::from_node(node);
    promise.on_cancel(move || {
        task.canceled.set(true);
        // Not being polled right now: drop the future here. Otherwise the
        // poll in progress sees the flag and drops it when it returns.
        if task.future.borrow().is_some() {
            remove(id);
        }
    });
    poll_task(id);
    promise
}

/// Runs an `async` block nobody waits for; its error goes to the async
/// exception hook (Lwt_direct's `spawn_in_the_background`).
pub fn spawn_in_the_background(fut: impl Future<Output = Result<(), Error>> + 'static) {
    hook::ignore_result(spawn(fut));
}

/// Gives other promises a turn: a promise that the event loop's next
/// iteration fulfils (Lwt_direct's `yield`; the same as [`pause`](crate::pause)).
///
/// ```
/// let t = lwt::spawn(async {
///     lwt::yield_now().await?;
///     Ok(5)
/// });
/// assert!(t.is_pending());
/// lwt::wakeup_paused();
/// assert_eq!(t.state(), lwt::State::Fulfilled(5));
/// ```
pub fn yield_now() -> Promise<()> {
    super::pause::pause()
}
