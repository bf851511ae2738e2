//! The dataflow graph and the update machinery behind events and signals.
//!
//! Every event or (non-constant) signal owns a node. A node knows:
//! - its *rank*: 0 for primitives, one more than the highest rank of the
//!   nodes it reads (its producers), and [`DELAYED`] for the delayed nodes of
//!   `fix`;
//! - its *dependents*, as weak references: a producer never keeps a
//!   consumer alive, so a derived event or signal that nobody holds any more
//!   is freed, and the producer forgets it on its next sweep;
//! - an update function that holds its producers strongly.
//!
//! An update *step* starts from one or more primitives, schedules their
//! dependents in a priority queue ordered by rank, and runs them lowest rank
//! first. A node is scheduled at most once per step (its `stamp` remembers
//! the step), and it runs only after every producer that could still change
//! in the step, so nobody ever sees half an update (no glitches).
//!
//! A step started by one primitive whose graph has not changed since its
//! previous step skips the queue: it follows the primitive's cached
//! [`Plan`] (the same order, worked out once), and falls back to the queue
//! as soon as the graph changes under it.
//!
//! At the end of a step the occurrences of events are cleared. If delayed
//! nodes were reached, they move their source's value into a new step that
//! runs right after (that is how `fix` refers to "the value an instant
//! before" without an infinite loop within one step).
//!
//! Work that must not run inside a step (resolving promises whose callbacks
//! may send to primitives, reporting panics to the async exception hook) is
//! queued with [`after_step`] and runs once the step is over.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

use super::queue::Queue;
use crate::core::Error;

/// The rank of primitives.
pub(crate) const PRIMITIVE: u32 = 0;
/// The rank of the delayed nodes made by `fix`: the highest, so that they
/// are reached only once everything else in the step is done.
pub(crate) const DELAYED: u32 = u32::MAX;

/// How many steps one external update may chain through delayed (`fix`)
/// nodes before the chain is declared divergent and cut.
///
/// React loops forever on a fixed point that never settles (its own docs
/// show `E.fix (fun e -> let e' = E.select [e; start] in e', e')`). A program
/// that hangs is worse than one that reports, so past this many chained
/// steps the rest is dropped and an error goes to the async exception hook.
pub(crate) const MAX_CHAINED_STEPS: u32 = 1_000_000;

/// The rank of a node reading a producer of rank `r`.
#[inline]
pub(crate) fn succ(r: u32) -> u32 {
    if r == DELAYED {
        // Nodes reading a delayed node are updated in the step *after* the
        // one that scheduled the delayed node: as if it were a primitive.
        PRIMITIVE + 1
    } else if r + 1 == DELAYED {
        // Four billion nodes in a chain do not fit in memory; keep the
        // arithmetic honest anyway.
        panic!("lwt::react: maximal rank exceeded")
    } else {
        r + 1
    }
}

/// The part of a node that does not depend on its value type.
pub(crate) struct Header {
    pub(crate) rank: Cell<u32>,
    /// The id of the last step that scheduled this node.
    pub(crate) stamp: Cell<u64>,
    /// For primitives: the id of the explicit [`Step`](super::Step) that has
    /// an update of this primitive waiting (0: none).
    pub(crate) pending: Cell<u64>,
    pub(crate) stopped: Cell<bool>,
    deps: RefCell<Vec<Weak<dyn Node>>>,
    /// What the user retained (`retain`): one slot, as in React.
    retained: RefCell<Option<Box<dyn Any>>>,
    /// What the runtime ties to this node's lifetime (the helper nodes of
    /// the promise bridges), apart from the user's slot.
    anchors: RefCell<Vec<Box<dyn Any>>>,
    /// For primitives: the cached update order of the steps they start
    /// (see [`Plan`]); taken out while such a step runs.
    plan: Cell<Option<Box<Plan>>>,
    /// The id of the last step in which this node changed (scheduled its
    /// dependents). Plans read it by address (see `Planned::first`).
    changed: Cell<u64>,
    /// Whether a plan lists this node: its drop then moves the generation,
    /// so that no plan reaches it by address once it is gone (see
    /// `Planned::ptr`).
    in_plan: Cell<bool>,
}

impl Header {
    pub(crate) fn new(rank: u32) -> Header {
        // `try_with`: a node made while the thread is being torn down is
        // simply not counted.
        let _ = ENGINE.try_with(|en| en.live.set(en.live.get() + 1));
        Header {
            rank: Cell::new(rank),
            stamp: Cell::new(0),
            pending: Cell::new(0),
            stopped: Cell::new(false),
            deps: RefCell::new(Vec::new()),
            retained: RefCell::new(None),
            anchors: RefCell::new(Vec::new()),
            plan: Cell::new(None),
            changed: Cell::new(0),
            in_plan: Cell::new(false),
        }
    }

    /// Registers `dep` as a dependent of this node.
    pub(crate) fn push_dep(&self, dep: Weak<dyn Node>) {
        // A new edge: every cached update order may now miss a node.
        bump_gen();
        let mut deps = self.deps.borrow_mut();
        if deps.len() == deps.capacity() && deps.len() >= 4 {
            // About to grow: first forget the dependents that were freed or
            // stopped. This keeps the list within twice the live dependents
            // (amortised O(1) per push), so creating and dropping a million
            // derived nodes leaves the producer's list, and the cost of its
            // next update, as small as before.
            deps.retain(is_live);
        }
        deps.push(dep);
    }

    /// Forgets the dependent `dep` (pointer identity).
    pub(crate) fn remove_dep(&self, dep: *const ()) {
        self.deps
            .borrow_mut()
            .retain(|w| is_live(w) && Weak::as_ptr(w) as *const () != dep);
    }

    /// Schedules every live dependent in the running step, sweeping the
    /// dead ones on the way.
    #[inline]
    pub(crate) fn schedule_deps(&self) {
        self.changed.set(cur_step());
        let planned = following_plan();
        // When a plan runs the step (see `Plan`), it finds this node's
        // dependents by the change just recorded.
        if !planned {
            self.queue_deps();
        }
    }

