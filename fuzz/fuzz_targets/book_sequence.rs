//! The `book_sequence` fuzz target: a thin wrapper of [`kspin_fuzz::targets::book_sequence`], whose docs say what
//! it checks. Under cargo-fuzz (`--cfg fuzzing`) or with the `libfuzzer` feature it is a
//! libFuzzer binary; otherwise it replays files: `cargo run -p kspin-fuzz --bin book_sequence -- FILE...`
//! (with no argument, its corpus and artifacts).
#![cfg_attr(any(fuzzing, feature = "libfuzzer"), no_main)]

#[cfg(any(fuzzing, feature = "libfuzzer"))]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kspin_fuzz::targets::book_sequence(data);
});

#[cfg(not(any(fuzzing, feature = "libfuzzer")))]
fn main() -> std::process::ExitCode {
    kspin_fuzz::replay::main(&kspin_fuzz::Target {
        name: "book_sequence",
        run: kspin_fuzz::targets::book_sequence,
    })
}
