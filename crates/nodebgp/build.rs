//! Has the linker place the functions a running daemon executes next to each
//! other in an optimised binary: `function-order.txt`, made by
//! `benches/function-order.sh`, handed to LLD as a symbol ordering file.
//!
//! Why: the kernel maps a program's code in 64 KiB around each page first
//! executed (fault-around). The daemon executes about a fifth of its code,
//! and spread over all of it that held 7.6-7.8 MiB of the binary resident;
//! the same code placed together holds 3.4 MiB (benches/RESULTS.md 6.17).
//!
//! Only where the linker is known to be LLD (x86_64 Linux, rustc 1.90 or
//! later with its own LLD, which is its default linker there), only for
//! optimised builds, never when the build chooses a linker of its own;
//! `NODEBGP_FUNCTION_ORDER=0` turns it off. The symbols' names carry a hash
//! of the toolchain and of the dependencies, so a list made for another rustc
//! or another Cargo.lock finds few of them: the link still succeeds (whatever
//! is not found keeps its place) and this script says the list wants making
//! again. The list puts what every daemon runs first and each scenario's own
//! code after it (RESULTS.md 6.18).
//!
//! With the same linker, where the build machine's glibc is 2.36 or later, the
//! relocations are packed (`-z pack-relative-relocs`, DT_RELR). Why: the loader
//! reads every relocation at start, and as 24-octet records the daemon's
//! 13,600 kept 330 KB of the binary resident for the process's whole life;
//! packed they take a few KB (RESULTS.md 6.21). The price is that the binary
//! then needs glibc 2.36 where it runs: `NODEBGP_PACKED_RELOCATIONS=0` drops
//! that requirement (RHEL 9, Ubuntu 22.04); building it where it runs is the
//! sure way. Without `getconf`, or with an older glibc, nothing is packed.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The list, beside this script.
const LIST: &str = "function-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-changed=../../Cargo.lock");
    for variable in [
        "NODEBGP_FUNCTION_ORDER",
        "NODEBGP_PACKED_RELOCATIONS",
        "RUSTC_LINKER",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    let Some(rustc) = rustc_version() else {
        return;
    };
    if !links_with_lld(&rustc) {
        return;
    }
    if env::var("NODEBGP_PACKED_RELOCATIONS").unwrap_or_default() != "0"
        && host_glibc_minor().is_some_and(|minor| minor >= 36)
    {
        // glibc 2.36 is the first whose loader applies DT_RELR; LLD marks
        // the binary as needing it (GLIBC_ABI_DT_RELR), so an older loader
        // refuses it by name rather than running it unrelocated.
        println!("cargo:rustc-link-arg-bin=nodebgp=-Wl,-z,pack-relative-relocs");
    }
    if env::var("NODEBGP_FUNCTION_ORDER").unwrap_or_default() == "0" {
        return;
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let lock = fs::read(manifest.join("../../Cargo.lock"))
        .ok()
        .map(|bytes| fnv1a(&bytes));
    // What a list made now is for: benches/function-order.sh heads it with this.
    let stamp = format!(
        "# rustc: {rustc}\n# Cargo.lock: {:016x}\n",
        lock.unwrap_or_default()
    );
    let _ = fs::write(out_dir.join("function-order.stamp"), stamp);
    let Ok(text) = fs::read_to_string(manifest.join(LIST)) else {
        return;
    };
    let list = OrderList::parse(&text);
    if list.rustc != rustc || lock.is_some_and(|lock| list.lock != Some(lock)) {
        println!(
            "cargo:warning=crates/nodebgp/{LIST} was made for another toolchain or Cargo.lock \
             ({} / {:016x}, this build: {rustc} / {:016x}): the functions it names are not \
             found and the daemon keeps more of its binary in memory; run \
             benches/function-order.sh to make it again",
            list.rustc,
            list.lock.unwrap_or_default(),
            lock.unwrap_or_default(),
        );
    }
    // The linker reads one symbol a line: the header stays here.
    let out = out_dir.join(LIST);
    if fs::write(&out, list.symbols.join("\n")).is_err() || out.to_string_lossy().contains(',') {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=nodebgp=-Wl,--symbol-ordering-file={}",
        out.display()
    );
    // A symbol the list names and the binary lacks is expected (see above).
    println!("cargo:rustc-link-arg-bin=nodebgp=-Wl,--no-warn-symbol-ordering");
}

/// Whether this build, by `rustc`, is optimised and links with LLD.
fn links_with_lld(rustc: &str) -> bool {
    let variable = |name: &str| env::var(name).unwrap_or_default();
    // A linker named in RUSTFLAGS, in the environment or in Cargo's
    // configuration (which cargo passes on as RUSTC_LINKER).
    let own_linker = variable("CARGO_ENCODED_RUSTFLAGS").contains("link")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || env::var_os("RUSTC_LINKER").is_some();
    variable("PROFILE") == "release"
        && variable("TARGET") == "x86_64-unknown-linux-gnu"
        && !own_linker
        && minor_of(rustc, "1").is_some_and(|minor| minor >= 90)
        && has_own_lld()
}

/// Whether the toolchain carries the LLD it links with by default (a rustc
/// packaged without it links with the system's linker, which knows no
/// ordering file).
fn has_own_lld() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    PathBuf::from(sysroot)
        .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
        .exists()
}

/// The minor version of the build machine's glibc, from `getconf
/// GNU_LIBC_VERSION` (`glibc 2.36`); `None` on another C library.
fn host_glibc_minor() -> Option<u32> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    if !text.starts_with("glibc ") {
        return None;
    }
    minor_of(&text, "2")
}

/// `rustc 1.95.0 (59807616e 2026-04-14)`.
fn rustc_version() -> Option<String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned())
}

/// The minor version in `<program> <major>.<minor>…` (`rustc 1.95.0 (…)`,
/// `glibc 2.36`), when the major is the one expected.
fn minor_of(version: &str, major: &str) -> Option<u32> {
    let number = version.split_whitespace().nth(1)?;
    let mut parts = number.split('.');
    (parts.next()? == major).then_some(())?;
    parts.next()?.parse().ok()
}

/// The list and what it was made for.
struct OrderList<'a> {
    rustc: &'a str,
    lock: Option<u64>,
    symbols: Vec<&'a str>,
}

impl<'a> OrderList<'a> {
    /// `# rustc: …` and `# Cargo.lock: <hex>` among the `#` lines, then one
    /// symbol a line.
    fn parse(text: &'a str) -> Self {
        let mut list = OrderList {
            rustc: "",
            lock: None,
            symbols: Vec::new(),
        };
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(rustc) = comment.strip_prefix("rustc:") {
                    list.rustc = rustc.trim();
                } else if let Some(lock) = comment.strip_prefix("Cargo.lock:") {
                    list.lock = u64::from_str_radix(lock.trim(), 16).ok();
                }
            } else {
                list.symbols.push(line);
            }
        }
        list
    }
}

/// FNV-1a, 64 bits: stable across toolchains, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
