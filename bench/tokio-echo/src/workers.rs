//! The multi-thread runtime's workers (`--runtime multi`, backend
//! `tokio-mt`): each pinned to one CPU of the set the process may run on, and
//! the frames each one answered, for the `stats` and `summary` lines.
//!
//! Tokio calls `on_thread_start` on every thread it starts. The runtime starts
//! its workers when it is built, before anything could ask for a blocking
//! thread, so the first `workers` calls are the workers: worker i is pinned to
//! the i-th CPU of the set, round robin when there are more workers than CPUs
//! (they then share CPUs, and the summary says so). Threads started later
//! (spawn_blocking) keep the whole set. Connection tasks move between workers
//! (work stealing), so a worker's frames are the frames answered while it
//! polled them, not one connection's.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// One worker: its CPU, its thread id and what it answered.
struct Worker {
    cpu: i32,
    tid: i32,
    frames: &'static AtomicU64,
}

static WORKERS: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
static STARTED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's frame counter; None on the main thread, a blocking thread or the current_thread runtime.
    // const: no lazy initialisation to check, so the current_thread server pays one TLS load per frame.
    static FRAMES: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
}

/// The CPUs this process may run on (sched_getaffinity), ascending.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CPU_ISSET reads the set for an index below CPU_SETSIZE.
    Ok((0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect())
}

fn pin_this_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: as in allowed_cpus; pid 0 is the calling thread.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut set) };
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// For Builder::on_thread_start: pins the first `workers` threads, one CPU each, and gives each a counter.
pub fn on_thread_start(cpus: &[usize], workers: usize) {
    let i = STARTED.fetch_add(1, Ordering::Relaxed);
    if i >= workers || cpus.is_empty() {
        return;
    }
    let cpu = cpus[i % cpus.len()];
    if let Err(e) = pin_this_thread(cpu) {
        // Not fatal: the worker still runs within the process's set.
        eprintln!("tokio-echo: worker {} not pinned to CPU {}: {}", i, cpu, e);
    }
    let frames: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
    FRAMES.with(|f| f.set(Some(frames)));
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let mut w = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
    w.push(Worker { cpu: cpu as i32, tid, frames });
}

/// Waits (up to `limit`) until the first `workers` threads have pinned themselves: Tokio starts its
/// workers on threads of their own after `build` returns, so without this the `listening` line could
/// come before they are pinned and a client's first requests meet an unpinned worker. False on timeout.
pub fn wait_pinned(workers: usize, limit: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    loop {
        if WORKERS.lock().unwrap_or_else(|p| p.into_inner()).len() >= workers {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// One frame answered on this thread (a no-op off the multi-thread runtime's workers).
pub fn count_frame() {
    FRAMES.with(|f| {
        if let Some(c) = f.get() {
            c.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Workers in the order they started.
fn snapshot() -> Vec<(i32, i32, u64)> {
    let w = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
    w.iter().map(|x| (x.cpu, x.tid, x.frames.load(Ordering::Relaxed))).collect()
}

/// `"perThread":[{"cpu":0,"tid":123,"frames":10},...]` for the stats line (bench/server/lines.ts).
pub fn stats_json() -> String {
    let items: Vec<String> = snapshot().iter().map(|(cpu, tid, frames)| format!("{{\"cpu\":{},\"tid\":{},\"frames\":{}}}", cpu, tid, frames)).collect();
    format!("\"perThread\":[{}]", items.join(","))
}

/// ` threads=2 thread_frames=10,12`, as `bun run serve` writes it for the C loops (bench/server/lines.ts).
pub fn summary() -> String {
    let w = snapshot();
    let frames: Vec<String> = w.iter().map(|x| x.2.to_string()).collect();
    format!(" threads={} thread_frames={}", w.len(), frames.join(","))
}
