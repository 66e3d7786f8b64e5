//! underlay runs as root at boot: nothing in the config's path, the run directory or
//! /var/run/netns may steer it, hang it or make it lose links. Each test attacks one of those on
//! a real kernel, in a throwaway network namespace (see `common::Lab`).

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Run, set_mode, sh};

fn run_with_config(lab: &Lab, config: &std::path::Path, args: &[&str]) -> Run {
    let mut full = vec!["-c", config.to_str().unwrap()];
    full.extend_from_slice(args);
    Run::from(lab.command(&full).output().unwrap())
}

/// The config check follows the file it reads up to `/`: a directory someone else owns or can
/// write, anywhere above the file (after symlinks), is refused and named; a root-owned file in
/// a sticky directory such as /tmp is trusted, since nobody else can replace it there.
#[test]
fn the_config_check_covers_every_directory_above_the_file_it_reads() {
    let Some(lab) = Lab::new() else { return };
    let text = "[macvlan mv0]\nparent = vp0\n";

    // In /tmp itself (sticky, world-writable, root's): trusted.
    let in_tmp = std::env::temp_dir().join(format!("underlay-sticky-{}.conf", std::process::id()));
    std::fs::write(&in_tmp, text).unwrap();
    set_mode(&in_tmp, 0o644);
    let run = run_with_config(&lab, &in_tmp, &["apply"]);
    let _ = std::fs::remove_file(&in_tmp);
    assert_eq!(run.code, 0, "{run:?}");

    // A directory that belongs to nobody, with a root-owned 0644 file in it: refused.
    let owned = lab.dir.join("nobodys");
    std::fs::create_dir(&owned).unwrap();
    set_mode(&owned, 0o755);
    sh(&["chown", "65534", owned.to_str().unwrap()]);
    let file = owned.join("underlay.conf");
    std::fs::write(&file, text).unwrap();
    set_mode(&file, 0o644);
    let run = run_with_config(&lab, &file, &["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "its directory {} belongs to uid 65534, not root",
            owned.display()
        )) && run
            .stderr
            .contains("move the config to a directory only root controls"),
        "{run:?}"
    );

    // A trusted path that is a symlink into that directory: the target's directory counts.
    let link = lab.dir.join("link.conf");
    symlink(&file, &link).unwrap();
    let run = run_with_config(&lab, &link, &["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("belongs to uid 65534"), "{run:?}");

    // A directory others may write (not sticky): refused, never "chmod go-w" on it.
    let open = lab.dir.join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let file = open.join("underlay.conf");
    std::fs::write(&file, text).unwrap();
    set_mode(&file, 0o644);
    let run = run_with_config(&lab, &file, &["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("is writable by its group and others (mode 0777)")
            && !run.stderr.contains("chmod go-w"),
        "{run:?}"
    );

    // /dev/null is no config at all.
    let run = run_with_config(&lab, std::path::Path::new("/dev/null"), &["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: /dev/null: is a character device, not a regular file; point -c at the config file itself\n"
    );
    assert!(
        lab.link("mv0").is_some(),
        "only the trusted run changed anything"
    );
}

/// The run directory is underlay's alone: made 0700 whatever the umask, and refused when it is
/// anything else, before any change.
#[test]
fn the_run_directory_is_closed_to_others_and_checked() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\n");
    let run_dir = lab.dir.join("run");
    // umask 000 must not open it up.
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg("nsenter")
        .arg(format!("--net=/run/netns/{}", lab.ns))
        .arg(env!("CARGO_BIN_EXE_underlay"))
        .args([
            "-c",
            lab.dir.join("underlay.conf").to_str().unwrap(),
            "apply",
        ])
        .env("UNDERLAY_RUN_DIR", &run_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&run_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    for entry in std::fs::read_dir(&run_dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{:?} is mode {mode:o}", entry.path());
    }

    // Opened up by someone: refused, and nothing is deleted.
    set_mode(&run_dir, 0o777);
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the run directory {} cannot be trusted: others may use it (mode 0777)",
            run_dir.display()
        )),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_some());
    set_mode(&run_dir, 0o700);

    // Replaced by a symlink: refused.
    let real = lab.dir.join("elsewhere");
    std::fs::rename(&run_dir, &real).unwrap();
    symlink(&real, &run_dir).unwrap();
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("it is a symlink"), "{run:?}");
    assert!(lab.link("mv0").is_some());
    std::fs::remove_file(&run_dir).unwrap();
    std::fs::rename(&real, &run_dir).unwrap();
    assert_eq!(lab.underlay(&["down"]).code, 0);
}

