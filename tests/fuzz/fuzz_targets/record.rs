//! Arbitrary bytes as the ownership record: `Record::parse` must take it in or refuse it, never
//! panic, and whatever it takes in must be what underlay itself would write: every name a valid
//! interface name, every index in underlay's own range, every namespace name a plain file name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use underlay::plan::FIRST_OWN_INDEX;
use underlay::record::Record;
use underlay::syntax::values;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut record = Record::empty("fuzz".into());
    if record.parse(text).is_ok() {
        for link in record.links() {
            assert!(values::ifname(&link.name).is_ok(), "{:?}", link.name);
            assert!(link.index >= FIRST_OWN_INDEX, "{}", link.index);
            if let Some(ns) = &link.netns {
                assert!(!ns.contains('/') && ns != "." && ns != "..", "{ns:?}");
            }
        }
        for ns in &record.namespaces {
            assert!(!ns.name.contains('/'), "{:?}", ns.name);
        }
    }
});
