//! Host integration tests: the real binary against the real kernel, each test in a throwaway
//! network namespace with a veth pair as the parent. They need root (CI runs as root) and a
//! kernel with macvlan and veth; VLAN, ipvlan and dummy are covered under QEMU (tests/vm).
//!
//! Every check reads the result back with iproute2 (`ip -d -j link`), not with underlay.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Run, field, ifindex};

const TWO_MACVLANS: &str = "[global]\nwait = 0\n\n[macvlan mv0]\nparent = vp0\nmtu = 1400\n\n[macvlan mv1]\nparent = vp0\nmode = private\nmac = 02:00:00:00:00:11\n";

#[test]
fn apply_creates_macvlans_with_mode_mac_and_mtu() {
    let Some(lab) = Lab::new() else { return };
    lab.config(TWO_MACVLANS);
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.all()
            .contains("created macvlan mv0 (parent vp0, mode bridge"),
        "{run:?}"
    );

    let mv0 = lab.link("mv0").expect("mv0 exists");
    assert_eq!(field(&mv0, "info_kind").as_deref(), Some("macvlan"));
    assert_eq!(
        field(&mv0, "mode").as_deref(),
        Some("bridge"),
        "underlay's default is bridge: {mv0}"
    );
    assert_eq!(field(&mv0, "mtu").as_deref(), Some("1400"));
    assert_eq!(field(&mv0, "link").as_deref(), Some("vp0"));
    let mac = field(&mv0, "address").unwrap();
    let first = u8::from_str_radix(&mac[..2], 16).unwrap();
    assert_eq!(
        first & 0x03,
        0x02,
        "a stable MAC is unicast and locally administered: {mac}"
    );
    assert!(mv0.contains("\"UP\""), "links are up by default: {mv0}");

    let mv1 = lab.link("mv1").expect("mv1 exists");
    assert_eq!(field(&mv1, "mode").as_deref(), Some("private"));
    assert_eq!(field(&mv1, "address").as_deref(), Some("02:00:00:00:00:11"));
    // The parent was down; a child that is up needs it up.
    assert!(lab.link("vp0").unwrap().contains("\"UP\""));
}

#[test]
fn second_apply_changes_nothing_and_check_is_clean() {
    let Some(lab) = Lab::new() else { return };
    lab.config(TWO_MACVLANS);
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let before = (ifindex(&lab, "mv0"), ifindex(&lab, "mv1"));
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.all().contains("nothing to change: 2 links in sync"),
        "{run:?}"
    );
    assert!(!run.all().contains("created"), "{run:?}");
    assert_eq!(
        (ifindex(&lab, "mv0"), ifindex(&lab, "mv1")),
        before,
        "no link was re-created"
    );
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stdout.starts_with("in sync: 2 links match"),
        "{check:?}"
    );
    assert!(!check.stdout.contains("want"), "{check:?}");
}

#[test]
fn check_reports_drift_and_apply_repairs_it_in_place() {
    let Some(lab) = Lab::new() else { return };
    lab.config(TWO_MACVLANS);
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let index = ifindex(&lab, "mv1");
    lab.ip(&["link", "set", "mv1", "type", "macvlan", "mode", "vepa"]);
    lab.ip(&["link", "set", "mv0", "mtu", "1300"]);
    lab.ip(&["link", "set", "mv0", "down"]);
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    let mut lines: Vec<&str> = check.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "would change macvlan mv0: mtu 1300 → 1400, up no → yes",
            "would change macvlan mv1: mode vepa → private"
        ]
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        field(&lab.link("mv1").unwrap(), "mode").as_deref(),
        Some("private")
    );
    assert_eq!(
        field(&lab.link("mv0").unwrap(), "mtu").as_deref(),
        Some("1400")
    );
    assert_eq!(
        ifindex(&lab, "mv1"),
        index,
        "fixed in place, not re-created"
    );
    assert_eq!(lab.underlay(&["check"]).code, 0);
}

