mod config;
mod contract;
mod sql;