    /// Queues every live dependent in the running step.
    fn queue_deps(&self) {
        // This runs for every update of every node: a plain loop, and the
        // list is compacted only when a freed or stopped dependent shows up.
        let mut dead = false;
        ENGINE.with(|en| {
            let cur = cur_step();
            let deps = self.deps.borrow();
            let mut queue = en.queue.borrow_mut();
            for w in deps.iter() {
                let Some(n) = w.upgrade() else {
                    dead = true;
                    continue;
                };
                let h = n.header();
                if h.stopped.get() {
                    dead = true;
                } else if h.stamp.get() != cur {
                    h.stamp.set(cur);
                    let rank = h.rank.get();
                    queue.push_at(n, rank);
                }
            }
        });
        if dead {
            self.deps.borrow_mut().retain(is_live);
        }
    }

    /// The live dependents, for rank propagation.
    fn live_deps(&self) -> Vec<Rc<dyn Node>> {
        self.deps.borrow().iter().filter_map(Weak::upgrade).collect()
    }

    /// How many dependents the list holds, dead ones not yet swept included.
    pub(crate) fn dep_slots(&self) -> usize {
        self.deps.borrow().len()
    }

    /// Stores `v` in the node, returning what was retained before.
    pub(crate) fn retain(&self, v: Box<dyn Any>) -> Option<Box<dyn Any>> {
        self.retained.borrow_mut().replace(v)
    }

    /// Keeps `v` alive as long as this node.
    pub(crate) fn anchor(&self, v: Box<dyn Any>) {
        self.anchors.borrow_mut().push(v);
    }

    /// Stops the node: no more updates, no more dependents.
    pub(crate) fn mark_stopped(&self) {
        self.stopped.set(true);
        let deps = std::mem::take(&mut *self.deps.borrow_mut());
        dispose(Box::new(deps));
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        let _ = ENGINE.try_with(|en| en.live.set(en.live.get().saturating_sub(1)));
        if self.in_plan.get() {
            // The plans that list this node hold its address: they must not
            // be followed any more (a running step stops following its plan
            // before the next node).
            bump_gen();
        }
        if let Some(r) = self.retained.get_mut().take() {
            dispose(r);
        }
        let anchors = std::mem::take(self.anchors.get_mut());
        if !anchors.is_empty() {
            dispose(Box::new(anchors));
        }
    }
}

fn is_live(w: &Weak<dyn Node>) -> bool {
    // `strong_count` is 0 once the node is freed; a stopped node will never
    // be updated again either.
    match w.upgrade() {
        Some(n) => !n.header().stopped.get(),
        None => false,
    }
}

/// What the engine needs of a node, whatever its value type.
pub(crate) trait Node: 'static {
    fn header(&self) -> &Header;
    /// Recomputes the node in the running step.
    fn run(self: Rc<Self>);
    /// Recomputes the node in the step `cur` unless it already ran in it or
    /// is stopped (for plans: one dynamic call per node instead of two).
    fn run_in(self: Rc<Self>, cur: u64) {
        let h = self.header();
        if h.stamp.get() == cur || h.stopped.get() {
            return;
        }
        h.stamp.set(cur);
        self.run();
    }
    /// The node's fused update, for plans (see [`Updater`]); `None` runs
    /// it with `run_in`.
    fn fused(&self) -> Option<(Fused, *mut ())> {
        None
    }
    /// Forgets the occurrence of the step that is ending (events only).
    fn clear(&self) {}
    /// Whether the node has an occurrence in the running step (events only).
    fn occurring(&self) -> bool {
        false
    }
}

/// Whether `n` is the node behind `rc` (pointer identity).
#[inline]
pub(crate) fn addr<T: ?Sized>(rc: &Rc<T>) -> *const () {
    Rc::as_ptr(rc) as *const ()
}

/// Makes `dep` a dependent of `producer`. If the producer already occurred in
/// the running step, the new dependent runs in this step too (React's rule:
/// a node created during a step sees the simultaneous occurrences).
pub(crate) fn add_dep(producer: &dyn Node, dep: &Rc<dyn Node>) {
    producer.header().push_dep(Rc::downgrade(dep));
    if producer.occurring() {
        schedule(dep.clone());
    }
}

/// Raises the rank of `n` to at least `r`, and its dependents' after it.
/// Returns whether `n`'s rank went up (then the queue must be rebuilt).
pub(crate) fn raise_rank(n: &Rc<dyn Node>, r: u32) -> bool {
    if r <= n.header().rank.get() {
        return false;
    }
    n.header().rank.set(r);
    // Ranks change: every cached update order may be out of order now.
    bump_gen();
    let mut todo = vec![n.clone()];
    while let Some(m) = todo.pop() {
        let mr = m.header().rank.get();
        if mr == DELAYED {
            // Rank propagation stops at delayed nodes, or a `fix` loop would
            // raise ranks forever.
            continue;
        }
        for d in m.header().live_deps() {
            let dr = d.header().rank.get();
            if dr != DELAYED && dr <= mr {
                d.header().rank.set(succ(mr));
                todo.push(d);
            }
        }
    }
    true
}

/// The engine's counters read at every node update, in a thread-local of
/// their own: it has no destructor, so reading it is a plain thread-local
/// load, where the engine's thread-local checks its initialisation state at
/// every access.
struct Hot {
    /// The id of the running step; 0 outside steps.
    current: Cell<u64>,
    /// The graph's generation: bumped whenever an edge is added, a rank
    /// changes, a planned node is freed or an update function replaced,
    /// that is whenever a cached [`Plan`] may become wrong.
    gen: Cell<u64>,
    /// The generation of the plan that runs the current step, or 0: while
    /// it is set, `schedule_deps` only records changes. It is set only to
    /// the current generation, and cleared when the generation moves, so it
    /// is either 0 or `gen`.
    planned: Cell<u64>,
}

