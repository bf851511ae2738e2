//! The command line and output line shared by `bench` and `bench-tokio` (see BENCH.md):
//! `PROGRAM WORKLOAD N [M]` prints `WORKLOAD args=N[,M] checksum=C secs=S`.

use std::time::Instant;

/// Every workload of the contract, in the order of BENCH.md.
pub const WORKLOADS: &[&str] = &[
    "bind_resolved",
    "bind_pending",
    "pause_loop",
    "many_sleeps",
    "spawn_join",
    "mutex_pingpong",
    "stream",
    "echo",
    "pipe_throughput",
    "lines",
];

/// A parsed command line.
pub struct Args {
    pub workload: String,
    pub n: u64,
    pub m: u64,
    /// `args=` as printed: `N`, or `N,M` when M was given.
    pub shown: String,
}

/// Prints the usage on stderr and exits with code 2.
pub fn usage(program: &str, available: &[&str], why: &str) -> ! {
    eprintln!("{program}: {why}");
    eprintln!("usage: {program} WORKLOAD N [M]   (M defaults to 1)");
    eprintln!("workloads available here: {}", available.join(" "));
    let missing: Vec<&str> = WORKLOADS.iter().copied().filter(|w| !available.contains(w)).collect();
    if !missing.is_empty() {
        eprintln!("not implemented here yet: {}", missing.join(" "));
    }
    std::process::exit(2)
}

fn number(program: &str, available: &[&str], s: &str) -> u64 {
    match s.parse::<u64>() {
        Ok(v) => v,
        Err(_) => usage(program, available, &format!("bad number {s:?}")),
    }
}

/// Parses `WORKLOAD N [M]`; anything else, or a workload not in `available`, is a usage error.
pub fn parse(program: &str, available: &[&str]) -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.len() < 2 || argv.len() > 3 {
        usage(program, available, "expected WORKLOAD N [M]");
    }
    let workload = argv[0].clone();
    if !available.contains(&workload.as_str()) {
        let why = if WORKLOADS.contains(&workload.as_str()) {
            format!("workload {workload:?} is not implemented here yet")
        } else {
            format!("unknown workload {workload:?}")
        };
        usage(program, available, &why);
    }
    let n = number(program, available, &argv[1]);
    let (m, shown) = match argv.get(2) {
        Some(s) => {
            let m = number(program, available, s);
            (m, format!("{n},{m}"))
        }
        None => (1, n.to_string()),
    };
    Args { workload, n, m, shown }
}

/// Runs `f` (the whole workload, set-up and teardown included), then prints the result line.
pub fn run_and_report(args: &Args, f: impl FnOnce() -> u64) {
    let start = Instant::now();
    let checksum = f();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} args={} checksum={} secs={:.6}",
        args.workload, args.shown, checksum, secs
    );
}