/// Forged record entries delete nothing: an admin's bridge named by its (kernel-numbered)
/// index, and a link in another namespace reached through `netns=../../proc/PID/ns/net`.
/// A symlink at the old temporary file name never redirects a write.
#[test]
fn a_forged_record_deletes_nothing() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[global]\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.ip(&["link", "add", "br0", "type", "bridge"]);
    let index = common::ifindex(&lab, "br0");
    let run_dir = lab.dir.join("run");
    let record = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("links-")
        })
        .expect("apply wrote a record");
    for forged in [
        format!("link name=br0 index={index} kind=macvlan parent=0\n"),
        "link name=br0 index=1048576 kind=macvlan parent=0 netns=../../proc/1/ns/net\n".to_string(),
        "link name=br0 index=1048576 kind=bridge parent=0\n".to_string(),
    ] {
        std::fs::write(&record, &forged).unwrap();
        set_mode(&record, 0o600);
        let run = lab.underlay(&["down"]);
        assert_eq!(run.code, 1, "{forged}: {run:?}");
        assert!(
            run.stderr.contains("cannot be trusted: line 1:")
                && run.stderr.contains("nothing was changed"),
            "{forged}: {run:?}"
        );
        assert!(lab.link("br0").is_some(), "{forged}");
    }
    // A record only root could not have written.
    std::fs::write(&record, "").unwrap();
    set_mode(&record, 0o666);
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("someone else could have written it"),
        "{run:?}"
    );
    std::fs::remove_file(&record).unwrap();

    // The temporary file's name cannot be guessed and is created, never opened: a symlink
    // at the name a write once used changes nothing.
    let victim = lab.dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    symlink(&victim, record.with_extension("tmp")).unwrap();
    lab.config("[macvlan mv0]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// `ip netns exec` gives underlay a mount namespace of its own, where the bind mount of a
/// namespace it creates would die with it. It must refuse before changing anything.
#[test]
fn a_private_mount_namespace_is_refused_before_any_change() {
    let Some(lab) = Lab::new() else { return };
    let web = format!("uh{}web", std::process::id());
    lab.config(&format!("[macvlan c1]\nparent = vp0\nnetns = {web}\n"));
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns, env!("CARGO_BIN_EXE_underlay")])
        .args([
            "-c",
            lab.dir.join("underlay.conf").to_str().unwrap(),
            "apply",
        ])
        .env("UNDERLAY_RUN_DIR", lab.dir.join("run"))
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("underlay runs in a mount namespace of its own")
            && run.stderr.contains("nothing was changed"),
        "{run:?}"
    );
    assert!(!std::path::Path::new("/run/netns").join(&web).exists());
    assert!(
        lab.link("vp0").is_some_and(|l| !l.contains("\"UP\"")),
        "vp0 not even set up"
    );
}

