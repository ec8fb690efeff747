//! tokio-echo: the reference server on the real Tokio stack.
//!
//! Frames are tokio-util's `LengthDelimitedCodec` default: a 4-byte big-endian
//! payload length, then the payload (the same wire protocol as bench/protocol/frame.ts).
//! `--mode echo` (default) sends each frame's payload back as a frame;
//! `--mode order` runs it as a JSON NewOrderRequest through one matching engine
//! shared by every connection (src/order.rs, the same rules and answer bytes as
//! bench/protocol/orderbook.ts) and answers with the result's JSON.
//!
//! Lines on stdout, as `bun run serve` prints them for the TypeScript backends:
//!   listening HOST:PORT backend=tokio                  once it accepts connections
//!   stats {json}                                       on SIGUSR1, then it keeps serving
//!   summary backend=tokio ... signal=SIGTERM           on SIGTERM/SIGINT, then exit 0
//!
//! Stays within rustc 1.63 (Debian 12) and the crate versions Debian ships.

use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

mod workers;

use bytes::{Bytes, BytesMut};
use futures_util::future::{self, Either};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio_util::codec::{Framed, LengthDelimitedCodec, LengthDelimitedCodecError};

mod order;
use order::MatchingEngine;

/// The multi-thread runtime was asked for (--runtime multi): the lines say backend=tokio-mt.
static MULTI: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn backend() -> &'static str {
    if MULTI.load(Ordering::Relaxed) {
        "tokio-mt"
    } else {
        "tokio"
    }
}
const DEFAULT_MAX_FRAME: usize = 1 << 20;
const MAX_MAX_FRAME: usize = 1 << 30;
/// The listen backlog every backend uses (ffi/net.ts's LISTEN_BACKLOG, net.core.somaxconn
/// here). TcpListener::bind takes mio's 1024: a burst of 4096 connects overflowed it, and
/// each dropped SYN was retried only after 1 s or more.
const LISTEN_BACKLOG: u32 = 4096;
/// How long accepting pauses when out of descriptors (see accept_loop).
const ACCEPT_PAUSE: Duration = Duration::from_millis(10);
/// Linux errnos of accept meaning out of descriptors or memory: EMFILE, ENFILE, ENOBUFS, ENOMEM.
const OUT_OF_RESOURCES: [i32; 4] = [24, 23, 105, 12];
/// The longest --inject-delay-us accepted, as in `bun run serve`.
const MAX_INJECT_DELAY_US: u64 = 1_000_000;

const USAGE: &str = "usage: tokio-echo [--host ADDR] [--port N] [--mode echo|order] [--max-frame N] [--threads N] [--runtime current|multi] [--inject-delay-us MICROS]

Echo or order-matching server on Tokio + tokio-util's LengthDelimitedCodec (4-byte big-endian length prefix).

  --host ADDR      address to listen on (default 127.0.0.1)
  --port N         TCP port, 0 for an ephemeral one (default 0)
  --mode MODE      echo: answer each frame with its payload (default);
                   order: answer a JSON NewOrderRequest with its matching result
  --max-frame N    largest payload accepted, bytes; larger closes the connection (default 1048576)
  --threads N      worker threads of the multi_thread runtime (default 1)
  --runtime R      current: current_thread runtime, one thread (default with --threads 1);
                   multi: multi_thread runtime, #[tokio::main]'s, with --threads workers, each
                   pinned to one CPU of the set this process may run on, in turn
                   (default with --threads > 1); its lines say backend=tokio-mt and add
                   each worker's frames
  --inject-delay-us MICROS
                   fault injection: busy-wait this long before answering each frame (default 0)
  -h, --help       this text

Prints `listening HOST:PORT backend=tokio`; SIGUSR1 prints a `stats {json}` line;
SIGTERM/SIGINT closes every connection, prints a `summary ...` line and exits 0.
";