thread_local! {
    static HOT: Hot = const {
        Hot {
            current: Cell::new(0),
            gen: Cell::new(1),
            planned: Cell::new(0),
        }
    };
}

#[inline(always)]
fn cur_step() -> u64 {
    HOT.with(|h| h.current.get())
}

#[inline(always)]
fn set_cur_step(id: u64) {
    HOT.with(|h| h.current.set(id));
}

#[inline(always)]
fn graph_gen() -> u64 {
    HOT.with(|h| h.gen.get())
}

#[inline(always)]
fn set_planned(gen: u64) {
    HOT.with(|h| h.planned.set(gen));
}

/// Whether a plan runs the step: its generation is the graph's (`planned`
/// is cleared whenever the generation moves, see [`bump_gen`]).
#[inline(always)]
fn following_plan() -> bool {
    HOT.with(|h| h.planned.get() != 0)
}

struct Engine {
    ids: Cell<u64>,
    queue: RefCell<Queue>,
    /// Events that occurred in the running step.
    to_clear: RefCell<Vec<Rc<dyn Node>>>,
    /// Delayed events that occurred in the running step.
    to_clear_delayed: RefCell<Vec<Rc<dyn Node>>>,
    /// Panics caught in the running step, for the async exception hook.
    failures: RefCell<Vec<Error>>,
    after: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    draining: Cell<bool>,
    live: Cell<usize>,
    kept: RefCell<Vec<Box<dyn Any>>>,
    graveyard: RefCell<Vec<Box<dyn Any>>>,
    burying: Cell<bool>,
}

thread_local! {
    static ENGINE: Engine = const {
        Engine {
            ids: Cell::new(0),
            queue: RefCell::new(Queue::new()),
            to_clear: RefCell::new(Vec::new()),
            to_clear_delayed: RefCell::new(Vec::new()),
            failures: RefCell::new(Vec::new()),
            after: RefCell::new(VecDeque::new()),
            draining: Cell::new(false),
            live: Cell::new(0),
            kept: RefCell::new(Vec::new()),
            graveyard: RefCell::new(Vec::new()),
            burying: Cell::new(false),
        }
    };
}

impl Engine {
    fn fresh_id(&self) -> u64 {
        let id = self.ids.get() + 1;
        self.ids.set(id);
        id
    }

    #[inline]
    fn schedule(&self, n: Rc<dyn Node>) {
        let h = n.header();
        let cur = cur_step();
        if h.stamp.get() == cur {
            return;
        }
        h.stamp.set(cur);
        // Anything queued ends the plan's run of the step: the queue takes
        // over (see `run_plan`).
        set_planned(0);
        self.queue.borrow_mut().push(n);
    }
}

fn bump_gen() {
    let _ = HOT.try_with(|h| {
        h.gen.set(h.gen.get() + 1);
        // A plan running the step was made in the previous generation: it
        // is not followed any more (one load to check, in `following_plan`).
        h.planned.set(0);
    });
}

/// Stops following the plan that runs the step, if one does: the queue
/// takes over from the next node (see `run_plan`). For work the plan does
/// not know of, such as a signal computed before its turn.
pub(crate) fn leave_plan() {
    set_planned(0);
}

/// Whether an update step is running on this thread.
#[inline]
pub(crate) fn in_step() -> bool {
    cur_step() != 0
}

/// The id of the running step (0 outside steps).
#[inline]
pub(crate) fn step_id() -> u64 {
    cur_step()
}

/// A fresh id for an explicit step.
pub(crate) fn fresh_id() -> u64 {
    ENGINE.with(|en| en.fresh_id())
}

/// Schedules `n` in the running step (once per step).
#[inline]
pub(crate) fn schedule(n: Rc<dyn Node>) {
    ENGINE.with(|en| en.schedule(n));
}

/// Lets `n` be scheduled a second time in the running step (after its rank
/// went up, it must run again once its new producers are done).
pub(crate) fn allow_reschedule(n: &dyn Node) {
    n.header().stamp.set(0);
}

/// Re-sorts the queue after ranks changed.
pub(crate) fn rebuild_queue() {
    ENGINE.with(|en| en.queue.borrow_mut().rebuild());
}

/// Remembers that `n` occurred in the running step, to clear it at the end.
#[inline]
pub(crate) fn occurred(n: Rc<dyn Node>) {
    ENGINE.with(|en| {
        if n.header().rank.get() == DELAYED {
            en.to_clear_delayed.borrow_mut().push(n);
        } else {
            en.to_clear.borrow_mut().push(n);
        }
    });
}

/// Records a failure of the running step for the async exception hook.
pub(crate) fn record_failure(e: Error) {
    ENGINE.with(|en| en.failures.borrow_mut().push(e));
}

/// The text a panic payload carries.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Runs `f`; a panic becomes a failure of the running step.
pub(crate) fn contain(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        record_failure(Error::panic(panic_text(&*p)));
    }
}

/// Sends `e` to the async exception hook, outside any step.
pub(crate) fn report(e: Error) {
    after_step(move || crate::core::ignore_result(crate::core::rejected::<()>(e)));
}

/// Runs one update step: `init` sets the primitives and schedules their
/// dependents, then every scheduled node runs in rank order, then the
/// occurrences are cleared, then the steps chained by delayed nodes run.
/// The caller has checked that no step is running.
pub(crate) fn run_step(init: impl FnOnce()) {
    run_step_inner(None, init);
}

/// [`run_step`] for a step whose `init` updates the primitive `src` only:
/// such a step may follow `src`'s cached update order (see [`Plan`]).
/// `src` must stay alive until this returns.
pub(crate) fn run_step_from(src: &dyn Node, init: impl FnOnce()) {
    run_step_inner(Some(src), init);
}

