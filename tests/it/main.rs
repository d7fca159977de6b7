mod contract;
mod config;
