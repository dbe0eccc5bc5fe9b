//! `wharf scan`: match what is inside an image against known
//! vulnerabilities (OSV data, offline), report everything, and let only the
//! chosen subset fail the build. Matching is by ecosystem and package name
//! only — never by fuzzy names — with each ecosystem's own version order.

pub mod db;
pub mod finding;
pub mod group;
pub mod ignore;
pub mod matcher;
pub mod osv;
pub mod report;
pub mod run;
pub mod sbom_input;
pub mod severity;
pub mod version;
pub mod vex;