/// Counters shared by every connection; read by the SIGUSR1 and exit lines.
struct Stats {
    connections: AtomicU64,
    active: AtomicU64,
    frames: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    oversize: AtomicU64,
    io_errors: AtomicU64,
    /// Order mode: requests answered "rejected".
    rejected: AtomicU64,
    /// Order mode: ns spent turning requests into answers (parse, match, serialize).
    processing_ns: AtomicU64,
}

static STATS: Stats = Stats {
    connections: AtomicU64::new(0),
    active: AtomicU64::new(0),
    frames: AtomicU64::new(0),
    bytes_in: AtomicU64::new(0),
    bytes_out: AtomicU64::new(0),
    oversize: AtomicU64::new(0),
    io_errors: AtomicU64::new(0),
    rejected: AtomicU64::new(0),
    processing_ns: AtomicU64::new(0),
};

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Echo,
    Order,
}

struct Options {
    host: String,
    port: u16,
    mode: Mode,
    max_frame: usize,
    threads: usize,
    /// None: current_thread for one thread, multi_thread for more.
    multi: Option<bool>,
    /// Fault injection: spun before answering each frame (zero: none).
    inject_delay: Duration,
}

fn usage_error(msg: &str) -> ! {
    eprintln!("tokio-echo: {}", msg);
    eprint!("{}", USAGE);
    process::exit(2);
}

fn parse_num<T: std::str::FromStr + PartialOrd + std::fmt::Display>(flag: &str, v: &str, min: T, max: T) -> T {
    match v.parse::<T>() {
        Ok(n) if n >= min && n <= max => n,
        _ => usage_error(&format!("{} wants an integer from {} to {}, got {:?}", flag, min, max, v)),
    }
}

fn parse_args() -> Options {
    let mut o = Options { host: "127.0.0.1".to_string(), port: 0, mode: Mode::Echo, max_frame: DEFAULT_MAX_FRAME, threads: 1, multi: None, inject_delay: Duration::ZERO };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            print!("{}", USAGE);
            let _ = io::stdout().flush();
            process::exit(0);
        }
        // Both `--flag VALUE` and `--flag=VALUE`.
        let (flag, inline) = match arg.find('=') {
            Some(i) if arg.starts_with("--") => (arg[..i].to_string(), Some(arg[i + 1..].to_string())),
            _ => (arg.clone(), None),
        };
        if !matches!(flag.as_str(), "--host" | "--port" | "--mode" | "--max-frame" | "--threads" | "--runtime" | "--inject-delay-us") {
            usage_error(&format!("unknown argument {:?}", arg));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => usage_error(&format!("{} needs a value", flag)),
        };
        match flag.as_str() {
            "--host" => {
                if value.is_empty() {
                    usage_error("--host needs a non-empty address");
                }
                o.host = value
            }
            "--port" => o.port = parse_num(&flag, &value, 0u16, u16::MAX),
            "--mode" => {
                o.mode = match value.as_str() {
                    "echo" => Mode::Echo,
                    "order" => Mode::Order,
                    _ => usage_error(&format!("--mode wants echo or order, got {:?}", value)),
                }
            }
            "--max-frame" => o.max_frame = parse_num(&flag, &value, 0usize, MAX_MAX_FRAME),
            "--threads" => o.threads = parse_num(&flag, &value, 1usize, 1024),
            "--runtime" => {
                o.multi = match value.as_str() {
                    "current" => Some(false),
                    "multi" => Some(true),
                    _ => usage_error(&format!("--runtime wants current or multi, got {:?}", value)),
                }
            }
            "--inject-delay-us" => o.inject_delay = Duration::from_micros(parse_num(&flag, &value, 0u64, MAX_INJECT_DELAY_US)),
            _ => unreachable!(),
        }
    }
    o
}

/// One line to stdout, flushed at once (the harness reads it from a pipe).
fn say(line: &str) {
    let out = io::stdout();
    let mut out = out.lock();
    let _ = writeln!(out, "{}", line);
    let _ = out.flush();
}

