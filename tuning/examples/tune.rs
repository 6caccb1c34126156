//! Stand-alone driver for `kspin tune` until the `kspin` executable wires it in:
//! `cargo run -p kspin-tuning --example tune -- check --engine-core 1`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(kspin_tuning::cli::run(&args));
}
