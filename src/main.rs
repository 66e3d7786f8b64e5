//! underlay: create virtual links at boot from a small INI file, over rtnetlink. See README.md.
//! This file parses the command line and maps results to exit codes; the work is in the library.

use std::process::ExitCode;
use std::time::Duration;

use argh::FromArgs;
use underlay::report::{self, Verbosity};
use underlay::run::{self, ApplyOptions, DownOptions, MAX_TIMEOUT_SECS};
use underlay::{EXIT_OK, EXIT_USAGE, Error, kinds};

#[derive(FromArgs)]
/// Create virtual links from /etc/underlay.conf, over rtnetlink.
struct Cli {
    /// config file (default /etc/underlay.conf)
    #[argh(option, short = 'c', default = "String::from(\"/etc/underlay.conf\")")]
    config: String,
    /// more detail: -v for debug output, -v -v (or -vv) for every netlink message
    #[argh(switch, short = 'v')]
    verbose: u8,
    /// problems only (show still prints its table)
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
struct ApplyArgs {
    /// print what apply would do; change nothing
    #[argh(switch)]
    dry_run: bool,
    /// seconds to wait for missing parent interfaces (overrides [global] wait)
    #[argh(option)]
    wait: Option<u64>,
    /// only this interface (if declared) and the links that sit on it, directly or not
    #[argh(option)]
    parent: Option<String>,
    /// seconds the whole run may take (default 60)
    #[argh(option, default = "60")]
    timeout: u64,
    /// apply even if someone other than root could change the config file (warns)
    #[argh(switch)]
    insecure_config: bool,
}

#[derive(FromArgs)]
/// print what apply would change, and exit 1 if anything
#[argh(subcommand, name = "check")]
struct CheckArgs {}

#[derive(FromArgs)]
/// delete the links underlay created (children first), and its namespaces
#[argh(subcommand, name = "down")]
struct DownArgs {
    /// print what down would delete; change nothing
    #[argh(switch)]
    dry_run: bool,
    /// seconds the whole run may take (default 60)
    #[argh(option, default = "60")]
    timeout: u64,
}

#[derive(FromArgs)]
/// parse and validate the config only; never opens a netlink socket
#[argh(subcommand, name = "validate")]
struct ValidateArgs {}

#[derive(FromArgs)]
/// list declared links with their live state
#[argh(subcommand, name = "show")]
struct ShowArgs {}

/// `-vv` means `-v -v`, as users type it; argh wants the flags apart.
fn split_short_flags(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        match a.strip_prefix('-') {
            Some(rest) if rest.len() > 1 && rest.bytes().all(|b| b == b'v') => {
                out.extend(rest.bytes().map(|_| "-v".to_string()));
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

fn timeout(seconds: u64) -> Result<Duration, Error> {
    if seconds == 0 || seconds > MAX_TIMEOUT_SECS {
        return Err(Error::Usage(format!(
            "--timeout {seconds}: give 1..{MAX_TIMEOUT_SECS} seconds"
        )));
    }
    Ok(Duration::from_secs(seconds))
}

fn main() -> ExitCode {
    underlay::mark_start();
    let args: Vec<String> = std::env::args().collect();
    let name = args.first().map(String::as_str).unwrap_or("underlay");
    let rest = split_short_flags(args.get(1..).unwrap_or_default());
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    let cli = match Cli::from_args(&[name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    // Help: the kinds come from the registry, not from this file.
                    report::data(early.output.trim_end());
                    report::data(&format!("\nLink kinds: {}.", kinds::names().join(", ")));
                    ExitCode::from(EXIT_OK)
                }
                Err(()) => {
                    eprintln!(
                        "error: {}; run `underlay help` for usage",
                        early.output.trim_end().replace('\n', " ")
                    );
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
    };
    if cli.version {
        report::data(&format!("underlay {}", env!("CARGO_PKG_VERSION")));
        return ExitCode::from(EXIT_OK);
    }
    run::raise_file_limit();
    report::init(match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, 1) => Verbosity::Debug,
        (false, _) => Verbosity::Trace,
    });
    let result = match cli.command {
        None => Err(Error::Usage(
            "a command is missing: apply, check, down, validate or show (see --help)".into(),
        )),
        Some(Command::Apply(a)) => timeout(a.timeout).and_then(|timeout| {
            run::apply(
                &cli.config,
                &ApplyOptions {
                    dry_run: a.dry_run,
                    wait: a.wait,
                    parent: a.parent,
                    timeout,
                    insecure_config: a.insecure_config,
                },
            )
        }),
        Some(Command::Check(_)) => run::check(&cli.config),
        Some(Command::Down(d)) => timeout(d.timeout).and_then(|timeout| {
            run::down(&DownOptions {
                dry_run: d.dry_run,
                timeout,
            })
        }),
        Some(Command::Validate(_)) => run::validate(&cli.config),
        Some(Command::Show(_)) => run::show(&cli.config),
    };
    ExitCode::from(match result {
        Ok(code) => code,
        Err(e) => {
            for line in e.lines() {
                report::error(&line);
            }
            e.exit_code()
        }
    })
}
