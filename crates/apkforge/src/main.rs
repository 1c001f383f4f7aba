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
    let _ = nix::sys::prctl::set_thp_disable(true);
    clean_up_on_signals();
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code,
        Err(err) => {
            output::print_error(&err);
            ExitCode::FAILURE
        }
    }
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