fn run_step_inner(src: Option<&dyn Node>, init: impl FnOnce()) {
    // If the engine itself failed half-way (a bug, since user code is
    // contained), leave it usable rather than stuck "in a step" forever.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let leftovers = ENGINE.try_with(|en| {
                set_cur_step(0);
                let heap = en.queue.borrow_mut().drain_all();
                let a = std::mem::take(&mut *en.to_clear.borrow_mut());
                let b = std::mem::take(&mut *en.to_clear_delayed.borrow_mut());
                (heap, a, b)
            });
            if let Ok((heap, a, b)) = leftovers {
                for n in a.iter().chain(b.iter()) {
                    n.clear();
                }
                drop(heap);
            }
        }
    }

    let failed = ENGINE.with(|en| {
        let id = en.fresh_id();
        set_cur_step(id);
        let reset = Reset;
        let plan = src.and_then(|s| take_plan(s).map(|p| (s, p)));
        let mut followed = false;
        match plan {
            None => contain(init),
            Some((s, mut p)) => {
                set_planned(p.gen);
                let ran = run_plan(s, &p, id, init);
                // A step that followed its plan to the end queued nothing
                // (queueing ends the plan's run), not even delayed nodes
                // (plans do not reach them).
                followed = ran.is_some();
                set_planned(0);
                let len = p.order.as_ref().map_or(0, Vec::len);
                if ran.is_some_and(|ran| len > 4 * ran + 16) {
                    // Few of many nodes change: walking the plan costs more
                    // than queueing them. Back to the queue until the graph
                    // changes.
                    p.order = None;
                }
                // The slot is empty (`take_plan` took the plan out, and only
                // this step's primitive would put one back).
                if let Some(old) = s.header().plan.replace(Some(p)) {
                    drop_plan(old);
                }
            }
        }
        let mut chained = 0u32;
        loop {
            if followed {
                break;
            }
            drain_queue(en);
            // The delayed events of the previous step have had their step.
            clear_occurrences(&en.to_clear_delayed);
            if !en.queue.borrow().has_delayed() {
                break;
            }
            // Everything else of this step is done: the delayed nodes
            // reached feed a new step.
            let delayed = en.queue.borrow_mut().take_delayed();
            chained += 1;
            if chained > MAX_CHAINED_STEPS {
                record_failure(Error::failure(format!(
                    "lwt::react: a fixed point (fix) did not settle after {MAX_CHAINED_STEPS} chained steps; \
                     the remaining updates were dropped"
                )));
                break;
            }
            // Delayed nodes take their source's value of the step that
            // just ended (its occurrences are still there) and schedule
            // their dependents in the new one.
            let id = en.fresh_id();
            set_cur_step(id);
            let old = std::mem::take(&mut *en.to_clear.borrow_mut());
            for d in delayed {
                contain(|| d.run());
            }
            for n in old {
                n.clear();
            }
        }
        clear_occurrences(&en.to_clear);
        std::mem::forget(reset);
        set_cur_step(0);
        !en.failures.borrow().is_empty()
    });
    if failed {
        for e in ENGINE.with(|en| std::mem::take(&mut *en.failures.borrow_mut())) {
            report(e);
        }
    }
    if ENGINE.with(|en| !en.after.borrow().is_empty()) {
        drain_after();
    }
}

/// Plans bigger than this are not made: a step that changes few of many
/// nodes is cheaper with the queue, which only sees the changed ones.
const MAX_PLAN: usize = 256;

/// The cached update order of the steps started by one primitive.
///
/// Most programs set the same primitive again and again, over a graph that
/// does not change between the updates. The queue then sorts the same nodes
/// into the same order at every step: for every change, each dependent is
/// looked up (a weak reference upgraded, its stamp checked), pushed and
/// popped, and a node with several changed producers (the join of a
/// diamond) is found already scheduled many times over. A plan does that
/// work once: it lists every node the primitive can reach (its transitive
/// dependents) in the order the queue would run them if they all changed,
/// lowest rank first, each with the `changed` cells of its producers. A step
/// that follows the plan does not schedule at all: a node that changes only
/// records the step id in its `changed` cell (`schedule_deps`), and the
/// step walks the plan, running each node one of whose producers changed in
/// this step. So each node still runs at most once, after all its
/// producers (rank order), and only if one of them changed.
///
/// The plan is right while the graph keeps its edges and ranks: the
/// engine's generation counts the changes that could make it wrong (an
/// edge added, a rank raised), and a plan is used only in the generation it
/// was made in. Stopped nodes need no new plan: they skip their own update.
///
/// A plan runs each node by calling its *fused* update (see [`Updater`])
/// with the node's address: one indirect call per node, no reference count
/// upgraded, no dynamic dispatch to find the function. So the addresses
/// must stay good while the plan is followed: the drop of a node that a
/// plan lists, and the replacement of an update function, move the
/// generation too. If the generation moves *during* the step (a node made,
/// switched in or freed by an update function) or something is queued by
/// other means, the rest of the step goes back to the queue: the dependents
/// of everything that changed so far are queued (found through weak
/// references, never addresses; those that already ran are stamped and
/// skipped), and everything from then on is scheduled as without a plan.
///
/// A plan is made only for a primitive whose graph did not change since
/// its previous step (so a graph that changes at every step does not pay
/// for a new plan each time), not for one that reaches a delayed node
/// (`fix`; those steps keep the queue), and it is dropped for the
/// generation if a step leaves most of it unchanged (the queue is cheaper
/// when few of many nodes change).
pub(crate) struct Plan {
    /// The generation the order was made in (0: none).
    gen: u64,
    /// The generation seen at the primitive's previous step.
    seen: u64,
    /// The nodes in update order; `None` when not worth it in `gen`.
    order: Option<Vec<Planned>>,
    /// The producers' `changed` cells but the first (see `Planned::first`),
    /// `Planned::more` indexes here.
    cells: Vec<*const Cell<u64>>,
    /// The nodes of `order`, weakly, in the same order: for those without a
    /// fused update, and to hand the rest of a step to the queue.
    nodes: Vec<Weak<dyn Node>>,
}

