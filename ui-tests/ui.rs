//! Compile-time tests of the attribute macros: every supported shape compiles
//! (`ui-tests/pass`), every misuse fails with the error in `ui-tests/fail/*.stderr`.
//! Run from the workspace: `cargo test -p llm-telemetry-ui-tests` (`TRYBUILD=overwrite`
//! to regenerate the `.stderr` files).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
