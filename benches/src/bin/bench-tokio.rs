//! The BENCH.md workloads on tokio: a `current_thread` runtime inside a `LocalSet`,
//! tasks via `spawn_local` (one thread, like Lwt). Usage: `bench-tokio WORKLOAD N [M]`.

#[path = "../cli.rs"]
mod cli;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Mutex, Notify};
use tokio::task::{spawn_local, yield_now, LocalSet};

const PROGRAM: &str = "bench-tokio";

fn main() {
    let args = cli::parse(PROGRAM, cli::WORKLOADS);
    let (n, m) = (args.n, args.m);
    let workload = args.workload.clone();
    cli::run_and_report(&args, move || match workload.as_str() {
        "bind_resolved" => on_tokio(bind_resolved(n)),
        "bind_pending" => on_tokio(bind_pending(n, m)),
        "pause_loop" => on_tokio(pause_loop(n)),
        "many_sleeps" => on_tokio(many_sleeps(n)),
        "spawn_join" => on_tokio(spawn_join(n)),
        "mutex_pingpong" => on_tokio(mutex_pingpong(n)),
        "stream" => on_tokio(stream(n)),
        "echo" => on_tokio(echo(n, m)),
        "pipe_throughput" => on_tokio(pipe_throughput(n)),
        "lines" => on_tokio(lines(n)),
        _ => unreachable!("cli::parse accepts only known workloads"),
    });
}

/// Builds the runtime, runs `fut` to completion inside a `LocalSet`, and tears both down
/// (all of it inside the timed region).
fn on_tokio<F: Future<Output = u64> + 'static>(fut: F) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = LocalSet::new();
    let checksum = local.block_on(&rt, fut);
    drop(local);
    drop(rt);
    checksum
}

/// N awaits of an already-complete future of `i`, adding `i` to an accumulator
/// (`black_box` keeps the compiler from folding the loop into a closed form).
async fn bind_resolved(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = std::future::ready(black_box(acc.wrapping_add(i))).await;
    }
    acc
}

/// R rounds: D boxed futures each awaiting the previous one, the innermost awaiting a
/// oneshot receiver; the chain is polled once (pending, as Lwt's chain on `wait()`),
/// then the round number is sent and the chain's end read. Deep D overflows the stack
/// (each level is one nested `poll` frame): that is the expected crash.
async fn bind_pending(d: u64, rounds: u64) -> u64 {
    let mut total = 0u64;
    for r in 1..=rounds {
        let (tx, rx) = oneshot::channel::<u64>();
        let mut chain: Pin<Box<dyn Future<Output = u64>>> = Box::pin(async move { rx.await.expect("sender kept") });
        for _ in 0..d {
            let prev = chain;
            chain = Box::pin(async move { prev.await + 1 });
        }
        // One poll: the whole chain is now waiting on the receiver.
        let mut polled_once = false;
        std::future::poll_fn(|cx| {
            if !polled_once {
                polled_once = true;
                assert!(chain.as_mut().poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        tx.send(r).expect("receiver kept");
        total = total.wrapping_add(chain.await);
    }
    total
}

/// `yield_now().await` N times.
async fn pause_loop(n: u64) -> u64 {
    let mut count = 0u64;
    for _ in 0..n {
        yield_now().await;
        count += 1;
    }
    count
}

/// N tasks, task i sleeps (i mod 100) ms then yields i; all joined and summed.
async fn many_sleeps(n: u64) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            spawn_local(async move {
                tokio::time::sleep(Duration::from_millis(i % 100)).await;
                i
            })
        })
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum = sum.wrapping_add(h.await.expect("sleeper"));
    }
    sum
}

/// N tasks that `yield_now` once then yield i; joined and summed.
async fn spawn_join(n: u64) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            spawn_local(async move {
                yield_now().await;
                i
            })
        })
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum = sum.wrapping_add(h.await.expect("task"));
    }
    sum
}

struct Table {
    turn: u64,
    count: u64,
    work: u64,
}

/// Two players, one mutex and one condition (tokio has no condition variable: a
/// `Notify` plays it, the `Notified` future created before the lock is released).
async fn mutex_pingpong(n: u64) -> u64 {
    let table = Rc::new(Mutex::new(Table {
        turn: 0,
        count: 0,
        work: 0,
    }));
    let cond = Rc::new(Notify::new());
    let player = |me: u64| {
        let table = table.clone();
        let cond = cond.clone();
        spawn_local(async move {
            loop {
                let mut t = table.lock().await;
                while t.turn != me {
                    let notified = cond.notified();
                    drop(t);
                    notified.await;
                    t = table.lock().await;
                }
                let counted = t.count < n;
                if counted {
                    t.count += 1;
                    t.work += me;
                }
                t.turn = 1 - me;
                cond.notify_waiters();
                let done = t.count >= n;
                drop(t);
                if done {
                    break;
                }
            }
        })
    };
    let p0 = player(0);
    let p1 = player(1);
    p0.await.expect("player 0");
    p1.await.expect("player 1");
    let t = table.lock().await;
    t.count + t.work
}

