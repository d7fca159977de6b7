mod architecture;
mod blackbox;
mod config;
mod contract;
mod lifecycle;
mod logs;
mod served_mail;
mod sql;
