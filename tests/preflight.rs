//! What the kernel would refuse is refused first, before anything is deleted or made, with a
//! message that says what to change. On a real kernel, in a throwaway namespace.

mod common;

use common::{Lab, ifindex};

/// Switching a link to passthru while another macvlan (here someone else's) shares its parent
/// would delete the working link and then fail to make the new one. Refused first.
#[test]
fn passthru_beside_another_macvlan_keeps_the_working_link() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan a]\nparent = vp0\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    let index = ifindex(&lab, "a");
    lab.ip(&[
        "link", "add", "link", "vp0", "name", "theirs", "type", "macvlan",
    ]);
    lab.config("[macvlan a]\nparent = vp0\nmode = passthru\n");
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: skipped macvlan a: the kernel would refuse it: vp0 carries macvlan theirs, and a macvlan in passthru mode must be alone on its parent; give one of them another parent"
        ),
        "{run:?}"
    );
    assert_eq!(ifindex(&lab, "a"), index, "the working link is kept");
}

/// A fixed MAC another live link holds: refused before the link is made.
#[test]
fn a_mac_another_link_holds_is_refused_first() {
    let Some(lab) = Lab::new() else { return };
    lab.ip(&[
        "link",
        "add",
        "link",
        "vp0",
        "name",
        "theirs",
        "address",
        "02:00:00:00:00:77",
        "type",
        "macvlan",
    ]);
    lab.config("[macvlan mine]\nparent = vp0\nmac = 02:00:00:00:00:77\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: skipped macvlan mine: the kernel would refuse it: its MAC 02:00:00:00:00:77 is already theirs's; give it another `mac`"
        ),
        "{run:?}"
    );
    assert!(lab.link("mine").is_none());
}

/// `apply --parent X` makes X itself when the config declares it (the hotplug case: X was
/// deleted and comes back), not only what sits on it.
#[test]
fn apply_parent_includes_the_parent_itself() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan test1]\nparent = vp0\nmtu = 1400\n[macvlan other]\nparent = vp1\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.ip(&["link", "del", "test1"]);
    lab.ip(&["link", "del", "other"]);
    let run = lab.underlay(&["apply", "--parent", "test1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("created macvlan test1 (parent vp0, mode bridge, mtu 1400"),
        "{run:?}"
    );
    assert!(
        lab.link("other").is_none(),
        "only test1 and what sits on it"
    );
    // Nothing in the config is or sits on `nosuch`: done at once, silently.
    let run = lab.underlay(&["apply", "--parent", "nosuch"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}