/// Unbounded mpsc carrying 1..=N; the producer yields every 64 sends, the consumer folds `+`.
async fn stream(n: u64) -> u64 {
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    let producer = spawn_local(async move {
        for i in 1..=n {
            tx.send(i).expect("consumer alive");
            if i % 64 == 0 {
                yield_now().await;
            }
        }
        // Dropping tx closes the stream.
    });
    let consumer = spawn_local(async move {
        let mut sum = 0u64;
        while let Some(v) = rx.recv().await {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.await.expect("producer");
    consumer.await.expect("consumer")
}

/// C clients, M round trips of 64 bytes each, against an echo server on 127.0.0.1.
async fn echo(c: u64, m: u64) -> u64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = spawn_local(async move {
        let mut conns = Vec::new();
        for _ in 0..c {
            let (mut sock, _) = listener.accept().await.expect("accept");
            sock.set_nodelay(true).expect("nodelay");
            conns.push(spawn_local(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let k = sock.read(&mut buf).await.expect("server read");
                    if k == 0 {
                        break;
                    }
                    sock.write_all(&buf[..k]).await.expect("server write");
                }
            }));
        }
        for h in conns {
            h.await.expect("connection");
        }
    });
    let clients: Vec<_> = (0..c)
        .map(|ci| {
            spawn_local(async move {
                let mut sock = TcpStream::connect(addr).await.expect("connect");
                sock.set_nodelay(true).expect("nodelay");
                let msg = [b'A' + (ci % 26) as u8; 64];
                let mut reply = [0u8; 64];
                let mut sum = 0u64;
                for _ in 0..m {
                    sock.write_all(&msg).await.expect("client write");
                    sock.read_exact(&mut reply).await.expect("client read");
                    sum += reply[63] as u64;
                }
                sum
            })
        })
        .collect();
    let mut total = 0u64;
    for h in clients {
        total = total.wrapping_add(h.await.expect("client"));
    }
    server.await.expect("server");
    total
}

const CHUNK: usize = 64 * 1024;

/// B bytes through one pipe in 64 KiB chunks, the data being (offset mod 256).
async fn pipe_throughput(b: u64) -> u64 {
    let (mut tx, mut rx) = tokio::net::unix::pipe::pipe().expect("pipe");
    let writer = spawn_local(async move {
        // A chunk starts at a multiple of 64 KiB, so every chunk holds the same pattern.
        let pattern: Vec<u8> = (0..CHUNK).map(|j| j as u8).collect();
        let mut left = b;
        while left > 0 {
            let k = left.min(CHUNK as u64) as usize;
            tx.write_all(&pattern[..k]).await.expect("pipe write");
            left -= k as u64;
        }
        // Dropping tx closes the pipe.
    });
    let reader = spawn_local(async move {
        let mut buf = vec![0u8; CHUNK];
        let mut offset = 0u64;
        let mut checksum = 0u64;
        loop {
            let k = rx.read(&mut buf).await.expect("pipe read");
            if k == 0 {
                break;
            }
            offset += k as u64;
            if buf[k - 1] != ((offset - 1) % 256) as u8 {
                checksum = checksum.wrapping_add(1 << 40);
            }
        }
        checksum.wrapping_add(offset)
    });
    writer.await.expect("writer");
    reader.await.expect("reader")
}

/// N lines `line <i>\n` through a pipe (BufWriter / BufReader `lines()`), summing their lengths.
async fn lines(n: u64) -> u64 {
    let (tx, rx) = tokio::net::unix::pipe::pipe().expect("pipe");
    let writer = spawn_local(async move {
        let mut w = BufWriter::new(tx);
        for i in 0..n {
            let line = format!("line {i}");
            w.write_all(line.as_bytes()).await.expect("write line");
            w.write_all(b"\n").await.expect("write newline");
        }
        w.flush().await.expect("flush");
        // Dropping the writer closes the pipe.
    });
    let reader = spawn_local(async move {
        let mut lines = BufReader::new(rx).lines();
        let mut sum = 0u64;
        while let Some(l) = lines.next_line().await.expect("read line") {
            sum += l.len() as u64;
        }
        sum
    });
    writer.await.expect("writer");
    reader.await.expect("reader")
}
