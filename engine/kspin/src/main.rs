//! The `kspin` executable: the command line of [`kspin::main_with`] with the built-in strategies.

fn main() {
    kspin::main_with(kspin::builtin_registry())
}
