//! UPDATEs sent alike on many sessions, encoded once.

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};

use crate::{CodecContext, Update};

/// UPDATE messages meant for several sessions at once (the members of an
/// update group): the first session to write them encodes them, the others
/// reuse its octets when their [`CodecContext`] is the same.
#[derive(Debug, Default)]
pub struct UpdateBatch {
    updates: Box<[Update]>,
    encoded: OnceLock<Encoded>,
}

/// The batch in one codec context.
#[derive(Debug)]
struct Encoded {
    context: CodecContext,
    /// `None` when an UPDATE does not encode in this context (attributes too
    /// large): the caller sends them one at a time to handle it.
    frames: Option<Frames>,
}

/// Consecutive messages, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    /// The messages, header and all, one after another.
    pub octets: Bytes,
    /// How many messages (an UPDATE too large for one is split).
    pub messages: usize,
}

impl UpdateBatch {
    /// A batch of these UPDATEs, in this order.
    pub fn new(updates: Vec<Update>) -> Self {
        UpdateBatch {
            updates: updates.into_boxed_slice(),
            encoded: OnceLock::new(),
        }
    }

    /// The UPDATEs.
    pub fn updates(&self) -> &[Update] {
        &self.updates
    }

    /// Whether the batch holds no UPDATE.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Every UPDATE encoded for `context`: the octets of the first session
    /// that asked in the same context, or encoded now (and kept when it is
    /// the first context asked for). `None` when one of them cannot be
    /// encoded; [`Update::encode`] then says why, one at a time.
    pub fn frames(&self, context: &CodecContext) -> Option<Frames> {
        let encoded = self.encoded.get_or_init(|| Encoded {
            context: context.clone(),
            frames: self.encode(context),
        });
        if encoded.context == *context {
            encoded.frames.clone()
        } else {
            self.encode(context)
        }
    }

    fn encode(&self, context: &CodecContext) -> Option<Frames> {
        let mut octets = BytesMut::new();
        let mut messages = 0;
        for update in self.updates.iter() {
            messages += update.encode(context, &mut octets).ok()?;
        }
        Some(Frames {
            octets: octets.freeze(),
            messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AsPath, AttributeValue, Nlri, Origin, PathAttribute};

    fn announcement(prefix: &str) -> Update {
        Update {
            attributes: vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::empty())),
                PathAttribute::new(AttributeValue::NextHop("192.0.2.1".parse().unwrap())),
            ],
            announced: [Nlri::new(prefix.parse().unwrap())].into_iter().collect(),
            ..Update::default()
        }
    }

    #[test]
    fn the_frames_are_the_updates_encoded_one_after_another() {
        let updates = vec![announcement("10.0.0.0/24"), announcement("10.1.0.0/16")];
        let batch = UpdateBatch::new(updates.clone());
        let context = CodecContext::default();
        let mut expected = BytesMut::new();
        for update in &updates {
            update.encode(&context, &mut expected).unwrap();
        }
        let frames = batch.frames(&context).unwrap();
        assert_eq!(frames.octets, expected.freeze());
        assert_eq!(frames.messages, 2);
        // Kept: the second session gets the very same octets.
        let again = batch.frames(&context).unwrap();
        assert_eq!(again.octets.as_ptr(), frames.octets.as_ptr());
        // Another context is encoded for itself.
        let other = CodecContext {
            four_octet_asn: !context.four_octet_asn,
            ..context
        };
        let other = batch.frames(&other).unwrap();
        assert_eq!(other.messages, 2);
        assert_ne!(other.octets.as_ptr(), frames.octets.as_ptr());
    }
}
