mod contract;
mod sql;
mod config;