#[test]
fn down_removes_exactly_what_underlay_created_and_adopts_existing_links() {
    let Some(lab) = Lab::new() else { return };
    // mine0 exists before underlay runs and matches the config: adopted, never deleted.
    lab.ip(&[
        "link",
        "add",
        "link",
        "vp0",
        "name",
        "mine0",
        "address",
        "02:00:00:00:00:aa",
        "type",
        "macvlan",
        "mode",
        "bridge",
    ]);
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "other", "type", "macvlan",
    ]);
    lab.config(&format!(
        "{TWO_MACVLANS}\n[macvlan mine0]\nparent = vp0\nmac = 02:00:00:00:00:aa\n"
    ));
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.all().contains("created macvlan mine0"), "{run:?}");
    assert_eq!(lab.underlay(&["check"]).code, 0);
    let before = lab.names();
    assert!(before.contains(&"mv0".to_string()) && before.contains(&"mine0".to_string()));

    let dry = lab.underlay(&["down", "--dry-run"]);
    assert_eq!(dry.code, 0);
    assert_eq!(lab.names(), before, "--dry-run deletes nothing");
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut after = lab.names();
    after.sort();
    assert_eq!(after, ["lo", "mine0", "other", "vp0", "vp1"]);
    // A second down has nothing left to do.
    let again = lab.underlay(&["down"]);
    assert_eq!(again.code, 0);
    assert!(again.all().contains("nothing to delete"), "{again:?}");
}

#[test]
fn down_never_deletes_a_link_recreated_by_someone_else() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    // Someone deletes it and makes their own with the same name: not underlay's any more.
    lab.ip(&["link", "del", "mv0"]);
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "mv0", "type", "macvlan", "mode", "bridge",
    ]);
    assert_eq!(lab.underlay(&["down"]).code, 0);
    assert!(lab.link("mv0").is_some(), "the foreign mv0 survived down");
}

#[test]
fn a_foreign_link_that_differs_is_reported_and_left_alone() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&["link", "add", "vq0", "type", "veth", "peer", "name", "vq1"]);
    lab.ip(&[
        "link", "add", "link", "vq0", "name", "mv0", "type", "macvlan", "mode", "vepa",
    ]);
    let index = ifindex(&lab, "mv0");
    lab.config("[macvlan mv0]\nparent = vp0\n\n[macvlan mv1]\nparent = vp0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: left macvlan mv0 alone: a link with this name exists that underlay did not create"
        ) && run.stderr.contains("parent vq0 → vp0"),
        "{run:?}"
    );
    assert_eq!(ifindex(&lab, "mv0"), index, "untouched");
    assert_eq!(
        field(&lab.link("mv0").unwrap(), "mode").as_deref(),
        Some("vepa"),
        "untouched"
    );
    assert!(
        lab.link("mv1").is_some(),
        "everything else is still applied"
    );
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("would leave macvlan mv0 alone")
            && check.stdout.contains("parent vq0 → vp0"),
        "{check:?}"
    );
}

#[test]
fn owned_links_with_immutable_changes_are_recreated() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&["link", "add", "vq0", "type", "veth", "peer", "name", "vq1"]);
    lab.config("[macvlan mv0]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.config("[macvlan mv0]\nparent = vq0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.all().contains("re-created macvlan mv0"), "{run:?}");
    assert_eq!(
        field(&lab.link("mv0").unwrap(), "link").as_deref(),
        Some("vq0")
    );
    assert_eq!(lab.underlay(&["down"]).code, 0);
    assert!(lab.link("mv0").is_none());
}

#[test]
fn links_dropped_from_the_config_are_removed_by_apply() {
    let Some(lab) = Lab::new() else { return };
    lab.config(TWO_MACVLANS);
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.config("[macvlan mv0]\nparent = vp0\nmtu = 1400\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.all()
            .contains("deleted macvlan mv1 (no longer declared)"),
        "{run:?}"
    );
    assert!(lab.link("mv1").is_none());
    assert!(lab.link("mv0").is_some());
}

#[test]
fn stable_macs_survive_delete_and_recreate() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\n[macvlan mv1]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let first = (
        field(&lab.link("mv0").unwrap(), "address"),
        field(&lab.link("mv1").unwrap(), "address"),
    );
    assert_ne!(first.0, first.1);
    assert_eq!(lab.underlay(&["down"]).code, 0);
    assert!(lab.link("mv0").is_none());
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let second = (
        field(&lab.link("mv0").unwrap(), "address"),
        field(&lab.link("mv1").unwrap(), "address"),
    );
    assert_eq!(first, second);
}

