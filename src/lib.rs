//! weapp-notify: the rules for WeChat Mini Program send credentials, in one pure core.
//! `api` is the JSON contract every binding uses; `napi` (feature) and `wasm` (wasm32) are the bindings.
//! `wire` reads JSON, `columns` is the plan's typed-array boundary. This file owns the module list
//! only; the bindings are the only modules that may know of JS, and nothing may depend on them.

pub mod api;
pub mod clock;
pub mod columns;
pub mod credential;
pub mod error;
pub mod event;
pub mod message;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod push;
pub mod quota;
pub mod select;
mod strict;
pub mod template;
pub mod wire;

#[cfg(feature = "napi")]
mod napi;
#[cfg(target_arch = "wasm32")]
mod wasm;
