//! Crash safety and faults on the real kernel: runs killed at random points, concurrent runs,
//! the kernel refusing one link halfway through, big link tables, forged netlink replies and
//! signals while waiting.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Run, field, sh};

/// The lab's link names, sorted.
fn names(lab: &Lab) -> BTreeSet<String> {
    lab.names().into_iter().collect()
}

/// A tiny xorshift, so kill points vary from run to run but need no dependency.
fn random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn config_of(count: usize) -> String {
    let mut text = String::from("[global]\nwait = 0\n");
    for i in 0..count {
        text.push_str(&format!("\n[macvlan m{i}]\nparent = vp0\nmode = bridge\n"));
    }
    text
}

#[test]
fn killed_applies_always_converge_and_down_leaves_only_foreign_links() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "foreign0", "type", "macvlan", "mode", "bridge",
    ]);
    let before = names(&lab);
    let path = lab.config(&config_of(100));
    let mut seed = std::process::id() as u64 | 1;
    // How long a whole apply takes on this machine, so the kills land inside one.
    let mut took = Duration::ZERO;
    for _ in 0..2 {
        let t = Instant::now();
        assert_eq!(lab.underlay(&["-q", "apply"]).code, 0);
        took += t.elapsed();
        assert_eq!(lab.underlay(&["-q", "down"]).code, 0);
    }
    let window = (took / 2).as_micros().max(1000) as u64;
    let (mut kills, mut partial) = (0, 0);
    for round in 0..20 {
        // Anywhere from process start to the end of a typical run. A run that finished before
        // the kill is simply a finished apply; try again sooner until the kill lands, so every
        // round really kills one (no statistics that a busy machine could upset).
        let mut delay = random(&mut seed) % window;
        loop {
            let mut child = lab
                .command(&["-q", "-c", &path, "apply"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(delay));
            let _ = child.kill();
            if child.wait().unwrap().code().is_none() {
                kills += 1;
                break;
            }
            delay /= 2;
        }
        let made = names(&lab).len() - before.len();
        partial += usize::from(made > 0 && made < 100);

        // A fresh apply converges...
        let run = lab.underlay(&["apply"]);
        assert_eq!(run.code, 0, "round {round}: {run:?}");
        assert_eq!(lab.underlay(&["check"]).code, 0, "round {round}");
        assert_eq!(names(&lab).len(), before.len() + 100, "round {round}");
        // ... and down leaves exactly what was there before, the foreign macvlan included.
        let run = lab.underlay(&["down"]);
        assert_eq!(run.code, 0, "round {round}: {run:?}");
        assert_eq!(
            names(&lab),
            before,
            "round {round}: down left or took the wrong links"
        );
    }
    eprintln!(
        "crash safety: {kills} of 20 applies killed by SIGKILL ({partial} mid-way through the links), 0 leaks; \
         a whole apply takes {} ms here",
        window / 1000
    );
    assert_eq!(kills, 20, "every round kills a running apply");
}