fn stats_json() -> String {
    format!(
        "{{\"backend\":\"{}\",\"pid\":{},\"connections\":{},\"active\":{},\"frames\":{},\"bytesIn\":{},\"bytesOut\":{},\"oversize\":{},\"overflow\":0,\"ioErrors\":{},\"rejected\":{},\"processingNs\":{}{}}}",
        backend(),
        process::id(),
        get(&STATS.connections),
        get(&STATS.active),
        get(&STATS.frames),
        get(&STATS.bytes_in),
        get(&STATS.bytes_out),
        get(&STATS.oversize),
        get(&STATS.io_errors),
        get(&STATS.rejected),
        get(&STATS.processing_ns),
        if MULTI.load(Ordering::Relaxed) { format!(",{}", workers::stats_json()) } else { String::new() },
    )
}

fn summary_line(signal: &str) -> String {
    let oversize = get(&STATS.oversize);
    let io_errors = get(&STATS.io_errors);
    format!(
        "summary backend={} connections={} frames={} errors={} oversize={} overflow=0 io_errors={} rejected={} bytes_in={} bytes_out={} processing_ns={}{} signal={}",
        backend(),
        get(&STATS.connections),
        get(&STATS.frames),
        oversize + io_errors,
        oversize,
        io_errors,
        get(&STATS.rejected),
        get(&STATS.bytes_in),
        get(&STATS.bytes_out),
        get(&STATS.processing_ns),
        if MULTI.load(Ordering::Relaxed) { workers::summary() } else { String::new() },
        signal,
    )
}

/// The accepted socket, counting the bytes that really cross it (bytes_in and
/// bytes_out are wire bytes, headers included, as in the TypeScript backends).
struct Counted(TcpStream);

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.get_mut().0).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            bump(&STATS.bytes_in, (buf.filled().len() - before) as u64);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.get_mut().0).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            bump(&STATS.bytes_out, n as u64);
        }
        r
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            bump(&STATS.bytes_out, n as u64);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// LengthDelimitedCodec's error for a partial frame when the stream ends.
fn is_cut_off(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Other && e.to_string() == "bytes remaining on stream"
}

fn is_oversize(e: &io::Error) -> bool {
    e.get_ref().map_or(false, |inner| inner.is::<LengthDelimitedCodecError>())
}

fn count_error(e: &io::Error) {
    if is_oversize(e) {
        bump(&STATS.oversize, 1);
    } else {
        bump(&STATS.io_errors, 1);
    }
}

