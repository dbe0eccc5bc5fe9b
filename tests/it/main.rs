//! wharf's integration tests: one binary, a module per command, driving the
//! real `wharf` executable against real parts started by the tests themselves
//! (a spawned `docker-registry`, images pushed with `skopeo`, a fault-injecting
//! proxy). Tests that need a tool which is not installed say so and pass.

// Tests talk to the terminal directly: skip reasons and benchmark figures are
// not wharf output, so the `wharf::report` rule does not apply here.
#![allow(clippy::disallowed_macros)]

#[macro_use]
mod common;

mod action;
mod admission;
mod attest;
mod db;
mod db_update;
mod image;
mod interop;
mod lint;
mod packaging;
mod parity;
mod parity_java;
mod pin;
mod policy;
mod promote;
mod promote_pr;
mod quickstart;
mod registry;
mod run;
mod run_requests;
mod sbom;
mod sbom_writers;
mod scan;
mod scan_reports;
mod sign;
mod tuf;
mod verify_blob;
