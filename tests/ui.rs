//! Compile-time tests of the attribute macros: every supported shape compiles
//! (`ui-tests/pass`), every misuse fails with the error in `ui-tests/fail/*.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui-tests/pass/*.rs");
    t.compile_fail("ui-tests/fail/*.rs");
}
