//! Builds forklore-bench-loop (helper/bench_loop.rs), the `#![no_std]`
//! process in which forklore bench times its loops, and leaves it in
//! OUT_DIR for `include_bytes!`. It is compiled by rustc directly because
//! a `no_std` binary needs `-C panic=abort`, which cargo can only set for a
//! whole profile, not for one package.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "helper/bench_loop.rs";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("forklore-bench-loop");
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let mut cmd = Command::new(rustc);
    cmd.args([
        "--edition",
        "2021",
        "--crate-type",
        "bin",
        "--crate-name",
        "forklore_bench_loop",
        "-C",
        "opt-level=3",
        "-C",
        "panic=abort",
        "-C",
        "debuginfo=0",
        "-C",
        "strip=symbols",
        "--target",
        &target,
        "-o",
    ])
    .arg(&out)
    .arg(src);
    // A static forklore (RUSTFLAGS=-C target-feature=+crt-static, as the
    // kernel matrix builds it) gets a static helper too.
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if features.split(',').any(|f| f == "crt-static") {
        // libc.a's stdio and pthread_once objects need libgcc_eh's
        // unwinder symbols, which only std would otherwise pull in.
        cmd.args([
            "-C",
            "target-feature=+crt-static",
            "-C",
            "link-arg=-Wl,--start-group",
            "-C",
            "link-arg=-lc",
            "-C",
            "link-arg=-lgcc",
            "-C",
            "link-arg=-lgcc_eh",
            "-C",
            "link-arg=-Wl,--end-group",
        ]);
    }
    let var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    println!("cargo:rerun-if-env-changed={var}");
    if let Some(linker) = env::var_os(&var) {
        cmd.arg("-C")
            .arg(format!("linker={}", linker.to_string_lossy()));
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run rustc for {src}: {e}"));
    assert!(status.success(), "rustc failed to build {src}");
}
