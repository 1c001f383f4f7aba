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
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code,
        Err(err) => {
            output::print_error(&err);
            ExitCode::FAILURE
        }
    }
}
