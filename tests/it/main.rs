mod architecture;
mod blackbox;
mod config;
mod contract;
mod lifecycle;
mod served_mail;
mod sql;
