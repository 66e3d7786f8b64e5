//! Arbitrary bytes as the kernel's address and route messages: an `RTM_NEWADDR` or
//! `RTM_NEWROUTE` payload through `addr::decode` and `route::decode`, and a whole datagram
//! through `split_messages`. Malformed input must be an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use underlay::netlink::{self, addr, route};

const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

fuzz_target!(|bytes: &[u8]| {
    let _ = addr::decode(bytes);
    let _ = route::decode(bytes);
    if let Ok(messages) = netlink::split_messages(bytes) {
        for msg in &messages {
            match msg.kind {
                RTM_NEWADDR => {
                    let _ = addr::decode(&msg.payload);
                }
                RTM_NEWROUTE => {
                    let _ = route::decode(&msg.payload);
                }
                _ => {}
            }
        }
    }
});