/// Hundreds of namespaces under a soft limit of 256 open files: underlay raises it to the hard
/// limit, so every one is made and recorded, and down removes them all.
#[test]
fn many_namespaces_fit_under_a_low_soft_file_limit() {
    let Some(lab) = Lab::new() else { return };
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: prlimit (util-linux) is missing");
        return;
    }
    let prefix = format!("uf{}x", std::process::id());
    let mut config = String::new();
    for i in 0..300 {
        config.push_str(&format!(
            "[macvlan m{i}]\nparent = vp0\nnetns = {prefix}{i}\n"
        ));
    }
    lab.config(&config);
    let limited = |args: &[&str]| {
        let mut c = Command::new("prlimit");
        c.args(["--nofile=256:8192", "--", "nsenter"])
            .arg(format!("--net=/run/netns/{}", lab.ns))
            .arg(env!("CARGO_BIN_EXE_underlay"))
            .args(["-c", lab.dir.join("underlay.conf").to_str().unwrap()])
            .args(args)
            .env("UNDERLAY_RUN_DIR", lab.dir.join("run"));
        Run::from(c.output().unwrap())
    };
    let run = limited(&["apply"]);
    let made = (0..300)
        .filter(|i| {
            std::path::Path::new("/run/netns")
                .join(format!("{prefix}{i}"))
                .exists()
        })
        .count();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(made, 300);
    let run = limited(&["down"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let left = (0..300)
        .filter(|i| {
            std::path::Path::new("/run/netns")
                .join(format!("{prefix}{i}"))
                .exists()
        })
        .count();
    assert_eq!(left, 0, "down left {left} of underlay's namespaces");
}

/// A bad entry under /var/run/netns stops nothing but the links that would go there: a FIFO
/// (which would hang a blocking open) and a regular file.
#[test]
fn a_bad_entry_in_the_netns_directory_fails_alone() {
    let Some(lab) = Lab::new() else { return };
    let fifo = format!("uh{}fifo", std::process::id());
    let file = format!("uh{}file", std::process::id());
    let dir = std::path::Path::new("/run/netns");
    assert!(
        Command::new("mkfifo")
            .arg(dir.join(&fifo))
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(dir.join(&file), "not a namespace").unwrap();
    lab.config(&format!(
        "[macvlan a]\nparent = vp0\nnetns = {fifo}\n[macvlan b]\nparent = vp0\nnetns = {file}\n[macvlan c]\nparent = vp0\n"
    ));
    let started = Instant::now();
    let run = lab.underlay(&["apply"]);
    let _ = std::fs::remove_file(dir.join(&fifo));
    let _ = std::fs::remove_file(dir.join(&file));
    assert!(started.elapsed() < Duration::from_secs(20), "it hung");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "skipped macvlan a in netns {fifo}: /var/run/netns/{fifo} is not a namespace"
        )) && run.stderr.contains(&format!(
            "skipped macvlan b in netns {file}: /var/run/netns/{file} is a regular file"
        )),
        "{run:?}"
    );
    assert!(lab.link("c").is_some(), "the rest is applied");
}

/// `--timeout` bounds every run: a FIFO as the lock, a run with more work than time, and a
/// timeout too large to be meant.
#[test]
fn the_timeout_bounds_every_run() {
    let Some(lab) = Lab::new() else { return };
    let mut config = String::from("[global]\nwait = 0\n");
    for i in 0..2000 {
        config.push_str(&format!("[macvlan t{i}]\nparent = vp0\n"));
    }
    lab.config(&config);
    let started = Instant::now();
    let run = lab.underlay(&["apply", "--timeout", "1"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        run.stderr
            .contains("the run's --timeout passed before underlay could finish"),
        "{run:?}"
    );
    // What it recorded is consistent: the next run finishes and down removes everything.
    assert_eq!(lab.underlay(&["apply", "--timeout", "120"]).code, 0);
    assert_eq!(lab.underlay(&["check"]).code, 0);
    assert_eq!(lab.underlay(&["down", "--timeout", "120"]).code, 0);

    let run = lab.underlay(&["apply", "--timeout", "18446744073709551615"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("--timeout 18446744073709551615: give 1..86400 seconds"),
        "{run:?}"
    );

    // A FIFO where the lock goes.
    let run_dir = lab.dir.join("run");
    let _ = std::fs::remove_file(run_dir.join("lock"));
    assert!(
        Command::new("mkfifo")
            .arg(run_dir.join("lock"))
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let run = lab.underlay(&["apply", "--timeout", "5"]);
    assert!(started.elapsed() < Duration::from_secs(6), "it hung");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("lock is not a regular file"), "{run:?}");
}

/// A report that cannot be written (a full disk) does not stop a run halfway: it finishes,
/// says so on stderr, and exits 1.
#[test]
fn a_failed_write_to_stdout_does_not_stop_the_run() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\naddress = 10.5.0.1/24\n");
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = lab
        .command(&[
            "-c",
            lab.dir.join("underlay.conf").to_str().unwrap(),
            "apply",
        ])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot write the report to stdout; the run goes on"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_some());
    let addrs = lab.ip(&["-j", "addr", "show", "dev", "mv0"]);
    assert!(
        addrs.contains("10.5.0.1"),
        "the address after the link was added too: {addrs}"
    );
    assert_eq!(lab.underlay(&["check"]).code, 0);
}