/// Fault injection (--inject-delay-us): spins on the monotonic clock until `d`
/// has passed. A spin, not a sleep: a sleep would let the CPU idle and change
/// the wake-up pattern the benchmark measures, where a slow handler keeps it busy.
fn busy_wait(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// The order engine of an order-mode server (None: echo), shared by its connections.
type Engine = Option<Arc<Mutex<MatchingEngine>>>;

/// Order mode: the answer to one request payload, timed as the TypeScript
/// servers time their handlers (parse, match, serialize; no I/O).
fn order_answer(engine: &Mutex<MatchingEngine>, payload: &[u8]) -> Bytes {
    let t0 = Instant::now();
    let mut out = Vec::with_capacity(96);
    {
        // A panicking request would poison the lock; the engine itself never panics on input.
        let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
        let result = e.submit_payload(payload);
        if result.is_rejected() {
            bump(&STATS.rejected, 1);
        }
        order::write_result(&mut out, &result);
    }
    let answer = Bytes::from(out);
    bump(&STATS.processing_ns, t0.elapsed().as_nanos() as u64);
    answer
}

/// Answers frames until EOF or an error: the payload itself (echo) or its
/// order result. Answers are fed into Framed's write buffer and flushed once
/// no further complete frame is ready, so pipelined requests leave in batches
/// (as the TypeScript backends do).
async fn answer_frames(stream: TcpStream, max_frame: usize, delay: Duration, engine: Engine) {
    let codec = LengthDelimitedCodec::builder().max_frame_length(max_frame).new_codec();
    let mut framed = Framed::new(Counted(stream), codec);
    loop {
        let mut next = match framed.next().await {
            Some(r) => Some(r),
            None => return, // EOF between frames: a clean close.
        };
        let mut eof = false;
        while let Some(r) = next.take() {
            let payload: BytesMut = match r {
                Ok(p) => p,
                Err(e) => {
                    // A frame cut off by the peer's close ("bytes remaining on
                    // stream" at EOF) is not counted, as in every other backend;
                    // either way the answers to the frames before it still go out.
                    if !is_cut_off(&e) {
                        count_error(&e);
                    }
                    let _ = framed.flush().await;
                    return;
                }
            };
            if !delay.is_zero() {
                busy_wait(delay);
            }
            bump(&STATS.frames, 1);
            workers::count_frame();
            let answer = match &engine {
                None => payload.freeze(),
                Some(engine) => order_answer(engine, &payload),
            };
            if let Err(e) = framed.feed(answer).await {
                count_error(&e);
                return;
            }
            next = match framed.next().now_or_never() {
                Some(Some(r)) => Some(r),
                Some(None) => {
                    eof = true;
                    None
                }
                None => None, // nothing more ready yet
            };
        }
        if let Err(e) = framed.flush().await {
            count_error(&e);
            return;
        }
        if eof {
            return;
        }
    }
}

/// One connection: answer until done or until shutdown is announced; dropping
/// the Framed closes the socket. `_alive` is dropped last, telling the main
/// task that this connection is gone.
async fn connection(stream: TcpStream, max_frame: usize, delay: Duration, engine: Engine, mut shutdown: watch::Receiver<bool>, _alive: mpsc::Sender<()>) {
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    let _ = future::select(Box::pin(answer_frames(stream, max_frame, delay, engine)), Box::pin(stop)).await;
    STATS.active.fetch_sub(1, Ordering::Relaxed);
}

async fn accept_loop(listener: TcpListener, max_frame: usize, delay: Duration, engine: Engine, shutdown: watch::Receiver<bool>, alive: mpsc::Sender<()>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                bump(&STATS.connections, 1);
                bump(&STATS.active, 1);
                if stream.set_nodelay(true).is_err() {
                    bump(&STATS.io_errors, 1);
                }
                tokio::spawn(connection(stream, max_frame, delay, engine.clone(), shutdown.clone(), alive.clone()));
            }
            Err(e) => {
                // ECONNABORTED and the like: count it, let the others run, go on.
                bump(&STATS.io_errors, 1);
                if e.raw_os_error().map_or(false, |n| OUT_OF_RESOURCES.contains(&n)) {
                    // Out of descriptors the connection stays queued and an accept retried at
                    // once fails at once: yielding alone spun at 100% CPU. Connections that
                    // close meanwhile free descriptors for the next try.
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                } else {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

async fn recv_signal(mut s: Signal, name: &'static str) -> &'static str {
    s.recv().await;
    name
}

fn signal_or_exit(kind: SignalKind, name: &str) -> Signal {
    match signal(kind) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tokio-echo: cannot handle {}: {}", name, e);
            process::exit(1);
        }
    }
}

/// TcpListener::bind (SO_REUSEADDR set, as mio sets it) with LISTEN_BACKLOG instead of 1024.
async fn bind_listener(host: &str, port: u16) -> io::Result<TcpListener> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "the address resolved to nothing");
    for addr in tokio::net::lookup_host((host, port)).await? {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        match socket.set_reuseaddr(true).and_then(|()| socket.bind(addr)) {
            Ok(()) => return socket.listen(LISTEN_BACKLOG),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn serve(o: Options) -> i32 {
    // Handlers first, so that a signal sent right after the listening line is ours.
    let term = signal_or_exit(SignalKind::terminate(), "SIGTERM");
    let int = signal_or_exit(SignalKind::interrupt(), "SIGINT");
    let mut usr1 = signal_or_exit(SignalKind::user_defined1(), "SIGUSR1");

    let listener = match bind_listener(o.host.as_str(), o.port).await {
        Ok(l) => l,
        Err(e) => {
            let hint = if e.kind() == io::ErrorKind::AddrInUse { format!("; port {} is in use, pick another --port or 0", o.port) } else { String::new() };
            eprintln!("tokio-echo: listen {}:{}: {}{}", o.host, o.port, e, hint);
            return 2;
        }
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => {
            eprintln!("tokio-echo: local address: {}", e);
            return 1;
        }
    };
    say(&format!("listening {}:{} backend={}", o.host, port, backend()));

    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            say(&format!("stats {}", stats_json()));
        }
    });

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let engine: Engine = if o.mode == Mode::Order { Some(Arc::new(Mutex::new(MatchingEngine::default()))) } else { None };
    let stop = future::select(Box::pin(recv_signal(term, "SIGTERM")), Box::pin(recv_signal(int, "SIGINT")));
    let (signal_name, accepting) = match future::select(Box::pin(accept_loop(listener, o.max_frame, o.inject_delay, engine, shutdown_rx, alive_tx)), stop).await {
        Either::Left(((), _)) => unreachable!("the accept loop never ends"),
        Either::Right((Either::Left((name, _)), accepting)) | Either::Right((Either::Right((name, _)), accepting)) => (name, accepting),
    };
    // Stop accepting: this drops the listener (and the loop's channel ends).
    drop(accepting);
    // Close every connection, and wait until each task has let go of its socket.
    let _ = shutdown_tx.send(true);
    let _ = alive_rx.recv().await; // None once every sender is dropped
    say(&summary_line(signal_name));
    0
}

