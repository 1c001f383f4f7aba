//! The `apkforge` command line.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod keyring;
mod output;

use std::process::ExitCode;

use clap::Parser;

// Parsing indexes allocates many small strings; mimalloc makes that ~40%
// faster than glibc malloc (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc commits its arenas eagerly; with transparent huge pages on
    // (Debian's default), the first touch of each 2 MiB of an arena makes
    // the kernel clear a whole huge page, and the process keeps it
    // (docs/BENCHMARKS.md). Best effort: an old kernel just keeps them.
    // This does not undo an earlier MADV_HUGEPAGE (mimalloc's arena is
    // reserved before `main`), hence mimalloc's `no_thp` feature too.
    let _ = nix::sys::prctl::set_thp_disable(true);
    clean_up_on_signals();
    quiet_on_closed_stdout();
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code,
        Err(err) if closed_pipe(&err) => ExitCode::from(CLOSED_PIPE),
        Err(err) => {
            output::print_error(&err);
            ExitCode::FAILURE
        }
    }
}

/// The status a shell shows for a program ended by SIGPIPE (128 + 13), as
/// apko and coreutils end when the reader of their output goes away
/// (`apkforge image show-packages c.yaml | head -1`).
const CLOSED_PIPE: u8 = 141;

/// Whether an error comes from writing to a pipe nobody reads any more.
fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Rust ignores SIGPIPE, so `println!` to a closed pipe panics. Such a
/// panic ends the process quietly with [`CLOSED_PIPE`]; any other panic is
/// reported as before.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to stdout") && text.contains("Broken pipe") {
            scratch::remove_all();
            std::process::exit(i32::from(CLOSED_PIPE));
        }
        default(info);
    }));
}

/// On SIGINT, SIGTERM or SIGHUP, removes the temp files and directories
/// this process made (`scratch`), then ends it as the signal would have.
/// The signals are blocked in every thread (threads made later inherit
/// that) and taken by one thread that waits for them; child processes
/// start with no signal blocked.
fn clean_up_on_signals() {
    use nix::sys::signal::{SigSet, Signal, raise};
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    let waiter = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(signal) = set.wait() else {
                return;
            };
            scratch::remove_all();
            let mut only = SigSet::empty();
            only.add(signal);
            // Unblocked here and never handled: raising it ends the process
            // with the signal's default action.
            let _ = only.thread_unblock();
            let _ = raise(signal);
            std::process::exit(128 + signal as i32);
        });
    if waiter.is_err() {
        let _ = set.thread_unblock();
    }
}
