//! Arbitrary bytes as what the kernel sends: an `RTM_NEWLINK` payload through `link::decode` and
//! the snapshot's `LiveLink::from_message` (which decodes the kind's data once), every kind's
//! `IFLA_INFO_DATA` decoder, and a whole datagram through `split_messages` and `parse_ack`.
//! Malformed input must be an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use underlay::kinds::KINDS;
use underlay::live::{LiveKind, LiveLink};
use underlay::netlink;

const NLMSG_ERROR: u16 = 2;

fn decode_link(payload: &[u8]) {
    if let Ok(message) = netlink::link::decode(payload) {
        let live = LiveLink::from_message(&message);
        let _ = live.name.to_string();
        if let LiveKind::Known {
            settings: Ok(settings),
            ..
        } = &live.kind
        {
            let _ = settings.summary();
            let _ = settings.compare(&**settings);
        }
        for kind in KINDS {
            if let Ok(settings) = kind.codec.decode(message.info_data) {
                let _ = settings.summary();
                let _ = settings.compare(&*settings);
            }
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    decode_link(bytes);
    // Every kind's decoder straight on the input too, as if it were IFLA_INFO_DATA.
    for kind in KINDS {
        let _ = kind.codec.decode(bytes);
    }
    if let Ok(messages) = netlink::split_messages(bytes) {
        for msg in &messages {
            if msg.kind == NLMSG_ERROR {
                let _ = netlink::parse_ack(&msg.borrowed());
            } else {
                decode_link(&msg.payload);
            }
        }
    }
});
