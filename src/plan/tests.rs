use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::config;
use crate::execute::{Executor, Outcome};
use crate::kinds::Attribute;
use crate::kinds::KindSettings;
use crate::kinds::macvlan::{MACVLAN, MacvlanSettings, Mode};
use crate::kinds::vlan::VLAN;
use crate::live::{LiveKind, NsView, Snapshot};
use crate::netlink::Rtnl;
use crate::record::Record;
use crate::report::{self, Tense};
use crate::sockets::Sockets;

const MACHINE_ID: [u8; 16] = [7; 16];

fn config(text: &str) -> Config {
    config::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn link(index: i32, name: &str, kind: LiveKind) -> LiveLink {
    LiveLink {
        index,
        name: name.into(),
        kind,
        parent: None,
        parent_elsewhere: None,
        kind_lower: None,
        kind_lower_netnsid: None,
        master: None,
        mtu: 1500,
        mac: None,
        permanent_mac: None,
        up: true,
        group: 0,
    }
}

fn nic(index: i32, name: &str) -> LiveLink {
    let mut l = link(index, name, LiveKind::Physical);
    l.mac = Some(MacAddr([0x52, 0x54, 0, 0, 0, index as u8]));
    l.permanent_mac = l.mac;
    l
}

fn known(settings: &dyn KindSettings, kind: &'static crate::kinds::Kind) -> LiveKind {
    let data = settings.create_data().unwrap().unwrap_or_default();
    LiveKind::Known {
        kind,
        settings: Ok(Rc::from(kind.codec.decode(&data).unwrap())),
    }
}

fn macvlan(index: i32, name: &str, parent: i32, mode: Mode, mac: MacAddr) -> LiveLink {
    let settings = MacvlanSettings {
        mode,
        nopromisc: None,
        source_macs: None,
        bcqueuelen: None,
    };
    let mut l = link(index, name, known(&settings, &MACVLAN));
    l.parent = Some(parent);
    l.mac = Some(mac);
    l
}

fn stable(name: &str) -> MacAddr {
    mac::stable_mac(&MacSeed::MachineId(MACHINE_ID), name)
}

fn empty_record() -> Record {
    let dir = std::env::temp_dir().join("underlay-plan-tests-nonexistent");
    Record::load(&dir).unwrap()
}

fn owned(record: &mut Record, l: &LiveLink) {
    record.add(Owned {
        name: l.name.to_string(),
        index: l.index,
        kind: l.kind.name().unwrap().to_string(),
        parent: l.parent.unwrap_or(0),
        netns: None,
    });
}

fn world_of(live: &Snapshot) -> World {
    World {
        host: NsView {
            links: live.clone(),
            ..NsView::default()
        },
        ..World::default()
    }
}

fn plan_of(config: &Config, live: &Snapshot, record: &Record) -> Plan {
    plan_scoped(config, live, record, None)
}

fn plan_scoped(config: &Config, live: &Snapshot, record: &Record, scope: Option<&str>) -> Plan {
    let world = world_of(live);
    make(&Inputs {
        config,
        world: &world,
        record,
        machine_id: Some(MACHINE_ID),
        scope,
        random_mac: &|| MacAddr([2, 0, 0, 0, 0, 0x99]),
    })
}

/// What `apply --dry-run` (and `check`) would say about `plan`: the executor's own lines, in
/// the "would" tense, nothing sent.
fn lines(plan: &Plan, config: &Config, live: &Snapshot, record: &Record) -> Vec<String> {
    let world = world_of(live);
    let mut record = record.clone();
    let mut sockets = Sockets::new(Rtnl::open().unwrap()).unwrap();
    let (result, lines) = report::capture(|| {
        Executor {
            sockets: &mut sockets,
            record: &mut record,
            config: Some(config),
            world: &world,
            deadline: Instant::now() + Duration::from_secs(5),
            tense: Tense::Would,
            outcome: Outcome::default(),
        }
        .run(plan)
    });
    result.unwrap();
    lines
}

fn action<'a>(plan: &'a Plan, config: &Config, name: &str) -> &'a Action {
    &plan
        .links
        .iter()
        .find(|l| config.links[l.decl].name == name)
        .unwrap()
        .action
}

