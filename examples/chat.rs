//! A chat server: every line a client sends is broadcast to the others.
//!
//! ```text
//! cargo run --example chat -- --demo    # a server and three scripted clients, then exit
//! cargo run --example chat               # serve on 127.0.0.1:7778 until Ctrl-C
//! nc 127.0.0.1 7778                       # join: the first line you type is your name
//! ```
//!
//! What it shows:
//! - shared state on one thread without locks: the room is an
//!   `Rc<RefCell<..>>`, because every handler runs on the loop's thread;
//! - one handler per connection (`establish_server`), which reads lines
//!   while other handlers write to its output channel;
//! - broadcasting with `lwt::join`, ignoring clients that went away (an
//!   error in a handler would reach the async exception hook, which stops
//!   the program by default);
//! - in the demo, clients driven step by step: each message is followed by
//!   reading it on every other client, so the output is always the same.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lwt::io::{self, InputChannel, OutputChannel};
use lwt::unix::SockAddr;
use lwt::{lwt_let, resolved, Promise};

/// The people connected: an id, a name, and the channel to write to them.
#[derive(Default)]
struct Room {
    next_id: Cell<u32>,
    members: RefCell<Vec<(u32, String, OutputChannel)>>,
}

impl Room {
    /// Sends `text` to everyone but `except`. A member whose connection
    /// broke is skipped: their own handler will notice and leave.
    fn broadcast(&self, except: u32, text: String) -> Promise<()> {
        let sends: Vec<Promise<()>> = self
            .members
            .borrow()
            .iter()
            .filter(|(id, _, _)| *id != except)
            .map(|(_, _, oc)| io::write_line(oc, &text).catch(|_| resolved(())))
            .collect();
        lwt::join(sends)
    }
}

/// One connection: the first line is the name, then every line is a
/// message, until the end of input or `/quit`.
fn handle(room: Rc<Room>, ic: InputChannel, oc: OutputChannel) -> Promise<()> {
    let id = room.next_id.get();
    room.next_id.set(id + 1);
    io::read_line(&ic).bind(move |name| {
        let name = name.trim().to_string();
        room.members.borrow_mut().push((id, name.clone(), oc.clone()));
        let online = room.members.borrow().len();
        let (r2, r3, n2, n3) = (room.clone(), room.clone(), name.clone(), name.clone());
        lwt_let! {
            do! io::write_line(&oc, format!("welcome {name}, {online} online"));
            do! room.broadcast(id, format!("* {name} joined"));
            do! talk(r2, id, n2, ic);
            // Leaving: forget the member, tell the others.
            r3.members.borrow_mut().retain(|(m, _, _)| *m != id);
            r3.broadcast(id, format!("* {n3} left"))
        }
    })
}

/// Relays each line of `ic` to the room.
fn talk(room: Rc<Room>, id: u32, name: String, ic: InputChannel) -> Promise<()> {
    io::read_line_opt(&ic).bind(move |line| match line {
        None => resolved(()),
        Some(l) if l.trim() == "/quit" => resolved(()),
        Some(l) => room
            .broadcast(id, format!("<{name}> {l}"))
            .bind(move |()| talk(room, id, name, ic)),
    })
}

/// A scripted client of the demo.
#[derive(Clone)]
struct Client {
    name: &'static str,
    ic: InputChannel,
    oc: OutputChannel,
}

/// Reads one line on each of `clients` and prints who saw what.
fn everyone_reads(clients: Vec<Client>) -> Promise<()> {
    let reads = clients
        .into_iter()
        .map(|c| io::read_line(&c.ic).map(move |l| println!("  {:>5} sees: {l}", c.name)));
    // In order, so the printout is stable.
    reads.fold(resolved(()), |acc, next| acc.bind(move |()| next))
}

/// Connects a client named `name`, reads its welcome, and lets the ones
/// already there see it join.
fn join(addr: SockAddr, name: &'static str, present: Vec<Client>) -> Promise<Client> {
    io::open_connection(addr).bind(move |(ic, oc)| {
        let me = Client { name, ic, oc };
        let me2 = me.clone();
        println!("{name} connects");
        io::write_line(&me.oc, name)
            .bind(move |()| everyone_reads(vec![me2]))
            .bind(move |()| everyone_reads(present))
            .map(move |()| me)
    })
}

/// `from` says `text`; the `others` read it.
fn say(from: &Client, text: &'static str, others: Vec<Client>) -> Promise<()> {
    println!("{} says: {text}", from.name);
    io::write_line(&from.oc, text).bind(move |()| everyone_reads(others))
}

/// `who` leaves (closes its connection); the `others` read the news.
fn leave(who: Client, others: Vec<Client>) -> Promise<()> {
    println!("{} leaves", who.name);
    io::close(&who.oc)
        .bind(move |()| io::close(&who.ic))
        .bind(move |()| everyone_reads(others))
}

fn demo(addr: SockAddr) -> Promise<()> {
    lwt_let! {
        let! alice = join(addr.clone(), "alice", vec![]);
        let! bob = join(addr.clone(), "bob", vec![alice.clone()]);
        let! carol = join(addr.clone(), "carol", vec![alice.clone(), bob.clone()]);
        do! say(&alice, "hi all", vec![bob.clone(), carol.clone()]);
        do! say(&bob, "hello alice", vec![alice.clone(), carol.clone()]);
        do! say(&carol, "hey", vec![alice.clone(), bob.clone()]);
        do! leave(carol, vec![alice.clone(), bob.clone()]);
        do! leave(bob, vec![alice.clone()]);
        leave(alice, vec![])
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo_mode = args.iter().any(|a| a == "--demo");
    let port = if demo_mode { 0 } else { 7778 };
    let addr = SockAddr::parse_inet(&format!("127.0.0.1:{port}")).expect("a valid address");

    let room = Rc::new(Room::default());
    let server = lwt::main::run(io::establish_server(addr, move |ic, oc| handle(room.clone(), ic, oc)));
    let server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen: {e}");
            std::process::exit(1)
        }
    };
    println!("chat server on {}", server.addr());

    if demo_mode {
        let run = demo(server.addr().clone()).bind(move |()| server.shutdown());
        if let Err(e) = lwt::main::run(run) {
            eprintln!("demo failed: {e:#}");
            std::process::exit(1)
        }
        return;
    }
    let (forever, _never_resolved) = lwt::wait::<()>();
    let _ = lwt::main::run(forever);
}
