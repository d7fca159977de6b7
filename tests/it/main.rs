mod architecture;
mod blackbox;
mod config;
mod contract;
mod lifecycle;
mod sql;
