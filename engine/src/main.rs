//! `shoal-server [config-file] [--directive value ...]`, the redis-server
//! command-line convention: an optional config file in redis.conf syntax,
//! then directives that override it.

use shoal::config::Config;
use std::path::PathBuf;

#[global_allocator]
static ALLOC: shoal::alloc::CountingMimalloc = shoal::alloc::CountingMimalloc;

fn usage() {
    println!(
        "Usage: shoal-server [/path/to/shoal.conf] [--directive value ...]\n       \
         shoal-server -v | --version\n       shoal-server -h | --help\n\n\
         Examples:\n       shoal-server (run with defaults: 127.0.0.1:6379, one shard per CPU)\n       \
         shoal-server /etc/shoal/shoal.conf\n       shoal-server --port 7777 --threads 2\n       \
         shoal-server /etc/myredis.conf --loglevel verbose"
    );
}

fn main() {
    shoal::alloc::configure();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v" | "--version") => {
            println!(
                "Shoal server v={} redis_version={} bits=64",
                shoal::server::SHOAL_VERSION,
                shoal::server::REDIS_VERSION
            );
            return;
        }
        Some("-h" | "--help") => {
            usage();
            return;
        }
        _ => {}
    }
    let (file, rest) = match args.first() {
        Some(a) if !a.starts_with("--") => (Some(PathBuf::from(a)), args.get(1..).unwrap_or(&[])),
        _ => (None, &args[..]),
    };
    let config = match Config::load(file.as_deref(), rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if !config.dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            eprintln!("Can't chdir to '{}': {e}", config.dir);
            std::process::exit(1);
        }
    }
    if let Err(e) = shoal::log::init(&config.logfile, config.loglevel) {
        eprintln!("Can't open the log file '{}': {e}", config.logfile);
        std::process::exit(1);
    }
    let code = shoal::server::run(config);
    std::process::exit(code);
}