#[test]
fn a_late_parent_is_waited_for_by_events() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[global]\nwait = 20\n\n[macvlan late0]\nparent = vlate\n");
    let started = Instant::now();
    let child = lab
        .command(&[
            "-c",
            lab.dir.join("underlay.conf").to_str().unwrap(),
            "apply",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(lab.link("late0").is_none());
    lab.ip(&[
        "link", "add", "vlate", "type", "veth", "peer", "name", "vlate1",
    ]);
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.all().contains("waiting up to 20 s for vlate"),
        "{run:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "woken by the event, not the timeout"
    );
    assert_eq!(
        field(&lab.link("late0").unwrap(), "link").as_deref(),
        Some("vlate")
    );
}

#[test]
fn a_parent_that_never_appears_is_reported_and_the_rest_applied() {
    let Some(lab) = Lab::new() else { return };
    lab.config(
        "[global]\nwait = 1\n\n[macvlan lost0]\nparent = nosuch0\n\n[macvlan mv0]\nparent = vp0\n",
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("skipped macvlan lost0: parent nosuch0 does not exist"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_some());
}

/// `wait` counts against `--timeout`, but never takes all of it: with a wait longer than the
/// run may last, the rest is still applied in the time kept for it.
#[test]
fn a_wait_longer_than_the_timeout_still_leaves_time_for_the_rest() {
    let Some(lab) = Lab::new() else { return };
    lab.config(
        "[global]\nwait = 600\n\n[macvlan lost0]\nparent = nosuch0\n\n[macvlan mv0]\nparent = vp0\n",
    );
    let started = std::time::Instant::now();
    let run = lab.underlay(&["apply", "--timeout", "8"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{run:?}"
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("waiting up to 6 s for nosuch0"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("skipped macvlan lost0: parent nosuch0 does not exist"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_some(), "{run:?}");
}

#[test]
fn dry_run_and_validate_change_nothing() {
    let Some(lab) = Lab::new() else { return };
    lab.config(TWO_MACVLANS);
    let run = lab.underlay(&["apply", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("would create macvlan mv0 (parent vp0, mode bridge"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_none());
    let run = lab.underlay(&["validate"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.ends_with(": ok, 2 links\n"), "{run:?}");
}

#[test]
fn an_invalid_config_exits_2_and_changes_nothing() {
    let Some(lab) = Lab::new() else { return };
    let path = lab.config("[macvlan mv0]\nparent = vp0\n\n[vlan eth0.4095]\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("error: {path}:4: [vlan eth0.4095] id: 4095 is out of range 1..4094\n")
    );
    assert!(lab.link("mv0").is_none(), "nothing applied");
}

#[test]
fn a_missing_kernel_module_stops_the_run_before_any_change() {
    let Some(lab) = Lab::new() else { return };
    // Only meaningful where the kernel lacks dummy (this project's dev and CI machines).
    let probe = Command::new("ip")
        .args(["-n", &lab.ns, "link", "add", "dprobe", "type", "dummy"])
        .output()
        .unwrap();
    if probe.status.success() {
        eprintln!(
            "skipped: this kernel has dummy, so its absence cannot be tested here (tests/vm covers it)"
        );
        return;
    }
    lab.config("[macvlan mv0]\nparent = vp0\n\n[dummy dm0]\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "cannot create dm0 (dummy): the kernel has no dummy support: load the `dummy` module"
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("nothing was changed"), "{run:?}");
    assert!(
        lab.link("mv0").is_none(),
        "not even the macvlan was created"
    );
}

#[test]
fn vlan_ipvlan_and_dummy_when_the_kernel_has_them() {
    let Some(lab) = Lab::new() else { return };
    let mut missing = Vec::new();
    for (kind, extra) in [
        ("vlan", vec!["link", "vp0", "type", "vlan", "id", "5"]),
        ("ipvlan", vec!["link", "vp0", "type", "ipvlan"]),
        ("dummy", vec!["type", "dummy"]),
    ] {
        let mut args = vec!["-n", lab.ns.as_str(), "link", "add", "kprobe"];
        args.extend(extra);
        if Command::new("ip")
            .args(&args)
            .output()
            .unwrap()
            .status
            .success()
        {
            lab.ip(&["link", "del", "kprobe"]);
        } else {
            missing.push(kind);
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "skipped: this kernel lacks {} (the QEMU tests in tests/vm cover them)",
            missing.join(", ")
        );
        return;
    }
    lab.config("[vlan vp0.10]\n[ipvlan iv0]\nparent = vp0\nmode = l3\n[dummy dm0]\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    assert_eq!(
        field(&lab.link("vp0.10").unwrap(), "id").as_deref(),
        Some("10")
    );
    assert_eq!(
        field(&lab.link("iv0").unwrap(), "mode").as_deref(),
        Some("l3")
    );
    assert!(lab.link("dm0").is_some());
    assert_eq!(lab.underlay(&["check"]).code, 0);
    assert_eq!(lab.underlay(&["down"]).code, 0);
}

#[test]
fn version_and_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_underlay"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("underlay {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(env!("CARGO_BIN_EXE_underlay"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_underlay"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_config_others_could_change_is_refused() {
    let Some(lab) = Lab::new() else { return };
    let path = lab.config("[macvlan mv0]\nparent = vp0\n");
    common::set_mode(std::path::Path::new(&path), 0o664);
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("is writable by its group (mode 0664)")
            && run.stderr.contains("chmod go-w")
            && run.stderr.contains("pass --insecure-config"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_none());
    let run = lab.underlay(&["apply", "--insecure-config"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.starts_with("warning: ")
            && run.stderr.contains("as --insecure-config asks")
            && !run.stderr.contains("pass --insecure-config"),
        "{run:?}"
    );
    assert!(lab.link("mv0").is_some());
}

#[test]
fn a_foreign_link_with_a_non_utf8_name_does_not_stop_the_run() {
    use std::os::unix::ffi::OsStrExt;
    let Some(lab) = Lab::new() else { return };
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let status = Command::new("ip")
        .args([
            "-n", &lab.ns, "link", "add", "ve0", "type", "veth", "peer", "name",
        ])
        .arg(odd)
        .status()
        .unwrap();
    assert!(status.success());
    lab.config("[macvlan mv0]\nparent = vp0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(lab.underlay(&["check"]).code, 0);
    assert_eq!(lab.underlay(&["show"]).code, 0);
}

#[test]
fn macvtap_is_made_checked_repaired_in_place_and_removed() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvtap mvt0]\nparent = vp0\nmode = private\nmtu = 1400\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mvt = lab.link("mvt0").expect("mvt0 exists");
    assert_eq!(field(&mvt, "info_kind").as_deref(), Some("macvtap"));
    assert_eq!(field(&mvt, "mode").as_deref(), Some("private"));
    assert_eq!(field(&mvt, "mtu").as_deref(), Some("1400"));
    assert_eq!(lab.underlay(&["check"]).code, 0);
    let index = ifindex(&lab, "mvt0");
    lab.ip(&["link", "set", "mvt0", "type", "macvtap", "mode", "vepa"]);
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert_eq!(
        check.stdout,
        "would change macvtap mvt0: mode vepa → private\n"
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.stdout, "changed macvtap mvt0: mode vepa → private\n");
    assert_eq!(ifindex(&lab, "mvt0"), index, "repaired in place");
    assert_eq!(
        field(&lab.link("mvt0").unwrap(), "mode").as_deref(),
        Some("private")
    );
    assert_eq!(lab.underlay(&["check"]).code, 0);
    let down = lab.underlay(&["down"]);
    assert_eq!(down.stdout, "deleted macvtap mvt0\n");
    assert!(lab.link("mvt0").is_none());
}

/// A vxlan someone put on underlay's macvlan names it in IFLA_VXLAN_LINK, not IFLA_LINK. The
/// kernel would delete it with the macvlan, so every way underlay deletes a link must refuse:
/// the same guard, the same words.
#[test]
fn a_foreign_vxlan_on_an_owned_link_blocks_down_removal_and_recreation() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&["link", "add", "vq0", "type", "veth", "peer", "name", "vq1"]);
    lab.config("[macvlan m1]\nparent = vp0\naddress = 10.41.0.1/24\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.ip(&[
        "link", "add", "vx1", "type", "vxlan", "id", "41", "dev", "m1", "dstport", "4789",
    ]);
    let vx = ifindex(&lab, "vx1");
    let m1 = ifindex(&lab, "m1");
    let guard = "the foreign link vx1 sits on it and would be deleted with it; remove vx1 first";

    // A removal: the config no longer declares m1.
    lab.config("[macvlan other]\nparent = vp0\n");
    let dry = lab.underlay(&["apply", "--dry-run"]);
    assert!(
        dry.stdout
            .contains(&format!("would keep macvlan m1: {guard}")),
        "{dry:?}"
    );
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains(guard), "{check:?}");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("error: kept macvlan m1: {guard}")),
        "{run:?}"
    );
    assert_eq!(
        (ifindex(&lab, "m1"), ifindex(&lab, "vx1")),
        (m1.clone(), vx.clone())
    );

    // A re-creation: m1 moves to another parent.
    lab.config("[macvlan m1]\nparent = vq0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: skipped macvlan m1: it must be re-created (parent vp0 → vq0), but {guard}"
        )),
        "{run:?}"
    );
    assert_eq!(
        (ifindex(&lab, "m1"), ifindex(&lab, "vx1")),
        (m1.clone(), vx.clone())
    );

    // down.
    let dry = lab.underlay(&["down", "--dry-run"]);
    assert!(
        dry.stdout
            .contains(&format!("would keep macvlan m1: {guard}")),
        "{dry:?}"
    );
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("error: kept macvlan m1: {guard}")),
        "{run:?}"
    );
    assert_eq!((ifindex(&lab, "m1"), ifindex(&lab, "vx1")), (m1, vx));

    // Once vx1 is gone, down takes m1.
    lab.ip(&["link", "del", "vx1"]);
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(lab.link("m1").is_none());
}