/// One node of a plan.
struct Planned {
    /// Its fused update (copied from the node: it changes only with the
    /// generation), or [`run_weak`] for a node that has none.
    run: Fused,
    /// What `run` takes: the node's address for a fused update, the address
    /// of its `Plan::nodes` entry for `run_weak`. While the plan's
    /// generation is the graph's, the node is alive: a planned node's drop
    /// moves the generation (`Header::in_plan`). So a step that follows its
    /// plan calls the fused update with this, without upgrading a weak
    /// reference (the fused update takes its own strong reference for the
    /// call).
    ptr: *const (),
    /// The fused update's second argument: the address of the node's update
    /// function (the inside of its box), so the call reaches the function
    /// without first loading the box's address from the node (one load
    /// fewer in the chain of dependent loads every node starts with). Null
    /// for `run_weak`. Good while the generation is the plan's, as `ptr`:
    /// replacing the function moves the generation.
    env: *mut (),
    /// Its first producer's `changed` cell (every planned node has one: the
    /// node it was reached from), checked without indexing. By address: the
    /// producers are the primitive, alive while it runs a step, and planned
    /// nodes, alive while the plan's generation is the graph's (as for
    /// `ptr`); so the cells are read only while the plan is followed.
    first: *const Cell<u64>,
    /// Its other producers' cells: `cells[more.0..more.1]`.
    more: (u32, u32),
}

/// The plan for a step started by `src`, if there is one worth following.
#[inline]
fn take_plan(src: &dyn Node) -> Option<Box<Plan>> {
    let gen = graph_gen();
    let h = src.header();
    let p = h.plan.take();
    match p {
        // The usual case: the plan made for this generation.
        Some(p) if p.gen == gen && p.order.is_some() => Some(p),
        p => take_plan_slow(src, gen, p),
    }
}

#[cold]
fn take_plan_slow(src: &dyn Node, gen: u64, p: Option<Box<Plan>>) -> Option<Box<Plan>> {
    let h = src.header();
    let mut p = match p {
        Some(p) => p,
        None => Box::new(Plan {
            gen: 0,
            seen: 0,
            order: None,
            cells: Vec::new(),
            nodes: Vec::new(),
        }),
    };
    if p.gen != gen {
        p.order = None;
        p.cells.clear();
        p.nodes.clear();
        if p.seen == gen {
            p.gen = gen;
            build_plan(src, &mut p);
        } else {
            p.seen = gen;
        }
    }
    if p.gen == gen && p.order.is_some() {
        Some(p)
    } else {
        h.plan.set(Some(p));
        None
    }
}

#[cold]
fn drop_plan(p: Box<Plan>) {
    drop(p);
}