#[test]
fn a_link_the_kernel_refuses_fails_alone() {
    let Some(lab) = Lab::new() else { return };
    // Someone gave vp1 the alternative name `big0`: the kernel refuses a new link by that name
    // (File exists), which nothing underlay reads beforehand can foresee.
    lab.ip(&["link", "property", "add", "dev", "vp1", "altname", "big0"]);
    lab.config("[macvlan ok0]\nparent = vp0\n\n[macvlan big0]\nparent = vp0\n\n[macvlan ok1]\nparent = vp0\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("error: could not create macvlan big0 (parent vp0, mode bridge, mac "),
        "{run:?}"
    );
    assert!(
        lab.link("ok0").is_some() && lab.link("ok1").is_some(),
        "the rest proceeds"
    );
    assert!(
        lab.ip(&["-o", "link", "show"])
            .lines()
            .all(|l| !l.contains(": big0")),
        "either fully applied or never created"
    );
    // Nothing half-made is recorded: down removes the two that exist and nothing else.
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(lab.link("ok0").is_none() && lab.link("ok1").is_none());
    assert!(lab.link("vp1").is_some());
    // Once the name is free, the next run finishes the job.
    lab.ip(&["link", "property", "del", "dev", "vp1", "altname", "big0"]);
    lab.config("[macvlan ok0]\nparent = vp0\n\n[macvlan big0]\nparent = vp0\nmtu = 1400\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    assert_eq!(
        field(&lab.link("big0").unwrap(), "mtu").as_deref(),
        Some("1400")
    );
}

/// A link whose MTU would be above its parent's, where underlay does not manage the parent,
/// stops the run before any change, naming the parent and its MTU.
#[test]
fn an_mtu_above_an_unmanaged_parents_stops_the_run_before_any_change() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan ok0]\nparent = vp0\n\n[macvlan big0]\nparent = vp0\nmtu = 9000\n");
    for args in [&["apply", "--dry-run"][..], &["apply"][..]] {
        let run = lab.underlay(args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.contains(
                "error: macvlan big0 needs mtu 9000, but its parent vp0 has mtu 1500, and underlay does not change a parent it did not make; raise vp0's mtu"
            ),
            "{run:?}"
        );
    }
    assert!(lab.link("ok0").is_none(), "nothing was changed");
}

