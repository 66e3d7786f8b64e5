//! The bad-config corpus: every `tests/bad-configs/NAME.conf` is a broken config, and
//! `NAME.err` is the exact stderr of `underlay -c underlay.conf validate` for it (the file is
//! copied to a temporary directory as `underlay.conf`, so messages start `underlay.conf:LINE:`).
//!
//! For each case this checks that `validate` exits 2 with exactly those messages and nothing on
//! stdout. As root it then proves that an invalid config never reaches the network: it runs
//! `underlay apply` on every case inside one fresh network namespace (which holds a veth pair
//! named `eth0`/`eth1`, so the configs' parents exist), with `ip monitor link` watching, and
//! checks that each run exits 2 with the same messages, writes nothing to its run directory,
//! and that the monitor saw no link event at all until a final control link that it must see.
//!
//! Three cases are generated here rather than committed: a file exactly at the size limit
//! (`config::ini::MAX_CONFIG_BYTES`, refused for another reason), one a byte over it, and a 10 MB
//! file.
//!
//! Lists of link kinds come from the registry, not from the `.err` files: `{kinds}` stands for
//! every kind underlay makes, and `{kinds:KEY}` for the kinds that take KEY, so adding a kind
//! changes no expected output.
//!
//! After a deliberate change to the messages, rewrite the `.err` files with
//! `UNDERLAY_BLESS=1 cargo test --test bad_configs` and review the diff line by line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_underlay");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad-configs");
use underlay::kinds;
use underlay::syntax::ini::MAX_CONFIG_BYTES;

struct Case {
    name: String,
    bytes: Vec<u8>,
    /// Exactly what it must print on stderr.
    expect: String,
    /// Where the `.err` file lives, for blessing; `None` for generated cases.
    err_path: Option<PathBuf>,
}

/// Expand `{kinds}` and `{kinds:KEY}` from the registry.
fn expand(text: &str) -> String {
    let mut out = text.replace("{kinds}", &kinds::names().join(", "));
    while let Some(start) = out.find("{kinds:") {
        let end = start + out[start..].find('}').expect("an unclosed {kinds:KEY}");
        let key = &out[start + 7..end];
        let list = kinds::kinds_taking(key).join(", ");
        out.replace_range(start..=end, &list);
    }
    out
}

/// The reverse of `expand`, for blessing: registry lists become placeholders again.
fn placeholders(text: &str) -> String {
    let mut out = text.replace(
        &format!("underlay makes {} (", kinds::names().join(", ")),
        "underlay makes {kinds} (",
    );
    let mut from = 0;
    while let Some(pos) = out[from..].find("(it belongs to ") {
        let start = from + pos + "(it belongs to ".len();
        let Some(len) = out[start..].find(')') else {
            break;
        };
        let list = out[start..start + len].to_string();
        // The key is the one the message names: "takes no key `KEY`".
        let key = out[..start]
            .rsplit("takes no key `")
            .next()
            .and_then(|k| k.split('`').next())
            .unwrap_or_default()
            .to_string();
        if kinds::kinds_taking(&key).join(", ") == list {
            out.replace_range(start..start + len, &format!("{{kinds:{key}}}"));
        }
        from = start;
    }
    out
}

fn corpus_cases() -> Vec<Case> {
    let mut names: Vec<String> = fs::read_dir(CORPUS)
        .expect("tests/bad-configs is missing")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut cases = Vec::new();
    for file in &names {
        if let Some(name) = file.strip_suffix(".conf") {
            let err_path = Path::new(CORPUS).join(format!("{name}.err"));
            let expect = expand(&fs::read_to_string(&err_path).unwrap_or_default());
            cases.push(Case {
                name: name.to_string(),
                bytes: fs::read(Path::new(CORPUS).join(file)).unwrap(),
                expect,
                err_path: Some(err_path),
            });
        } else if let Some(name) = file.strip_suffix(".err") {
            assert!(
                names.contains(&format!("{name}.conf")),
                "tests/bad-configs/{file} has no {name}.conf"
            );
        } else {
            assert!(
                file.ends_with(".md"),
                "tests/bad-configs/{file}: only NAME.conf, NAME.err and notes belong here"
            );
        }
    }
    cases
}