/// Fills `plan` with the nodes `src` reaches, in the order the queue would
/// run them if they all changed; leaves it empty past [`MAX_PLAN`] nodes or
/// if a delayed node is reached.
fn build_plan(src: &dyn Node, plan: &mut Plan) {
    use std::collections::{BTreeMap, HashMap};
    let mut order: Vec<Rc<dyn Node>> = Vec::new();
    // Node address → its index in `order`, once queued.
    let mut index: HashMap<*const (), usize> = HashMap::new();
    let mut waiting: BTreeMap<u32, VecDeque<Rc<dyn Node>>> = BTreeMap::new();
    let mut queued = 0usize;
    let mut reach = |from: &dyn Node, waiting: &mut BTreeMap<u32, VecDeque<Rc<dyn Node>>>| -> bool {
        for d in from.header().live_deps() {
            let h = d.header();
            let rank = h.rank.get();
            if rank == DELAYED {
                return false;
            }
            if h.stopped.get() {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(v) = index.entry(addr(&d)) {
                v.insert(usize::MAX);
                queued += 1;
                if queued > MAX_PLAN {
                    return false;
                }
                waiting.entry(rank).or_default().push_back(d);
            }
        }
        true
    };
    if !reach(src, &mut waiting) {
        return;
    }
    while let Some(mut first) = waiting.first_entry() {
        let Some(n) = first.get_mut().pop_front() else {
            first.remove();
            continue;
        };
        if !reach(&*n, &mut waiting) {
            return;
        }
        order.push(n);
    }
    for (i, n) in order.iter().enumerate() {
        index.insert(addr(n), i);
    }
    // Each node's producers among `src` and `order`.
    let mut producers: Vec<Vec<*const Cell<u64>>> = vec![Vec::new(); order.len()];
    for from in std::iter::once(src).chain(order.iter().map(|n| &**n)) {
        let cell: *const Cell<u64> = &from.header().changed;
        for d in from.header().live_deps() {
            if let Some(&i) = index.get(&addr(&d)) {
                producers[i].push(cell);
            }
        }
    }
    // `Plan::nodes` first: the nodes without a fused update are run
    // through their entry there, by address.
    plan.nodes.extend(order.iter().map(Rc::downgrade));
    let mut planned = Vec::with_capacity(order.len());
    for ((n, ps), w) in order.iter().zip(producers).zip(&plan.nodes) {
        let mut ps = ps.into_iter();
        let Some(first) = ps.next() else {
            // Cannot happen (a node is planned because it was reached),
            // but a plan must never skip a node: no plan then.
            return;
        };
        let from = plan.cells.len() as u32;
        plan.cells.extend(ps);
        n.header().in_plan.set(true);
        let (run, ptr, env) = match n.fused() {
            Some((f, env)) => (f, Rc::as_ptr(n) as *const (), env),
            None => (
                run_weak as Fused,
                w as *const Weak<dyn Node> as *const (),
                std::ptr::null_mut(),
            ),
        };
        planned.push(Planned {
            run,
            ptr,
            env,
            first,
            more: (from, plan.cells.len() as u32),
        });
    }
    plan.order = Some(planned);
}

/// The plan's way to run a node without a fused update: `run_in` through
/// its weak reference.
///
/// # Safety
///
/// `w` is the address of a live `Weak<dyn Node>`.
unsafe fn run_weak(w: *const (), _env: *mut (), cur: u64) {
    // SAFETY: the caller's promise.
    let w = unsafe { &*(w as *const Weak<dyn Node>) };
    if let Some(n) = w.upgrade() {
        n.run_in(cur);
    }
}

/// Runs the nodes of the step `cur` that have a changed producer, in the
/// plan's order (see [`Plan`]); hands the rest of the step to the queue if
/// the graph changes on the way. Returns how many nodes ran if the whole
/// step followed the plan.
fn run_plan(src: &dyn Node, plan: &Plan, cur: u64, init: impl FnOnce()) -> Option<usize> {
    let Some(order) = plan.order.as_deref() else {
        contain(init);
        return None;
    };
    let cells = &plan.cells[..];
    // Whether the primitive changed, known once its update has run: the
    // nodes it feeds directly (the most common first producer) then need
    // no load to know they are due.
    let src_cell: *const Cell<u64> = &src.header().changed;
    let src_changed = Cell::new(false);
    // Only while the plan is followed (see `Planned::first`).
    let due = |p: &Planned| {
        // SAFETY: the plan is followed (checked before every call), so the
        // producers whose cells these are are alive.
        unsafe {
            (if std::ptr::eq(p.first, src_cell) {
                src_changed.get()
            } else {
                (*p.first).get() == cur
            }) || cells[p.more.0 as usize..p.more.1 as usize]
                .iter()
                .any(|&c| (*c).get() == cur)
        }
    };
    // The address of the next entry to look at (rather than its index: the
    // walk then costs no bounds check nor multiplication per node).
    let next = Cell::new(order.as_ptr());
    let index = |at: *const Planned| (at as usize - order.as_ptr() as usize) / std::mem::size_of::<Planned>();
    let ran = Cell::new(0usize);
    // The primitive's update runs under the walk's landing pad, once.
    let init = Cell::new(Some(init));
    let finished = loop {
        // One landing pad for the whole walk, as in `drain_queue`: a
        // panicking node has already put its update function back.
        let r = catch_unwind(AssertUnwindSafe(|| {
            if let Some(init) = init.take() {
                init();
            }
            src_changed.set(src.header().changed.get() == cur);
            let mut rest = order[index(next.get())..].iter();
            while let Some(p) = rest.next() {
                // The graph may have changed in the node that ran last, or
                // before the walk (in the primitive's update).
                if !following_plan() {
                    next.set(p);
                    return false;
                }
                if due(p) {
                    ran.set(ran.get() + 1);
                    // Resume after this node if it panics.
                    next.set(rest.as_slice().as_ptr());
                    // SAFETY: the plan's generation is the graph's (checked
                    // just above), so the node at `p.ptr` is alive (a planned
                    // node's drop moves the generation) and `p.run` is its
                    // fused update (replacing a function moves the
                    // generation too), or `run_weak` with `p.ptr` pointing
                    // into `plan.nodes`, which `plan` keeps.
                    unsafe { (p.run)(p.ptr, p.env, cur) };
                }
            }
            next.set(order.as_ptr_range().end);
            // The last node may have changed the graph too.
            following_plan()
        }));
        match r {
            Ok(done) => break done,
            Err(p) => record_failure(Error::panic(panic_text(&*p))),
        }
    };
    if !finished {
        // The queue takes over. Every change of the step so far only
        // recorded itself (`schedule_deps` while the plan was followed):
        // queue the dependents of what changed — the primitive and the
        // planned nodes up to where the walk stopped (those after it have
        // not run). Through weak references: the graph changed, addresses
        // may be stale. Dependents that already ran are stamped and skipped;
        // dependents the plan did not know (made in this step) are queued
        // too.
        set_planned(0);
        let upto = index(next.get());
        let h = src.header();
        if h.changed.get() == cur {
            h.queue_deps();
        }
        for w in &plan.nodes[..upto] {
            if let Some(n) = w.upgrade() {
                let h = n.header();
                if h.changed.get() == cur {
                    h.queue_deps();
                }
            }
        }
        return None;
    }
    Some(ran.get())
}

/// Runs the queued nodes until the queue is empty.
///
/// One `catch_unwind` guards the whole loop rather than one per node: a
/// panicking node has already put its update function back (see the nodes'
/// `run`), so after recording the failure the loop simply resumes with the
/// next node. The happy path pays for one landing pad per step.
fn drain_queue(en: &Engine) {
    loop {
        let r = catch_unwind(AssertUnwindSafe(|| loop {
            let next = en.queue.borrow_mut().pop();
            match next {
                Some(n) => n.run(),
                None => break,
            }
        }));
        match r {
            Ok(()) => return,
            Err(p) => record_failure(Error::panic(panic_text(&*p))),
        }
    }
}

/// Clears the occurrences in one of the engine's lists, keeping the list's
/// allocation for the next step.
#[inline(always)]
fn clear_occurrences(which: &RefCell<Vec<Rc<dyn Node>>>) {
    if !which.borrow().is_empty() {
        clear_occurrences_slow(which);
    }
}

#[cold]
fn clear_occurrences_slow(which: &RefCell<Vec<Rc<dyn Node>>>) {
    let mut list = std::mem::take(&mut *which.borrow_mut());
    // Clearing drops occurrence values, whose `Drop` is user code: a panic
    // there is a failure of the step like any other, and the remaining
    // occurrences are still cleared.
    let next = Cell::new(0);
    while next.get() < list.len() {
        let r = catch_unwind(AssertUnwindSafe(|| {
            while let Some(n) = list.get(next.get()) {
                next.set(next.get() + 1);
                n.clear();
            }
        }));
        if let Err(p) = r {
            record_failure(Error::panic(panic_text(&*p)));
        }
    }
    list.clear();
    let mut l = which.borrow_mut();
    if l.is_empty() {
        *l = list;
    }
}

/// Runs `job` once no step is running: now if none is, else after the
/// running step (and the jobs queued before it) are done. Jobs run in the
/// order they were queued.
pub(crate) fn after_step(job: impl FnOnce() + 'static) {
    let now = ENGINE.with(|en| {
        if cur_step() != 0 || en.draining.get() {
            en.after.borrow_mut().push_back(Box::new(job));
            None
        } else {
            Some(job)
        }
    });
    if let Some(job) = now {
        if let Err(p) = catch_unwind(AssertUnwindSafe(job)) {
            crate::core::ignore_result(crate::core::rejected::<()>(Error::panic(panic_text(&*p))));
        }
    }
}

fn drain_after() {
    let start = ENGINE.with(|en| {
        if en.draining.get() {
            false
        } else {
            en.draining.set(true);
            true
        }
    });
    if !start {
        return;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            let _ = ENGINE.try_with(|en| en.draining.set(false));
        }
    }
    let _done = Done;
    while let Some(job) = ENGINE.with(|en| en.after.borrow_mut().pop_front()) {
        if let Err(p) = catch_unwind(AssertUnwindSafe(job)) {
            crate::core::ignore_result(crate::core::rejected::<()>(Error::panic(panic_text(&*p))));
        }
    }
}

