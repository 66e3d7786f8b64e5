//! underlay: create VLAN, macvlan, ipvlan and dummy links at boot from a small INI file, over
//! rtnetlink. See README.md.

mod commands;

use std::process::ExitCode;

use argh::FromArgs;
use underlay::{EXIT_OK, EXIT_USAGE};

#[derive(FromArgs)]
/// Create VLAN, macvlan, ipvlan and dummy links from /etc/underlay.conf.
struct Cli {
    /// config file (default /etc/underlay.conf)
    #[argh(option, short = 'c', default = "String::from(\"/etc/underlay.conf\")")]
    config: String,
    /// more detail; twice for netlink traces
    #[argh(switch, short = 'v')]
    verbose: u8,
    /// errors only
    #[argh(switch, short = 'q')]
    quiet: bool,
    /// print "underlay <version>" and exit
    #[argh(switch)]
    version: bool,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Apply(ApplyArgs),
    Check(CheckArgs),
    Down(DownArgs),
    Validate(ValidateArgs),
    Show(ShowArgs),
}

#[derive(FromArgs)]
/// create or converge every declared link
#[argh(subcommand, name = "apply")]
pub struct ApplyArgs {
    /// print the plan only; change nothing
    #[argh(switch)]
    pub dry_run: bool,
    /// seconds to wait for missing parent interfaces (overrides [global] wait)
    #[argh(option)]
    pub wait: Option<u64>,
    /// only links that sit, directly or not, on this interface
    #[argh(option)]
    pub parent: Option<String>,
    /// seconds the whole run may take (default 60)
    #[argh(option, default = "60")]
    pub timeout: u64,
    /// apply even if the config file or its directory could be changed by someone other than
    /// root (warns)
    #[argh(switch)]
    pub insecure_config: bool,
}

#[derive(FromArgs)]
/// compare the live state with the config, one line per difference
#[argh(subcommand, name = "check")]
pub struct CheckArgs {}

#[derive(FromArgs)]
/// delete the links underlay created (children first)
#[argh(subcommand, name = "down")]
pub struct DownArgs {
    /// print what would be deleted; change nothing
    #[argh(switch)]
    pub dry_run: bool,
    /// seconds the whole run may take (default 60)
    #[argh(option, default = "60")]
    pub timeout: u64,
}

#[derive(FromArgs)]
/// parse and validate the config only; never opens a netlink socket
#[argh(subcommand, name = "validate")]
pub struct ValidateArgs {}

#[derive(FromArgs)]
/// list declared links with their live state
#[argh(subcommand, name = "show")]
pub struct ShowArgs {}

/// Reports (`created ...`) go to stdout, problems and debug detail to stderr, so the output of a
/// boot-time run reads in order and errors still stand out. env_logger supplies the level filter
/// and `RUST_LOG`.
struct Output {
    filter: env_logger::Logger,
}

impl log::Log for Output {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if !self.filter.matches(record) {
            return;
        }
        match record.level() {
            log::Level::Error => eprintln!("error: {}", record.args()),
            log::Level::Warn => eprintln!("warning: {}", record.args()),
            log::Level::Info => println!("{}", record.args()),
            level => eprintln!("{}: {}", level.as_str().to_ascii_lowercase(), record.args()),
        }
    }

    fn flush(&self) {}
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    // RUST_LOG, when set, has the last word.
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    let filter = builder.build();
    log::set_max_level(filter.filter());
    let _ = log::set_boxed_logger(Box::new(Output { filter }));
}

fn main() -> ExitCode {
    underlay::mark_start();
    let args: Vec<String> = std::env::args().collect();
    let name = args.first().map(String::as_str).unwrap_or("underlay");
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let cli = match Cli::from_args(&[name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    println!("{}", early.output);
                    ExitCode::from(EXIT_OK)
                }
                Err(()) => {
                    eprintln!(
                        "{}\nRun `underlay help` for usage.",
                        early.output.trim_end()
                    );
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
    };
    if cli.version {
        println!("underlay {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::from(EXIT_OK);
    }
    init_logging(cli.verbose, cli.quiet);
    let code = match cli.command {
        None => {
            eprintln!(
                "underlay: a command is missing: apply, check, down, validate or show (see --help)"
            );
            EXIT_USAGE
        }
        Some(Command::Apply(a)) => commands::apply(&cli.config, &a),
        Some(Command::Check(_)) => commands::check(&cli.config),
        Some(Command::Down(d)) => commands::down(&d),
        Some(Command::Validate(_)) => commands::validate(&cli.config),
        Some(Command::Show(_)) => commands::show(&cli.config),
    };
    ExitCode::from(code)
}
