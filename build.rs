// The build script: with the `napi` feature, napi-build's link setup for a Node addon; nothing
// otherwise (plain `cargo test`, the wasm build). It may not generate sources: the lists JS needs
// reach it at run time (`constants`) or through scripts/esm-exports.js.
fn main() {
    #[cfg(feature = "napi")]
    napi_build::setup();
}