/// The update function of a derived node (event or signal), and the rules
/// for letting go of it: it holds the node's producers, so it is dropped when
/// the node stops — but not while it runs (then after it returns) — and always
/// through [`dispose`], so that a long chain is freed without deep recursion.
///
/// It also keeps, for the plans (see [`Plan`]), the node's *fused* update:
/// one function, made for the node's type and the function's concrete type
/// together, that does what `Node::run_in` does and calls the function
/// statically (inlined). A plan calls it through one function pointer, where
/// `run_in` costs two dynamic calls per node (the node's `run_in`, then the
/// boxed function), each with its own frame, borrow and checks: on a graph
/// of small functions (a `map` is a multiplication) that bookkeeping was
/// most of the step.
///
/// The function is owned through a raw pointer (a `Box` let go with
/// `Box::into_raw`, taken back to drop it), guarded by `running` (a
/// `RefCell` would do, for two more instructions per node and step): while
/// it runs, nothing else touches it — `release` leaves it for `run` to drop
/// afterwards, `set` and a nested `run` panic. Every `&mut` to it is made
/// from that one pointer for the call only, so plans may keep a copy of the
/// pointer (see [`Updater::fused`]) and call through it later.
pub(crate) struct Updater<N: 'static> {
    f: Cell<Option<FnPtr<N>>>,
    /// Whether the function is running (its `&mut` is out).
    running: Cell<bool>,
    /// `run_fused::<N, F>` when `f` was given as an `F` by [`Updater::with`]
    /// and not replaced since.
    fused: Cell<Option<Fused>>,
}

/// Marks an updater's function as running until dropped (also when the
/// function panics).
struct Running<'a>(&'a Cell<bool>);

impl<'a> Running<'a> {
    #[inline(always)]
    fn start(flag: &'a Cell<bool>) -> Running<'a> {
        if flag.get() {
            running_twice();
        }
        flag.set(true);
        Running(flag)
    }
}

impl Drop for Running<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(false);
    }
}

#[cold]
#[inline(never)]
fn running_twice() -> ! {
    panic!("lwt::react: an update function was run or replaced while it was running")
}

/// A derived node's update function.
pub(crate) type UpdateFn<N> = Box<dyn FnMut(&Rc<N>)>;

/// An update function owned by an [`Updater`]: a `Box::into_raw` pointer.
type FnPtr<N> = NonNull<dyn FnMut(&Rc<N>)>;

/// Lets `f`'s box go, keeping its pointer (taken back by [`drop_fn`]).
fn into_ptr<N: 'static>(f: UpdateFn<N>) -> FnPtr<N> {
    // SAFETY: `Box::into_raw` never gives a null pointer.
    unsafe { NonNull::new_unchecked(Box::into_raw(f)) }
}

/// Drops a function owned through [`into_ptr`], without recursing (see
/// [`dispose`]).
///
/// # Safety
/// `f` came from `into_ptr`, is not running and is not used again.
unsafe fn drop_fn<N: 'static>(f: FnPtr<N>) {
    // SAFETY: the caller's promise: the box is ours again.
    dispose(Box::new(unsafe { Box::from_raw(f.as_ptr()) }));
}

/// A node's fused update (see [`Updater`]): `run_in` for the node behind
/// the pointer, in the step given.
///
/// Calling it is `unsafe`: the pointer must be the address of a live node
/// (whose value is not being dropped) of the type the function was made
/// for, that is the one whose [`Node::fused`] returned it; the function
/// holds a strong reference of its own while it runs.
pub(crate) type Fused = unsafe fn(*const (), *mut (), u64);

/// The node types that keep their update function in an [`Updater`].
pub(crate) trait Updated: Node + Sized {
    fn updater(&self) -> &Updater<Self>;
}

