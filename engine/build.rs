//! Builds the small C helper for long-double arithmetic (csrc/ldouble.c).
fn main() {
    println!("cargo:rerun-if-changed=csrc/ldouble.c");
    cc::Build::new()
        .file("csrc/ldouble.c")
        .opt_level(2)
        .compile("shoal_ldouble");
}