#[test]
fn creates_parents_first_with_planned_indexes() {
    let c = config("[macvlan mv0]\nparent = eth0.10\n");
    let live = Snapshot::from_links([nic(1, "lo"), nic(2, "eth0")]);
    let plan = plan_of(&c, &live, &empty_record());
    match action(&plan, &c, "eth0.10") {
        Action::Create { index, parent, mac } => {
            assert_eq!(
                (*index, *parent, *mac),
                (FIRST_OWN_INDEX, Some(2), NewMac::Kernel)
            );
        }
        other => panic!("{other:?}"),
    }
    match action(&plan, &c, "mv0") {
        Action::Create { index, parent, mac } => {
            assert_eq!(
                (*index, *parent),
                (FIRST_OWN_INDEX + 1, Some(FIRST_OWN_INDEX))
            );
            assert_eq!(*mac, NewMac::Chosen(stable("mv0")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        plan.links.iter().map(|l| l.depth).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(
        lines(&plan, &c, &live, &empty_record()),
        [
            "would create vlan eth0.10 (parent eth0, id 10, implied by a PARENT.ID parent)"
                .to_string(),
            format!(
                "would create macvlan mv0 (parent eth0.10, mode bridge, mac {})",
                stable("mv0")
            )
        ]
    );
}

#[test]
fn new_indexes_never_reuse_recorded_ones() {
    let c = config("[dummy d]\n");
    let live = Snapshot::from_links([nic(1, "lo")]);
    let mut record = empty_record();
    record.add(Owned {
        name: "old".into(),
        index: FIRST_OWN_INDEX + 50,
        kind: "dummy".into(),
        parent: 0,
        netns: None,
    });
    match action(&plan_of(&c, &live, &record), &c, "d") {
        Action::Create { index, .. } => assert_eq!(*index, FIRST_OWN_INDEX + 51),
        other => panic!("{other:?}"),
    }
}

#[test]
fn matching_links_are_in_sync_and_adopted_when_foreign() {
    let c = config("[macvlan mv0]\nparent = eth0\n");
    let mv = macvlan(5, "mv0", 2, Mode::Bridge, stable("mv0"));
    let live = Snapshot::from_links([nic(2, "eth0"), mv.clone()]);
    let plan = plan_of(&c, &live, &empty_record());
    assert!(matches!(
        action(&plan, &c, "mv0"),
        Action::InSync {
            index: 5,
            adopted: true
        }
    ));
    let mut record = empty_record();
    owned(&mut record, &mv);
    let plan = plan_of(&c, &live, &record);
    assert!(matches!(
        action(&plan, &c, "mv0"),
        Action::InSync {
            index: 5,
            adopted: false
        }
    ));
    assert!(plan.is_noop());
    assert!(lines(&plan, &c, &live, &record).is_empty());
}

#[test]
fn mutable_differences_change_in_place_even_on_adopted_links() {
    let c = config("[macvlan mv0]\nparent = eth0\nmtu = 1400\n");
    let live = Snapshot::from_links([
        nic(2, "eth0"),
        macvlan(5, "mv0", 2, Mode::Vepa, stable("mv0")),
    ]);
    let plan = plan_of(&c, &live, &empty_record());
    match action(&plan, &c, "mv0") {
        Action::Change {
            index,
            diffs,
            change,
        } => {
            assert_eq!(*index, 5);
            assert_eq!(change.mtu, Some(1400));
            assert!(change.info.is_some());
            let attrs: Vec<Attribute> = diffs.iter().map(|d| d.attribute).collect();
            assert_eq!(attrs, [Attribute::Setting("mode"), Attribute::Mtu]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        lines(&plan, &c, &live, &empty_record()),
        ["would change macvlan mv0: mode vepa → bridge, mtu 1500 → 1400"]
    );
}

#[test]
fn immutable_differences_recreate_owned_links_and_refuse_foreign_ones() {
    let c = config("[macvlan mv0]\nparent = eth1\n");
    let mv = macvlan(5, "mv0", 2, Mode::Bridge, stable("mv0"));
    let live = Snapshot::from_links([nic(2, "eth0"), nic(3, "eth1"), mv.clone()]);
    let plan = plan_of(&c, &live, &empty_record());
    match action(&plan, &c, "mv0") {
        Action::Conflict { diffs } => assert_eq!(report::changes(diffs), "parent eth0 → eth1"),
        other => panic!("{other:?}"),
    }
    let mut record = empty_record();
    owned(&mut record, &mv);
    match action(&plan_of(&c, &live, &record), &c, "mv0") {
        Action::Recreate {
            old, index, parent, ..
        } => assert_eq!((*old, *index, *parent), (5, FIRST_OWN_INDEX, Some(3))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_foreign_link_of_another_kind_is_a_conflict() {
    let c = config("[macvlan eth1]\nparent = eth0\n");
    let live = Snapshot::from_links([nic(2, "eth0"), nic(3, "eth1")]);
    match action(&plan_of(&c, &live, &empty_record()), &c, "eth1") {
        Action::Conflict { diffs } => assert_eq!(diffs[0].attribute, Attribute::Kind),
        other => panic!("{other:?}"),
    }
}

#[test]
fn recreation_is_refused_when_a_foreign_link_sits_on_top() {
    let c = config("[vlan eth0.10]\nprotocol = 802.1ad\n");
    let plain = config("[vlan eth0.10]\n");
    let mut v = link(5, "eth0.10", known(plain.links[0].settings.as_ref(), &VLAN));
    v.parent = Some(2);
    let foreign = macvlan(6, "theirs", 5, Mode::Bridge, MacAddr([2, 0, 0, 0, 0, 6]));
    let live = Snapshot::from_links([nic(2, "eth0"), v.clone(), foreign]);
    let mut record = empty_record();
    owned(&mut record, &v);
    let plan = plan_of(&c, &live, &record);
    match action(&plan, &c, "eth0.10") {
        Action::Blocked(Blocked::Guarded { guard, .. }) => assert_eq!(guard.upper, "theirs"),
        other => panic!("{other:?}"),
    }
    assert!(plan.removals.is_empty(), "nothing is deleted");
    assert_eq!(
        lines(&plan, &c, &live, &record),
        [
            "would skip vlan eth0.10: it must be re-created (protocol 802.1q → 802.1ad), but the \
          foreign link theirs sits on it and would be deleted with it; remove theirs first"
        ]
    );
}

#[test]
fn missing_parents_block_their_children() {
    let c = config("[macvlan mv0]\nparent = eth9\n[vlan mv1]\nparent = mv0\nid = 5\n");
    let live = Snapshot::from_links([nic(2, "eth0")]);
    let plan = plan_of(&c, &live, &empty_record());
    assert!(matches!(
        action(&plan, &c, "mv0"),
        Action::Blocked(Blocked::ParentMissing { parent }) if parent == "eth9"
    ));
    assert!(matches!(
        action(&plan, &c, "mv1"),
        Action::Blocked(Blocked::ParentBlocked { parent, later: false }) if parent == "mv0"
    ));
    assert_eq!(external_parents(&c, None, &live), ["eth9"]);
    assert_eq!(
        lines(&plan, &c, &live, &empty_record()),
        [
            "would skip macvlan mv0: parent eth9 does not exist",
            "would skip vlan mv1: parent mv0 is not set up"
        ]
    );
}

#[test]
fn existing_implicit_parents_are_used_not_managed() {
    let c = config("[macvlan mv0]\nparent = eth0.10\n");
    let mut v = link(7, "eth0.10", LiveKind::Other("veth".into()));
    v.parent = Some(2);
    let live = Snapshot::from_links([nic(2, "eth0"), v]);
    let plan = plan_of(&c, &live, &empty_record());
    assert!(matches!(
        action(&plan, &c, "eth0.10"),
        Action::External { index: 7 }
    ));
    // It is used as it is: its own parent need not exist.
    let without_eth0 = Snapshot::from_links([live.by_name("eth0.10").unwrap().clone()]);
    assert!(external_parents(&c, None, &without_eth0).is_empty());
    assert!(matches!(
        action(&plan_of(&c, &without_eth0, &empty_record()), &c, "mv0"),
        Action::Create {
            parent: Some(7),
            ..
        }
    ));
    assert!(matches!(
        action(&plan, &c, "mv0"),
        Action::Create {
            parent: Some(7),
            ..
        }
    ));
}

#[test]
fn undeclared_owned_links_are_removed_unless_something_foreign_sits_on_them() {
    let c = config("[dummy keep]\n");
    let gone = macvlan(5, "gone", 2, Mode::Bridge, MacAddr([2, 0, 0, 0, 0, 5]));
    let base = macvlan(6, "base", 2, Mode::Bridge, MacAddr([2, 0, 0, 0, 0, 6]));
    let on_top = macvlan(7, "theirs", 6, Mode::Bridge, MacAddr([2, 0, 0, 0, 0, 7]));
    let live = Snapshot::from_links([nic(2, "eth0"), gone.clone(), base.clone(), on_top]);
    let mut record = empty_record();
    owned(&mut record, &gone);
    owned(&mut record, &base);
    let plan = plan_of(&c, &live, &record);
    assert_eq!(plan.removals.len(), 2);
    let gone_removal = plan
        .removals
        .iter()
        .find(|r| r.owned.name == "gone")
        .unwrap();
    assert!(gone_removal.blocked.is_none());
    let base_removal = plan
        .removals
        .iter()
        .find(|r| r.owned.name == "base")
        .unwrap();
    assert_eq!(base_removal.blocked.as_ref().unwrap().upper, "theirs");
    assert_eq!(
        lines(&plan, &c, &live, &record),
        [
            "would keep macvlan base: the foreign link theirs sits on it and would be deleted \
             with it; remove theirs first, or keep base in the config"
                .to_string(),
            "would delete macvlan gone (no longer declared)".to_string(),
            format!("would create dummy keep (mac {})", stable("keep"))
        ]
    );
    // A scoped run (--parent) never removes anything.
    assert!(
        plan_scoped(&c, &live, &record, Some("eth0"))
            .removals
            .is_empty()
    );
}

#[test]
fn scope_limits_the_plan_to_links_on_the_parent() {
    let c = config(
        "[macvlan a]\nparent = eth0\n[macvlan b]\nparent = eth1\n[vlan c]\nparent = b\nid = 5\n",
    );
    let live = Snapshot::from_links([nic(2, "eth0"), nic(3, "eth1")]);
    let plan = plan_scoped(&c, &live, &empty_record(), Some("eth1"));
    let names: Vec<&str> = plan
        .links
        .iter()
        .map(|l| c.links[l.decl].name.as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(external_parents(&c, Some("eth1"), &live), ["eth1"]);
}

#[test]
fn down_parents_are_brought_up_for_children() {
    let c = config("[macvlan mv0]\nparent = eth0\n[macvlan mv1]\nparent = eth0\nup = no\n");
    let mut eth0 = nic(2, "eth0");
    eth0.up = false;
    let plan = plan_of(&c, &Snapshot::from_links([eth0]), &empty_record());
    assert_eq!(plan.parent_ups.len(), 1);
    assert_eq!(
        (
            plan.parent_ups[0].name.as_str(),
            plan.parent_ups[0].child.as_str()
        ),
        ("eth0", "mv0")
    );
}

#[test]
fn stable_macs_come_from_the_root_nic_without_a_machine_id() {
    let c = config("[macvlan mv0]\nparent = eth0.10\n");
    let live = Snapshot::from_links([nic(2, "eth0")]);
    let world = world_of(&live);
    let plan = make(&Inputs {
        config: &c,
        world: &world,
        record: &empty_record(),
        machine_id: None,
        scope: None,
        random_mac: &|| MacAddr([2, 0, 0, 0, 0, 0x99]),
    });
    let expected = mac::stable_mac(
        &MacSeed::ParentMac(MacAddr([0x52, 0x54, 0, 0, 0, 2])),
        "mv0",
    );
    assert!(
        matches!(action(&plan, &c, "mv0"), Action::Create { mac: NewMac::Chosen(m), .. } if *m == expected)
    );
}

#[test]
fn adopted_links_keep_their_mac_unless_the_config_names_one() {
    let mv = macvlan(5, "mv0", 2, Mode::Bridge, MacAddr([2, 0, 0, 0, 0, 0x42]));
    let live = Snapshot::from_links([nic(2, "eth0"), mv.clone()]);
    let c = config("[macvlan mv0]\nparent = eth0\n");
    assert!(matches!(
        action(&plan_of(&c, &live, &empty_record()), &c, "mv0"),
        Action::InSync { adopted: true, .. }
    ));
    let c = config("[macvlan mv0]\nparent = eth0\nmac = stable\n");
    assert!(matches!(
        action(&plan_of(&c, &live, &empty_record()), &c, "mv0"),
        Action::Change { .. }
    ));
    // underlay's own link gets its stable MAC back whatever the config says.
    let c = config("[macvlan mv0]\nparent = eth0\n");
    let mut record = empty_record();
    owned(&mut record, &mv);
    assert!(matches!(
        action(&plan_of(&c, &live, &record), &c, "mv0"),
        Action::Change { .. }
    ));
}

#[test]
fn links_on_a_missing_hotplug_parent_wait_without_failing() {
    let c = config(
        "[global]\nhotplug-parents = usb0\n[vlan usb0.5]\n[macvlan mv0]\nparent = usb0.5\n[macvlan mv1]\nparent = eth9\n",
    );
    let live = Snapshot::from_links([nic(1, "lo")]);
    let plan = plan_of(&c, &live, &empty_record());
    let later = |name| match action(&plan, &c, name) {
        Action::Blocked(b) => b.is_later(),
        other => panic!("{other:?}"),
    };
    assert!(later("usb0.5"));
    assert!(later("mv0"));
    assert!(!later("mv1"));
}

#[test]
fn random_macs_are_named_as_such() {
    let c = config("[macvlan mv0]\nparent = eth0\nmac = random\nmtu = 1400\nnetns = web\n");
    let live = Snapshot::from_links([nic(2, "eth0")]);
    let plan = plan_of(&c, &live, &empty_record());
    assert_eq!(
        lines(&plan, &c, &live, &empty_record()),
        [
            "would create netns web",
            "would create macvlan mv0 in netns web (parent eth0, mode bridge, mtu 1400, a random MAC)"
        ]
    );
}

#[test]
fn a_link_whose_kind_data_cannot_be_read_is_never_in_sync() {
    let c = config("[macvlan mv0]\nparent = eth0\n");
    let mut mv = macvlan(5, "mv0", 2, Mode::Bridge, stable("mv0"));
    mv.kind = LiveKind::Known {
        kind: &MACVLAN,
        settings: Err("malformed attributes".into()),
    };
    let live = Snapshot::from_links([nic(2, "eth0"), mv]);
    match action(&plan_of(&c, &live, &empty_record()), &c, "mv0") {
        Action::Conflict { diffs } => assert_eq!(
            report::changes(diffs),
            "settings unreadable (malformed attributes) → mode bridge"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_an_older_kernel_lacks_is_said_and_never_sent() {
    // A 5.10 kernel neither takes nor reports bcqueuelen: the live macvlan has none.
    let c = config("[macvlan mv0]\nparent = eth0\nbcqueuelen = 1000\n");
    let live = Snapshot::from_links([
        nic(2, "eth0"),
        macvlan(5, "mv0", 2, Mode::Bridge, stable("mv0")),
    ]);
    let mut record = empty_record();
    owned(&mut record, live.by_name("mv0").unwrap());
    let plan = plan_of(&c, &live, &record);
    let lp = plan
        .links
        .iter()
        .find(|l| c.links[l.decl].name == "mv0")
        .unwrap();
    assert!(
        matches!(lp.action, Action::InSync { .. }),
        "{:?}",
        lp.action
    );
    assert_eq!(lp.unsupported.len(), 1);
    assert_eq!(lp.unsupported[0].fix, Fix::NeedsKernel("5.11"));
    assert!(plan.is_noop(), "nothing to send, so check stays clean");
    let said = lines(&plan, &c, &live, &record);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("warning: this kernel (")
            && said[0].ends_with("does not have bcqueuelen for macvlan: mv0 runs without bcqueuelen 1000; it needs Linux 5.11"),
        "{said:?}"
    );
}