impl<N: 'static> Updater<N> {
    pub(crate) fn new(f: Option<UpdateFn<N>>) -> Updater<N> {
        Updater {
            f: Cell::new(f.map(into_ptr)),
            running: Cell::new(false),
            fused: Cell::new(None),
        }
    }

    /// The updater of a node whose update function is `f`, with its fused
    /// update.
    pub(crate) fn with<F: FnMut(&Rc<N>) + 'static>(f: F) -> Updater<N>
    where
        N: Updated,
    {
        Updater {
            f: Cell::new(Some(into_ptr(Box::new(f)))),
            running: Cell::new(false),
            fused: Cell::new(Some(run_fused::<N, F> as Fused)),
        }
    }

    /// The fused update, if the function is still the one it was made for,
    /// with the address of the function (what the fused update's `env`
    /// takes); `None` also once the function was released.
    #[inline]
    pub(crate) fn fused(&self) -> Option<(Fused, *mut ())> {
        let run = self.fused.get()?;
        let f = self.f.get()?;
        Some((run, f.as_ptr() as *mut ()))
    }

    pub(crate) fn set(&self, f: UpdateFn<N>) {
        // The fused update is made for the function's type: gone with it.
        // A plan may have copied it, so plans must be remade too.
        if self.fused.take().is_some() {
            bump_gen();
        }
        if self.running.get() {
            running_twice();
        }
        if let Some(old) = self.f.replace(Some(into_ptr(f))) {
            // SAFETY: owned by this updater, not running (checked above),
            // and no longer reachable from it.
            unsafe { drop_fn(old) };
        }
    }

    /// Whether the function is running now.
    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    /// Drops the function now, unless it is running (`run` drops it then).
    pub(crate) fn release(&self) {
        if self.running.get() {
            return;
        }
        if let Some(f) = self.f.take() {
            // SAFETY: owned by this updater, not running (checked above),
            // and no longer reachable from it.
            unsafe { drop_fn(f) };
        }
    }

    /// Runs the function on `node`; drops it after if the node stopped.
    #[inline(always)]
    pub(crate) fn run(&self, node: &Rc<N>, stopped: &Cell<bool>) {
        let running = Running::start(&self.running);
        let Some(f) = self.f.get() else { return };
        // SAFETY: `running` is set (and was not): `release` and `set` leave
        // the function alone and a nested `run` panics until it is dropped,
        // so this is the only reference to it.
        let f = unsafe { &mut *f.as_ptr() };
        // If `f` panics, unwinding clears `running` and leaves `f` in
        // place: the step goes on (see `drain_queue`), the node stays usable.
        f(node);
        drop(running);
        if stopped.get() {
            // The node stopped itself: drop the function now that it
            // returned.
            self.release_cold();
        }
    }

    #[cold]
    fn release_cold(&self) {
        self.release();
    }
}

/// The fused update of a node of type `N` whose function is an `F` (see
/// [`Updater`]): what `N::run_in` does for a plan, with `F` called
/// statically.
///
/// # Safety
///
/// `node` is the address of the value of a live `Rc<N>` (strong count above
/// zero) whose updater was made by `Updater::with::<F>` and whose function
/// was not replaced since (`set` clears `fused`); `env` is the address of
/// that function, as [`Updater::fused`] gave it.
unsafe fn run_fused<N: Updated, F: FnMut(&Rc<N>) + 'static>(node: *const (), env: *mut (), cur: u64) {
    let node = node as *const N;
    // SAFETY: `node` is the address `Rc::as_ptr` gave for a live `Rc<N>` (or
    // for an `Rc<dyn Node>` made from one by unsized coercion: the same
    // address). Our own strong reference keeps the node alive until this
    // returns, even if the function drops every other handle on it.
    let me: Rc<N> = unsafe {
        Rc::increment_strong_count(node);
        Rc::from_raw(node)
    };
    let h = me.header();
    // Unlike `run_in`, no need to check the stamp: only a plan runs this,
    // and while a plan is followed nothing else runs or queues nodes
    // (queueing ends the plan's run) and the walk visits each node once.
    debug_assert_ne!(h.stamp.get(), cur, "lwt::react: a planned node ran twice in a step");
    if h.stopped.get() {
        return;
    }
    h.stamp.set(cur);
    let upd = me.updater();
    // Not `Running::start`: no node runs while a plan's node runs, and each
    // runs once (see above), so the function is not running already.
    debug_assert!(!upd.running.get());
    // `release` empties the slot without moving the generation: an empty
    // slot means `env` is gone too.
    if upd.f.get().is_none() {
        return;
    }
    upd.running.set(true);
    let running = Running(&upd.running);
    // SAFETY: the slot holds the function `env` points into: `fused` was
    // set together with a function of type `F` (`with`) and is cleared by
    // `set` when it is replaced (which moves the generation, so the plan
    // that gave `env` is not followed any more); `release` empties the
    // slot instead (checked just above). With `running` set, nothing else
    // touches the function, as in `Updater::run`.
    let f = unsafe { &mut *(env as *mut F) };
    // A panic unwinds through here as through `run`: `running` is cleared,
    // the function stays in place.
    f(&me);
    drop(running);
    if h.stopped.get() {
        upd.release_cold();
    }
}

impl<N: 'static> Drop for Updater<N> {
    fn drop(&mut self) {
        if let Some(f) = self.f.take() {
            // SAFETY: owned by this updater, which is going away; a node is
            // not dropped while its function runs (its update holds a strong
            // reference).
            unsafe { drop_fn(f) };
        }
    }
}

/// Drops `b` without recursing: dropping the last handle on a long chain of
/// derived nodes would otherwise drop each producer from inside the drop of
/// its consumer, one stack frame per node.
pub(crate) fn dispose(b: Box<dyn Any>) {
    let queued = ENGINE.try_with(|en| {
        en.graveyard.borrow_mut().push(b);
        if en.burying.get() {
            return true;
        }
        en.burying.set(true);
        loop {
            let next = en.graveyard.borrow_mut().pop();
            match next {
                Some(x) => drop(x),
                None => break,
            }
        }
        en.burying.set(false);
        true
    });
    // During thread teardown the engine may be gone: `b` was moved into the
    // closure and is dropped with it.
    let _ = queued;
}

/// Keeps `b` alive until the thread ends.
pub(crate) fn keep_forever(b: Box<dyn Any>) {
    ENGINE.with(|en| en.kept.borrow_mut().push(b));
}

/// How many event and signal nodes are alive on this thread.
///
/// Every derived event or non-constant signal owns one node; a node is freed
/// once nobody holds it (its producers only hold it weakly), unless it was
/// kept on purpose ([`Event::keep`](super::Event::keep),
/// [`Event::retain`](super::Event::retain)). Tests use this to check that
/// the graph does not leak.
///
/// ```
/// use lwt::react::{e, live_nodes};
/// let (ev, _send) = e::create::<i32>();
/// let before = live_nodes();
/// let doubled = ev.map(|x| x * 2);
/// assert_eq!(live_nodes(), before + 1);
/// drop(doubled);
/// assert_eq!(live_nodes(), before);
/// ```
pub fn live_nodes() -> usize {
    ENGINE.with(|en| en.live.get())
}