#[test]
fn concurrent_runs_serialize_on_the_lock() {
    let Some(lab) = Lab::new() else { return };
    let path = lab.config(&config_of(60));
    let spawn = |args: &[&str]| {
        let mut full = vec!["-c", path.as_str()];
        full.extend_from_slice(args);
        lab.command(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Two applies at once: both succeed, the links exist once.
    let (a, b) = (spawn(&["apply"]), spawn(&["apply"]));
    let (a, b) = (
        Run::from(a.wait_with_output().unwrap()),
        Run::from(b.wait_with_output().unwrap()),
    );
    assert_eq!((a.code, b.code), (0, 0), "{a:?}\n{b:?}");
    let created =
        a.stdout.matches("created macvlan").count() + b.stdout.matches("created macvlan").count();
    assert_eq!(
        created, 60,
        "each link created by exactly one of the two runs"
    );
    assert_eq!(lab.underlay(&["check"]).code, 0);
    // apply and down at once: the end state is one of the two, never a mix.
    for _ in 0..5 {
        let (a, d) = (spawn(&["apply"]), spawn(&["down"]));
        let (a, d) = (
            Run::from(a.wait_with_output().unwrap()),
            Run::from(d.wait_with_output().unwrap()),
        );
        assert_eq!((a.code, d.code), (0, 0), "{a:?}\n{d:?}");
        let ours = names(&lab).iter().filter(|n| n.starts_with('m')).count();
        assert!(ours == 0 || ours == 60, "a mix of {ours} links");
    }
}

#[test]
fn a_table_of_thousands_of_links_is_read_whole() {
    let Some(lab) = Lab::new() else { return };
    let batch: String = (0..2100)
        .map(|i| format!("link add link vp0 name x{i} type macvlan mode bridge\n"))
        .collect();
    let file = lab.dir.join("batch");
    std::fs::write(&file, batch).unwrap();
    sh(&["ip", "-n", &lab.ns, "-batch", file.to_str().unwrap()]);
    let index = common::ifindex(&lab, "x2099");
    lab.config("[macvlan mv0]\nparent = vp0\n\n[macvlan x2099]\nparent = vp0\nmac = random\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    // x2099 is among the last links of a multi-part dump: found and adopted (and set up), not
    // created again.
    assert!(!run.stdout.contains("created macvlan x2099"), "{run:?}");
    assert_eq!(common::ifindex(&lab, "x2099"), index);
    assert!(run.stdout.contains("created macvlan mv0"), "{run:?}");
    assert_eq!(lab.underlay(&["check"]).code, 0);
}

#[test]
fn forged_replies_from_other_sockets_are_ignored() {
    let Some(_lab) = Lab::new() else { return };
    use underlay::netlink::{Rtnl, link};
    let mut rtnl = Rtnl::open().unwrap();
    let next = rtnl.next_sequence();
    // Another netlink socket (any process could do this) sends "our" port an error and a DONE
    // with the sequence number our dump is about to use.
    // SAFETY: plain socket calls on a descriptor owned by this test.
    unsafe {
        let fd = libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE);
        assert!(fd >= 0);
        let mut to: libc::sockaddr_nl = std::mem::zeroed();
        to.nl_family = libc::AF_NETLINK as u16;
        to.nl_pid = rtnl.port();
        for (kind, errno) in [(2u16, -(libc::EPERM)), (3u16, 0)] {
            let mut msg = Vec::new();
            msg.extend_from_slice(&36u32.to_ne_bytes());
            msg.extend_from_slice(&kind.to_ne_bytes());
            msg.extend_from_slice(&0u16.to_ne_bytes());
            msg.extend_from_slice(&next.to_ne_bytes());
            msg.extend_from_slice(&rtnl.port().to_ne_bytes());
            msg.extend_from_slice(&errno.to_ne_bytes());
            msg.extend_from_slice(&[0u8; 16]);
            let sent = libc::sendto(
                fd,
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&raw const to).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            );
            assert_eq!(
                sent,
                msg.len() as isize,
                "{}",
                std::io::Error::last_os_error()
            );
        }
        libc::close(fd);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let links = rtnl
        .dump(
            &link::dump_request().unwrap(),
            neli::consts::rtnl::Rtm::Newlink,
            deadline,
        )
        .expect("the forged error was ignored");
    assert!(
        links.len() >= 2,
        "the forged DONE was ignored too: got {} links",
        links.len()
    );
}

#[test]
fn stopping_a_waiting_apply_and_overflowing_its_events_is_harmless() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[global]\nwait = 20\n\n[macvlan late0]\nparent = vlate\n");
    let child = lab
        .command(&[
            "-v",
            "-c",
            lab.dir.join("underlay.conf").to_str().unwrap(),
            "apply",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    std::thread::sleep(Duration::from_millis(400));
    // SIGSTOP/SIGCONT interrupt the poll; it must carry on waiting.
    for _ in 0..3 {
        sh(&["kill", "-STOP", &pid]);
        std::thread::sleep(Duration::from_millis(100));
        sh(&["kill", "-CONT", &pid]);
        std::thread::sleep(Duration::from_millis(100));
    }
    // An event storm while it is stopped, so its event socket overflows (ENOBUFS): the parent
    // appears amid two thousand other links (more events than even a 2 MiB socket
    // buffer holds), and must still be found, by a fresh dump.
    sh(&["kill", "-STOP", &pid]);
    let batch: String = (0..1000)
        .map(|i| format!("link add s{i} type veth peer name t{i}\n"))
        .chain(std::iter::once(
            "link add vlate type veth peer name vlate1\n".to_string(),
        ))
        .collect();
    let file = lab.dir.join("storm");
    std::fs::write(&file, batch).unwrap();
    Command::new("ip")
        .args(["-n", &lab.ns, "-batch", file.to_str().unwrap()])
        .status()
        .unwrap();
    sh(&["kill", "-CONT", &pid]);
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(lab.link("late0").is_some());
    assert!(
        run.stderr.contains("link events were lost"),
        "the storm did not overflow the event socket, so the re-dump went untested: {run:?}"
    );
}

/// The namespaces underlay made under /var/run/netns whose names start with `prefix`.
fn namespaces_with(prefix: &str) -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Run underlay with `args` and kill it after `delay`, sooner each time it finished first, until
/// a kill lands on a running process.
fn kill_while_running(lab: &Lab, path: &str, args: &[&str], mut delay: u64) {
    loop {
        let mut full = vec!["-q", "-c", path];
        full.extend_from_slice(args);
        let mut child = lab
            .command(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        if child.wait().unwrap().code().is_none() {
            return;
        }
        delay /= 2;
    }
}

/// Namespaces are made and deleted with the links: 20 applies and 20 downs killed at random
/// points, each followed by a full run, leave no namespace, placeholder or link behind, and
/// never touch a foreign link or namespace.
#[test]
fn killed_applies_and_downs_with_namespaces_leak_nothing() {
    let Some(lab) = Lab::new() else { return };
    let prefix = format!("uk{}x", std::process::id());
    let theirs = format!("{prefix}theirs");
    sh(&["ip", "netns", "add", &theirs]);
    sh(&[
        "ip", "-n", &theirs, "link", "add", "keep0", "type", "veth", "peer", "name", "keep1",
    ]);
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "foreign0", "type", "macvlan", "mode", "bridge",
    ]);
    let mut text = String::from("[global]\nwait = 0\n");
    for i in 0..30 {
        text.push_str(&format!("[macvlan h{i}]\nparent = vp0\n"));
    }
    for i in 0..10 {
        text.push_str(&format!(
            "[macvlan n{i}]\nparent = vp0\nnetns = {prefix}{i}\naddress = 10.77.{i}.1/24\n"
        ));
    }
    let path = lab.config(&text);
    let links_before = names(&lab);
    let mut seed = std::process::id() as u64 | 1;
    let mut took = Duration::ZERO;
    for _ in 0..2 {
        let t = Instant::now();
        assert_eq!(lab.underlay(&["-q", "apply"]).code, 0);
        took += t.elapsed();
        assert_eq!(lab.underlay(&["-q", "down"]).code, 0);
    }
    let window = (took / 2).as_micros().max(1000) as u64;
    for round in 0..20 {
        kill_while_running(&lab, &path, &["apply"], random(&mut seed) % window);
        let run = lab.underlay(&["apply"]);
        assert_eq!(run.code, 0, "round {round}, after a killed apply: {run:?}");
        assert_eq!(lab.underlay(&["check"]).code, 0, "round {round}");
        assert_eq!(namespaces_with(&prefix).len(), 11, "round {round}");

        kill_while_running(&lab, &path, &["down"], random(&mut seed) % window);
        let run = lab.underlay(&["down"]);
        assert_eq!(run.code, 0, "round {round}, after a killed down: {run:?}");
        assert_eq!(
            names(&lab),
            links_before,
            "round {round}: links left or taken"
        );
        assert_eq!(
            namespaces_with(&prefix),
            BTreeSet::from([theirs.clone()]),
            "round {round}: namespaces left or taken"
        );
        let kept = sh(&["ip", "-n", &theirs, "-o", "link", "show"]);
        assert!(kept.contains("keep0"), "round {round}: {kept}");
    }
    sh(&["ip", "netns", "del", &theirs]);
    eprintln!("crash safety with namespaces: 20 applies and 20 downs killed, 0 leaks");
}

#[test]
fn a_group_dump_keeps_exactly_the_links_in_that_group() {
    // What `down` reads right before deleting a netdev group: the links in it now, nothing else.
    let Some(lab) = Lab::new() else { return };
    for (name, group) in [("g1", "7"), ("g2", "7"), ("g3", "8")] {
        lab.ip(&["link", "add", name, "link", "vp0", "type", "macvlan"]);
        lab.ip(&["link", "set", name, "group", group]);
    }
    let ns = lab.ns.clone();
    let in_group = std::thread::spawn(move || {
        // setns moves this thread only; the socket it opens lives in the lab's namespace.
        let file = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut rtnl = underlay::netlink::Rtnl::open().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut names = |group| {
            underlay::live::Snapshot::in_group(&mut rtnl, group, deadline)
                .unwrap()
                .iter()
                .map(|l| l.name.to_string())
                .collect::<BTreeSet<_>>()
        };
        [names(7), names(8), names(9)]
    })
    .join()
    .unwrap();
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(in_group, [set(&["g1", "g2"]), set(&["g3"]), set(&[])]);
}
