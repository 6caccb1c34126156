//! `my-strategies`: the `kspin` executable with one more strategy, `micro_momentum`.
//!
//! Every `kspin` subcommand works here and hosts `micro_momentum` exactly as it hosts the
//! built-ins: `cargo run --release -- run --config kspin.momentum.toml`, `replay CAPTURE
//! --strategies kspin.momentum.toml`, `record`, `bench`.

mod momentum;

fn main() {
    let mut registry = kspin::builtin_registry();
    if let Err(e) = registry.register(
        momentum::NAME,
        "micro-price momentum over a time window, trading market orders",
        momentum::MicroMomentum::from_params,
    ) {
        eprintln!("my-strategies: {e}");
        std::process::exit(2);
    }
    kspin::main_with(registry)
}
