//! Totals for `nodebgp decode --summary`, for dumps too large to read message by message.

use std::collections::BTreeMap;

use bgp_wire::{DecodeError, Family, Message, MpNlri, Received};
use serde_json::{json, Value};

#[derive(Debug, Default)]
pub(crate) struct Summary {
    messages: u64,
    by_type: BTreeMap<String, u64>,
    announced: BTreeMap<String, u64>,
    withdrawn: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    input_errors: u64,
}

fn count(map: &mut BTreeMap<String, u64>, key: String, amount: u64) {
    if amount > 0 {
        *map.entry(key).or_default() += amount;
    }
}

impl Summary {
    pub(crate) fn add_received(&mut self, received: &Received) {
        self.messages += 1;
        count(
            &mut self.by_type,
            received.message.message_type().as_str().into(),
            1,
        );
        if let Message::Update(update) = &received.message {
            let ipv4 = Family::IPV4_UNICAST.to_string();
            count(
                &mut self.announced,
                ipv4.clone(),
                update.announced.len() as u64,
            );
            count(&mut self.withdrawn, ipv4, update.withdrawn.len() as u64);
            let prefixes = |nlri: &MpNlri| nlri.prefixes().len() as u64;
            if let Some(reach) = update.mp_reach() {
                count(
                    &mut self.announced,
                    reach.family.to_string(),
                    prefixes(&reach.nlri),
                );
            }
            if let Some(unreach) = update.mp_unreach() {
                count(
                    &mut self.withdrawn,
                    unreach.family.to_string(),
                    prefixes(&unreach.nlri),
                );
            }
        }
        if let Some(error) = received.governing_error() {
            let key = format!("3/{} {}", error.subcode as u8, error.treatment.as_str());
            count(&mut self.errors, key, 1);
        }
    }

    pub(crate) fn add_failed(&mut self, error: &DecodeError, message_type: Option<&str>) {
        self.messages += 1;
        count(
            &mut self.by_type,
            message_type.unwrap_or("invalid header").into(),
            1,
        );
        let notification = error.notification();
        let key = format!(
            "{}/{} session-reset",
            notification.code.0, notification.subcode
        );
        count(&mut self.errors, key, 1);
    }

    pub(crate) fn add_input_error(&mut self) {
        self.input_errors += 1;
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "messages": self.messages,
            "by_type": self.by_type,
            "prefixes_announced": self.announced,
            "prefixes_withdrawn": self.withdrawn,
            "errors": self.errors,
            "input_errors": self.input_errors,
        })
    }
}