fn generated_cases() -> Vec<Case> {
    // Valid text, just too much of it: the size check must come first.
    let line = b"[dummy dm0]\nmtu = 1500\n# padding padding padding padding padding padding\n";
    let filler = |len: usize| -> Vec<u8> { line.iter().copied().cycle().take(len).collect() };
    let too_big = format!(
        "error: underlay.conf: the file is larger than {MAX_CONFIG_BYTES} bytes ({} KiB), the most a config may be; is this the right file?\n",
        MAX_CONFIG_BYTES >> 10
    );
    // Exactly at the limit is not too big: this one is refused for its MTU instead.
    let mut at_limit = b"[dummy dm0]\nmtu = 0\n".to_vec();
    at_limit.resize(MAX_CONFIG_BYTES - 1, b'#');
    at_limit.push(b'\n');
    vec![
        Case {
            name: "generated-at-limit".into(),
            bytes: at_limit,
            expect: "error: underlay.conf:2: [dummy dm0] mtu: 0 is out of range 68..65535\n".into(),
            err_path: None,
        },
        Case {
            name: "generated-limit-plus-one".into(),
            bytes: filler(MAX_CONFIG_BYTES + 1),
            expect: too_big.clone(),
            err_path: None,
        },
        Case {
            name: "generated-10mb".into(),
            bytes: filler(10_000_000),
            expect: too_big,
            err_path: None,
        },
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = corpus_cases();
    assert!(
        cases.len() >= 70,
        "the corpus should hold at least 70 cases, has {}",
        cases.len()
    );
    cases.extend(generated_cases());
    cases
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("underlay-{what}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Put each case in its own directory as `underlay.conf`; returns the directories.
fn stage(cases: &[Case], root: &Path) -> Vec<PathBuf> {
    cases
        .iter()
        .map(|case| {
            let dir = root.join(&case.name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("underlay.conf"), &case.bytes).unwrap();
            dir
        })
        .collect()
}

/// Compare one run with what the case expects; `None` if it matches.
fn mismatch(case: &Case, command: &str, out: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut problems = Vec::new();
    if out.status.code() != Some(2) {
        problems.push(format!("exit status {} (want 2)", out.status));
    }
    if !stdout.is_empty() {
        problems.push(format!("stdout is not empty:\n{stdout}"));
    }
    if stderr != case.expect {
        problems.push(format!(
            "stderr differs.\n--- want\n{}--- have\n{stderr}---",
            case.expect
        ));
    }
    (!problems.is_empty()).then(|| format!("{} ({command}): {}", case.name, problems.join("; ")))
}

fn report(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} of the bad-config cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_bad_config_is_refused_with_exact_messages() {
    let cases = all_cases();
    let tmp = TempDir::new("bad-configs-validate");
    let dirs = stage(&cases, &tmp.0);
    let bless = std::env::var_os("UNDERLAY_BLESS").is_some();
    let mut failures = Vec::new();
    for (case, dir) in cases.iter().zip(&dirs) {
        let out = Command::new(BIN)
            .args(["-c", "underlay.conf", "validate"])
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        if bless && let Some(path) = &case.err_path {
            fs::write(path, placeholders(&String::from_utf8_lossy(&out.stderr))).unwrap();
            if out.status.code() != Some(2) {
                failures.push(format!(
                    "{}: exit status {} (want 2)",
                    case.name, out.status
                ));
            }
            continue;
        }
        failures.extend(mismatch(case, "validate", &out));
    }
    report(&failures);
}

/// Every message names the file and a line, except the few about the file as a whole.
#[test]
fn every_expected_message_names_file_and_line() {
    for case in corpus_cases() {
        let text = &case.expect;
        assert!(!text.is_empty(), "{}: the .err file is empty", case.name);
        for line in text.lines() {
            let rest = line
                .strip_prefix("error: underlay.conf")
                .unwrap_or_else(|| {
                    panic!(
                        "{}: `{line}` is not an error that names the file",
                        case.name
                    )
                });
            let whole_file = rest.starts_with(": the file ");
            let numbered = rest
                .strip_prefix(':')
                .and_then(|r| r.split_once(": "))
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            assert!(
                whole_file || numbered,
                "{}: `{line}` names no line",
                case.name
            );
        }
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A network namespace with `ip monitor link` running in it; both go away on drop.
struct WatchedNamespace {
    name: String,
    monitor: Child,
    log: PathBuf,
}

impl WatchedNamespace {
    fn new(log: PathBuf) -> Result<WatchedNamespace, String> {
        let name = format!("underlay-bad-{}", std::process::id());
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        if !status.success() {
            return Err(format!("`ip netns add {name}` failed"));
        }
        let monitor = Command::new("ip")
            .args(["-n", &name, "monitor", "link"])
            .stdout(fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn();
        let monitor = match monitor {
            Ok(m) => m,
            Err(e) => {
                let _ = Command::new("ip").args(["netns", "del", &name]).status();
                return Err(format!("cannot start ip monitor: {e}"));
            }
        };
        Ok(WatchedNamespace { name, monitor, log })
    }

    fn ip(&self, args: &[&str]) {
        let status = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "ip -n {} {} failed",
            self.name,
            args.join(" ")
        );
    }

    fn events(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Return once the monitor is known to be listening: it has reported a link made after it
    /// started.
    fn ready(&self) {
        for i in 0..100 {
            let (a, b) = (format!("ready{i}"), format!("ready{i}p"));
            self.ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
            if self
                .wait_within(&[&a], Duration::from_millis(100))
                .is_some()
            {
                return;
            }
        }
        panic!("ip monitor reported none of 100 new links in 10 s");
    }

    /// Wait until the monitor has printed an event for each of `names`; the monitor's output
    /// so far.
    fn wait_for(&self, names: &[&str]) -> String {
        self.wait_within(names, Duration::from_secs(10))
            .unwrap_or_else(|| {
                panic!(
                    "ip monitor did not report {names:?} within 10 s; it printed:\n{}",
                    self.events()
                )
            })
    }

    fn wait_within(&self, names: &[&str], timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events();
            if names.iter().all(|n| mentions(&events, n)) {
                return Some(events);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for WatchedNamespace {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `ip monitor` output split into events: each starts on an unindented line, and its indented
/// lines (`    link/ether ...`) belong to it.
fn events(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        match out.last_mut() {
            Some(event) if line.starts_with(char::is_whitespace) => {
                event.push('\n');
                event.push_str(line);
            }
            _ => out.push(line.to_string()),
        }
    }
    out
}

/// Whether an `ip monitor link` line is about interface `name`: `3: eth0@eth1: <...>`, or
/// `Deleted 3: eth0@eth1: ...`.
fn mentions(events: &str, name: &str) -> bool {
    events.lines().any(|line| {
        let line = line.strip_prefix("Deleted ").unwrap_or(line);
        line.split_once(": ")
            .map(|(_, rest)| rest.split([':', '@']).next() == Some(name))
            .unwrap_or(false)
    })
}

#[test]
fn apply_refuses_every_bad_config_without_touching_the_network() {
    if !is_root() {
        eprintln!("skipped: needs root, to make a network namespace and watch it");
        return;
    }
    let cases = all_cases();
    let tmp = TempDir::new("bad-configs-apply");
    let dirs = stage(&cases, &tmp.0.join("cases"));
    let ns = match WatchedNamespace::new(tmp.0.join("monitor.log")) {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };

    // The parents most cases name exist, so a config that slipped through would act.
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    // `ip monitor` gives no sign that it has subscribed: make links until it reports one.
    ns.ready();
    // Let any trailing events settle, then take the mark.
    std::thread::sleep(Duration::from_millis(300));
    let before = ns.events();

    // Namespaces the cases name (`netns = NAME`) must not appear either.
    let namespaces: Vec<PathBuf> = cases
        .iter()
        .flat_map(|case| {
            String::from_utf8_lossy(&case.bytes)
                .lines()
                .filter_map(|l| l.split_once('='))
                .filter(|(k, _)| k.trim() == "netns")
                .map(|(_, v)| Path::new("/run/netns").join(v.trim()))
                .filter(|p| p.parent() == Some(Path::new("/run/netns")) && !p.exists())
                .collect::<Vec<_>>()
        })
        .collect();

    let mut failures = Vec::new();
    for (case, dir) in cases.iter().zip(&dirs) {
        let run_dir = dir.join("run");
        fs::create_dir_all(&run_dir).unwrap();
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                BIN,
                "-c",
                "underlay.conf",
                "apply",
            ])
            .args(["--wait", "0", "--timeout", "5"])
            .current_dir(dir)
            .env("UNDERLAY_RUN_DIR", &run_dir)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        failures.extend(mismatch(case, "apply", &out));
        let left: Vec<_> = fs::read_dir(&run_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if !left.is_empty() {
            failures.push(format!(
                "{} (apply): wrote {left:?} to its run directory",
                case.name
            ));
        }
    }

    for path in &namespaces {
        if path.exists() {
            failures.push(format!("{} appeared", path.display()));
        }
    }

    // Positive control: the monitor must see this. Events reach it in order, so anything a case
    // did would be printed before it.
    ns.ip(&["link", "add", "x", "type", "veth", "peer", "name", "y"]);
    let after = ns.wait_for(&["x", "y"]);
    let during = after.strip_prefix(before.as_str()).unwrap_or(&after);
    let stray: Vec<String> = events(during)
        .into_iter()
        .filter(|e| !mentions(e, "x") && !mentions(e, "y"))
        .collect();
    if !stray.is_empty() {
        failures.push(format!(
            "link events while the bad configs were applied:\n{}",
            stray.join("\n")
        ));
    }
    report(&failures);
}