/// What a new user hit, each in the words underlay should use.
#[test]
fn rough_edges_a_new_user_hit() {
    let Some(lab) = Lab::new() else { return };
    let simple = "[macvlan mv0]\nparent = vp0\n";
    lab.config(simple);

    // A missing file is described the same way by every command.
    let missing = lab.dir.join("nope.conf");
    let missing = missing.to_str().unwrap();
    for command in ["validate", "apply", "check", "show"] {
        let run = Run::from(lab.command(&["-c", missing, command]).output().unwrap());
        assert_eq!(run.code, 2, "{command}: {run:?}");
        assert_eq!(
            run.stderr,
            format!("error: {missing}: no such file; write a config there, or point -c at one\n"),
            "{command}"
        );
    }

    // A FIFO as the config must not hang anything.
    let fifo = lab.dir.join("fifo.conf");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let run = Run::from(
        lab.command(&["-c", fifo.to_str().unwrap(), "validate"])
            .output()
            .unwrap(),
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is a FIFO, not a regular file"),
        "{run:?}"
    );

    // -q: nothing but problems; show still shows its table.
    assert_eq!(lab.underlay(&["-q", "validate"]).stdout, "");
    let show = lab.underlay(&["-q", "show"]);
    assert!(show.stdout.starts_with("NAME "), "{show:?}");
    // -vv: every netlink message.
    let trace = lab.underlay(&["-vv", "apply", "--dry-run"]);
    assert!(trace.stderr.contains("trace: send Getlink"), "{trace:?}");

    // A missing parent is a link that cannot be made, not a link with a wrong parent.
    lab.config("[global]\nwait = 0\n[macvlan lost0]\nparent = nosuch0\n");
    let check = lab.underlay(&["check"]);
    assert_eq!(
        check.stdout,
        "would skip macvlan lost0: parent nosuch0 does not exist\n"
    );
    // The wait a run announces is never longer than its --timeout, less the quarter kept for
    // the work after it.
    lab.config("[global]\nwait = 30\n[macvlan lost0]\nparent = nosuch0\n");
    let run = lab.underlay(&["apply", "--timeout", "1"]);
    assert!(
        run.stdout.contains("waiting up to 0.8 s for nosuch0"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("nosuch0 did not appear within 0.8 s"),
        "{run:?}"
    );

    // show describes what exists as the kernel has it: a veth named like a VLAN is a veth.
    lab.ip(&[
        "link", "add", "lan0.5", "type", "veth", "peer", "name", "lanpeer",
    ]);
    lab.config("[macvlan mv5]\nparent = lan0.5\n");
    let show = lab.underlay(&["show"]);
    let row = show
        .stdout
        .lines()
        .find(|l| l.starts_with("lan0.5"))
        .unwrap();
    assert!(row.contains(" veth ") && !row.contains("id 5"), "{row}");

    // A second down has nothing to do, and says only that.
    lab.config(simple);
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(lab.underlay(&["down"]).stdout, "deleted macvlan mv0\n");
    assert_eq!(lab.underlay(&["down"]).stdout, "nothing to delete\n");
}

/// Drop-ins: `underlay.d/*.conf` beside `underlay.conf`, read after it in lexical order, are one
/// config with it. Every error names its own file and line; a name declared in two files names
/// both.
#[test]
fn drop_in_files_add_links_and_name_their_own_lines() {
    let Some(lab) = Lab::new() else { return };
    let main = lab.config("[macvlan a]\nparent = vp0\n");
    let dir = lab.dir.join("underlay.d");
    std::fs::create_dir(&dir).unwrap();
    common::set_mode(&dir, 0o755);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        common::set_mode(&p, 0o644);
        p.to_string_lossy().into_owned()
    };
    write("20-c.conf", "[macvlan c]\nparent = vp0\nmtu = 1400\n");
    write("10-b.conf", "[macvlan b]\nparent = vp0\n");
    write("notes.txt", "[bogus x]\n");
    let run = lab.underlay(&["validate"]);
    assert_eq!(
        run.stdout,
        format!("{main} and 2 drop-ins: ok, 3 links\n"),
        "{run:?}"
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("created macvlan "))
        .map(|l| &l[..1])
        .collect();
    assert_eq!(
        order,
        ["a", "b", "c"],
        "main file first, then drop-ins in order"
    );

    let bad = write(
        "30-d.conf",
        "\n[macvlan d]\nparent = vp0\nmtu = 9\n[macvlan b]\nparent = vp0\n",
    );
    let run = lab.underlay(&["validate"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: {bad}:4: [macvlan d] mtu: 9 is out of range 68..65535\n\
             error: {bad}:5: [macvlan b]: `b` is already declared on {}:1; each interface may be declared once\n",
            dir.join("10-b.conf").display()
        )
    );
}

