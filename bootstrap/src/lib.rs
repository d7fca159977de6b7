//! The `gatehouse` binary's library half: configuration, telemetry and the command-line
//! interface, kept here so the composition root and the tests share them.

pub mod build_info;
pub mod cli;
pub mod commands;
pub mod config;
pub mod startup;
pub mod telemetry;
pub mod wiring;