/// Started by bench or by `serve` for several backends (IOURING_BENCH_PARENT_DEATH=1, as `serve`
/// itself honours it): never outlive the parent, even one killed outright. SIGKILL, not SIGTERM:
/// bench pauses the servers it is not measuring (SIGSTOP), and a stopped process would hold a
/// SIGTERM pending for ever. False when the parent was already gone.
fn die_with_parent() -> bool {
    if std::env::var("IOURING_BENCH_PARENT_DEATH").as_deref() != Ok("1") {
        return true;
    }
    // SAFETY: getppid and prctl(PR_SET_PDEATHSIG) have no memory preconditions.
    let parent = unsafe { libc::getppid() };
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } != 0 {
        eprintln!("tokio-echo: prctl PR_SET_PDEATHSIG: {}", io::Error::last_os_error());
        return true;
    }
    // The parent may have died between our start and prctl: then no signal will come.
    unsafe { libc::getppid() == parent }
}

fn main() {
    if !die_with_parent() {
        process::exit(0);
    }
    let o = parse_args();
    let multi = o.multi.unwrap_or(o.threads > 1);
    if !multi && o.threads > 1 {
        usage_error("--runtime current runs one thread: drop --threads or use --runtime multi");
    }
    MULTI.store(multi, Ordering::Relaxed);
    let rt = if !multi {
        tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()
    } else {
        let cpus = match workers::allowed_cpus() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tokio-echo: sched_getaffinity: {}", e);
                process::exit(1);
            }
        };
        let n = o.threads;
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .thread_name("tokio-mt-worker")
            .on_thread_start(move || workers::on_thread_start(&cpus, n))
            .enable_io()
            .enable_time()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio-echo: cannot start the runtime: {}", e);
            process::exit(1);
        }
    };
    if multi && !workers::wait_pinned(o.threads, std::time::Duration::from_secs(5)) {
        eprintln!("tokio-echo: the runtime's {} workers did not all start within 5 s", o.threads);
    }
    let code = rt.block_on(serve(o));
    drop(rt);
    process::exit(code);
}
