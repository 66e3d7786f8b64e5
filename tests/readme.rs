//! Every `ini` block in README.md is a config users will copy. Each must pass
//! `underlay validate`, and each one this kernel can build must apply cleanly, with `check`
//! exiting 0 afterwards.

mod common;

use std::process::Command;

use common::{Lab, nix_is_root};

fn readme_configs() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```ini") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        blocks.len() >= 7,
        "expected the reference, the seed examples and the shim, found {}",
        blocks.len()
    );
    blocks
}

#[test]
fn every_readme_config_validates() {
    let dir = std::env::temp_dir().join(format!("underlay-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, block) in readme_configs().iter().enumerate() {
        let path = dir.join(format!("example{i}.conf"));
        std::fs::write(&path, block).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_underlay"))
            .args(["-c", path.to_str().unwrap(), "validate"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README example {i} does not validate:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether the kernel can make links of `kind` (probed in the lab's namespace).
fn kernel_has(lab: &Lab, kind: &str) -> bool {
    let takes_parent = underlay::kinds::by_name(kind).is_some_and(|k| k.takes_parent);
    let mut args: Vec<&str> = vec!["link", "add"];
    if takes_parent {
        args.extend(["link", "vp0"]);
    }
    args.extend(["name", "kprobe", "type", kind]);
    if kind == "vlan" {
        args.extend(["id", "9"]);
    }
    let ok = Command::new("ip")
        .args(["-n", &lab.ns])
        .args(&args)
        .output()
        .unwrap()
        .status
        .success();
    if ok {
        lab.ip(&["link", "del", "kprobe"]);
    }
    ok
}

/// "would VERB REST" as a real run says it: "VERBED REST".
fn past_tense(line: &str) -> String {
    let Some(rest) = line.strip_prefix("would ") else {
        return line.to_string();
    };
    let (verb, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let past = match verb {
        "set" => "set",
        "leave" => "left",
        "keep" => "kept",
        "skip" => "skipped",
        v if v.ends_with('e') => return format!("{v}d {rest}"),
        v => return format!("{v}ed {rest}"),
    };
    format!("{past} {rest}")
}

/// Each README config this kernel can build: `apply --dry-run` prints exactly the lines the
/// `apply` after it prints, with "would " in front; then `check` is clean and `down` works.
#[test]
fn every_readme_config_the_kernel_supports_applies_and_checks_clean() {
    if !nix_is_root() {
        eprintln!("skipped: applying the README's configs needs root");
        return;
    }
    for (i, block) in readme_configs().iter().enumerate() {
        let Some(lab) = Lab::new() else { return };
        let config = underlay::config::parse(block.as_bytes()).unwrap();
        let missing: Vec<&str> = underlay::kinds::names()
            .into_iter()
            .filter(|k| config.links.iter().any(|l| l.kind.name == *k))
            .filter(|k| !kernel_has(&lab, k))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "README example {i}: not applied here, this kernel lacks {} (tests/vm covers it)",
                missing.join(", ")
            );
            continue;
        }
        // The examples' parents, as veth pairs; their namespaces, made unique to this run.
        for n in 0..4 {
            lab.ip(&[
                "link",
                "add",
                &format!("eth{n}"),
                "type",
                "veth",
                "peer",
                "name",
                &format!("peer{n}"),
            ]);
        }
        let prefix = format!("ur{}x{i}", std::process::id());
        let text: String = block
            .lines()
            .map(|l| match l.strip_prefix("netns = ") {
                Some(ns) => format!("netns = {prefix}{ns}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        lab.config(&text);
        let dry = lab.underlay(&["apply", "--dry-run"]);
        let apply = lab.underlay(&["apply"]);
        assert_eq!(dry.code, 0, "README example {i}: --dry-run:\n{dry:?}");
        // "would create X (...)" is what "created X (...)" will say.
        let planned: Vec<String> = dry.stdout.lines().map(past_tense).collect();
        let done: Vec<String> = apply.stdout.lines().map(str::to_string).collect();
        assert_eq!(
            planned, done,
            "README example {i}: --dry-run does not say what apply did:\n{block}"
        );
        assert!(!done.is_empty(), "README example {i}: apply said nothing");
        let check = lab.underlay(&["check"]);
        let down = lab.underlay(&["down"]);
        assert_eq!(
            apply.code, 0,
            "README example {i} did not apply:\n{block}\n{apply:?}"
        );
        assert_eq!(
            check.code, 0,
            "README example {i}: check after apply:\n{block}\n{check:?}"
        );
        assert_eq!(down.code, 0, "README example {i}: down:\n{down:?}");
        eprintln!("README example {i}: applied, checked clean, taken down");
    }
}
