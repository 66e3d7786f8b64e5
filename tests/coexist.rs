//! underlay is never alone on a machine: these tests put other owners next to it, on a real
//! kernel, and try to make it break what they hold. Each runs in a throwaway network namespace
//! (see `common::Lab`); the foreign vxlan case is in `host.rs`.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Run, field, ifindex, sh};

/// A named namespace, removed on drop.
struct Netns(String);

impl Netns {
    fn name(what: &str) -> Netns {
        Netns(format!("uc{}{what}", std::process::id()))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

/// A namespace underlay made, deleted behind its back and made again by someone else under the
/// same name (the kernel may even give it the same nsfs inode), is not underlay's: down keeps
/// it, and everything in it.
#[test]
fn a_namespace_someone_made_again_under_an_owned_name_survives_down() {
    let Some(lab) = Lab::new() else { return };
    let web = Netns::name("web");
    lab.config(&format!("[macvlan c1]\nparent = vp0\nnetns = {}\n", web.0));
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    assert!(netns_exists(&web.0));
    // Someone else deletes it and makes their own, with a link of their own in it.
    sh(&["ip", "netns", "del", &web.0]);
    sh(&["ip", "netns", "add", &web.0]);
    sh(&[
        "ip", "-n", &web.0, "link", "add", "theirs", "type", "veth", "peer", "name", "t1",
    ]);
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("deleted netns"), "{run:?}");
    assert!(netns_exists(&web.0), "the new namespace is someone else's");
    let links = sh(&["ip", "-n", &web.0, "-o", "link", "show"]);
    assert!(links.contains("theirs"), "{links}");
}

/// With the systemd unit's capabilities (CAP_NET_ADMIN and CAP_SYS_ADMIN only), another
/// process's /proc/PID/ns/net may be unreadable. A namespace a process still uses must be kept
/// anyway.
#[test]
fn a_namespace_in_use_survives_down_with_only_the_units_capabilities() {
    let Some(lab) = Lab::new() else { return };
    if Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("skipped: setpriv (util-linux) is missing");
        return;
    }
    let busy = Netns::name("busy");
    lab.config(&format!("[macvlan b1]\nparent = vp0\nnetns = {}\n", busy.0));
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    // A root process with every capability lives in it: reading its namespace needs ptrace
    // access, which a process with only two capabilities lacks.
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &busy.0, "sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let run = Run::from(
        Command::new("setpriv")
            .args([
                "--bounding-set=-all,+net_admin,+sys_admin",
                "--inh-caps=-all",
                "--",
                "nsenter",
            ])
            .arg(format!("--net=/run/netns/{}", lab.ns))
            .arg(env!("CARGO_BIN_EXE_underlay"))
            .args([
                "-c",
                lab.dir.join("underlay.conf").to_str().unwrap(),
                "down",
            ])
            .env("UNDERLAY_RUN_DIR", lab.dir.join("run"))
            .output()
            .unwrap(),
    );
    sleeper.kill().unwrap();
    let _ = sleeper.wait();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("deleted macvlan b1"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("kept netns {}: process", busy.0)),
        "{run:?}"
    );
    assert!(netns_exists(&busy.0));
    // Its process gone, the next down deletes it.
    let run = lab.underlay(&["down"]);
    assert!(
        run.stdout.contains(&format!("deleted netns {}", busy.0)),
        "{run:?}"
    );
}

/// `down` gathers the links it deletes in a netdev group and deletes the group. One killed in
/// between leaves underlay's links in that group; the next apply puts them back, and check is
/// clean.
#[test]
fn links_a_killed_down_left_in_its_group_are_put_back() {
    let Some(lab) = Lab::new() else { return };
    let mut config = String::from("[global]\nwait = 0\n");
    for i in 0..40 {
        config.push_str(&format!("[macvlan g{i}]\nparent = vp0\n"));
    }
    lab.config(&config);
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let mut left_in_group = 0;
    for round in 0..20 {
        let mut child = lab
            .command(&[
                "-c",
                lab.dir.join("underlay.conf").to_str().unwrap(),
                "down",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Somewhere between 0 and 60 ms: before, during and after the group is set.
        std::thread::sleep(Duration::from_micros(3_000 * (round % 20)));
        let _ = child.kill();
        let _ = child.wait();
        left_in_group += lab
            .ip(&["-d", "link", "show"])
            .lines()
            .filter(|l| l.contains(": g") && !l.contains("group default"))
            .count();
        let run = lab.underlay(&["apply"]);
        assert_eq!(run.code, 0, "round {round}: {run:?}");
        let check = lab.underlay(&["check"]);
        assert_eq!(check.code, 0, "round {round}: {check:?}");
        let all = lab.ip(&["-d", "link", "show"]);
        assert!(
            all.lines()
                .filter(|l| l.contains(": g"))
                .all(|l| l.contains("group default")),
            "round {round}: a link is outside the default group:\n{all}"
        );
    }
    eprintln!("{left_in_group} links were left outside the default group by a kill");
    assert_eq!(lab.underlay(&["down"]).code, 0);
    assert!(lab.link("g0").is_none());
}

/// A link someone renamed stays underlay's: the declared name is not made again (the renamed
/// link holds its MAC), the run says why, and down deletes it under its new name.
#[test]
fn a_renamed_owned_link_is_reported_and_still_underlays() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let index = ifindex(&lab, "mv0");
    lab.ip(&["link", "set", "mv0", "down"]);
    lab.ip(&["link", "set", "mv0", "name", "mv9"]);
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: skipped macvlan mv0: underlay made it, and someone renamed it mv9, which still holds its MAC"
        ),
        "{run:?}"
    );
    assert_eq!(ifindex(&lab, "mv9"), index, "not deleted, not re-made");
    assert!(lab.link("mv0").is_none());
    let run = lab.underlay(&["down"]);
    assert_eq!(run.stdout, "deleted macvlan mv9\n", "{run:?}");
    assert!(lab.link("mv9").is_none());
}