/// On OpenWrt, a link that netifd's /etc/config/network names too is fought over: `validate`
/// and `apply` say so for each such link, and for no other.
#[test]
fn links_netifd_also_names_are_warned_about() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan wanmv]\nparent = vp0\n[macvlan mine]\nparent = vp0\n");
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/boot/openwrt-network/23.05-x86-netifd-vlans.network"
    );
    let config = lab.dir.join("underlay.conf");
    for args in [&["validate"][..], &["apply", "--dry-run"][..]] {
        let mut full = vec!["-c", config.to_str().unwrap()];
        full.extend_from_slice(args);
        let run = common::Run::from(
            lab.command(&full)
                .env("UNDERLAY_NETIFD_CONFIG", sample)
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "{run:?}");
        let warnings: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(warnings.len(), 1, "{args:?}: {run:?}");
        assert!(
            warnings[0].starts_with(&format!("warning: {sample} names wanmv too: netifd")),
            "{run:?}"
        );
    }
    // Without the file (not OpenWrt), nothing is said.
    let run = lab.underlay(&["validate"]);
    assert_eq!(run.stderr, "", "{run:?}");
}

/// On a machine booted with systemd, `validate` names the `underlay-parent@` instance each
/// hotplug parent needs and that is not enabled yet, escaped as systemd wants it.
#[test]
fn validate_names_the_parent_units_to_enable() {
    let Some(lab) = Lab::new() else { return };
    lab.config(
        "[global]\nhotplug-parents = ens8 br-lan usb0\n\n[macvlan a]\nparent = ens8\n\n\
         [macvlan b]\nparent = br-lan\n\n[macvlan c]\nparent = usb0\n",
    );
    let root = lab.dir.join("root");
    let validate = || {
        let config = lab.dir.join("underlay.conf");
        common::Run::from(
            lab.command(&["-c", config.to_str().unwrap(), "validate"])
                .env("UNDERLAY_SYSTEMD_ROOT", &root)
                .output()
                .unwrap(),
        )
    };
    // Not booted with systemd: nothing to say.
    std::fs::create_dir_all(&root).unwrap();
    assert_eq!(validate().stdout.lines().count(), 1, "{:?}", validate());
    // Booted with systemd, usb0's instance enabled (as `systemctl enable` links it).
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
    let wants = root.join("etc/systemd/system/sys-subsystem-net-devices-usb0.device.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/underlay-parent@.service",
        wants.join("underlay-parent@usb0.service"),
    )
    .unwrap();
    let run = validate();
    assert_eq!(run.code, 0, "{run:?}");
    let hints: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(
        hints,
        [
            "ens8 is a hotplug parent: run `systemctl enable underlay-parent@ens8.service` so that its links are made when it appears",
            "br-lan is a hotplug parent: run `systemctl enable 'underlay-parent@br\\x2dlan.service'` so that its links are made when it appears",
        ],
        "{run:?}"
    );
}
