//! `shoal-benchmark`: see `shoal_tools::bench` for the map.

fn main() -> std::process::ExitCode {
    shoal_tools::bench::main()
}