/// Names are bytes to the kernel. A config naming `a\u{FFFD}` (valid UTF-8) must not touch the
/// foreign link `a\xff`, which a lossy decode would read as the same name.
#[test]
fn names_are_compared_as_bytes() {
    let Some(lab) = Lab::new() else { return };
    let odd = std::ffi::OsStr::from_bytes(b"a\xff");
    let status = Command::new("ip")
        .args(["-n", &lab.ns, "link", "add", "link", "vp0", "name"])
        .arg(odd)
        .args(["mtu", "1500", "type", "macvlan", "mode", "bridge"])
        .status()
        .unwrap();
    assert!(status.success());
    lab.config("[macvlan a\u{FFFD}]\nparent = vp0\nmtu = 1400\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = Command::new("ip")
        .args(["-n", &lab.ns, "-d", "-j", "link", "show", "dev"])
        .arg(odd)
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout);
    assert_eq!(field(&theirs, "mtu").as_deref(), Some("1500"), "{theirs}");
    assert_eq!(
        field(&lab.link("a\u{FFFD}").unwrap(), "mtu").as_deref(),
        Some("1400")
    );
    let show = lab.underlay(&["show"]);
    assert_eq!(show.code, 0, "{show:?}");
}

/// A foreign link at the top of the ifindex range must not make underlay's next index
/// overflow.
#[test]
fn a_foreign_link_at_the_top_of_the_index_range_does_not_stop_creation() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&[
        "link",
        "add",
        "top",
        "index",
        "2147483646",
        "type",
        "veth",
        "peer",
        "name",
        "top1",
        "index",
        "2147483647",
    ]);
    lab.config("[macvlan mv0]\nparent = vp0\n[macvlan mv1]\nparent = vp0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(lab.underlay(&["check"]).code, 0);
    assert_eq!(lab.underlay(&["down"]).code, 0);
    assert!(lab.link("top").is_some(), "the foreign link stays");
}

/// A macvlan made on a macvlan is put by the kernel on the lower one's parent. A config that
/// asks for it is refused, saying what to write.
#[test]
fn a_macvlan_on_a_macvlan_is_refused_with_the_parent_to_write() {
    let Some(lab) = Lab::new() else { return };
    let path = lab.config("[macvlan a]\nparent = vp0\n[macvtap b]\nparent = a\n");
    let run = lab.underlay(&["validate"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: {path}:4: [macvtap b] parent: a is a macvlan itself, and the kernel puts a macvtap made on it onto a's own parent, so it would never be where this says; write `parent = vp0`\n"
        )
    );
    // The same for a live macvlan that is not declared.
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "live0", "type", "macvlan",
    ]);
    lab.config("[macvlan c]\nparent = live0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("error: skipped macvlan c: parent live0 is a macvlan, and the kernel would put this link on live0's own parent instead"),
        "{run:?}"
    );
    assert!(lab.link("c").is_none());
}

/// A stale record entry is dropped by the first run that sees its link gone, so a link someone
/// makes later with that ifindex, name, kind and parent is never taken for underlay's.
#[test]
fn a_stale_record_entry_never_claims_a_later_link() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let index = ifindex(&lab, "mv0");
    lab.ip(&["link", "del", "mv0"]);
    // A run sees it gone (and makes it again, with another index).
    lab.config("[global]\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    // Someone makes a link with the old index, name, kind and parent.
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "mv0", "index", &index, "type", "macvlan",
    ]);
    let started = Instant::now();
    let run = lab.underlay(&["down"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(lab.link("mv0").is_some(), "not underlay's: {run:?}");
}
