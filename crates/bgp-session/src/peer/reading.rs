//! What the connections report, taken into the session: each run of frames
//! decoded a bounded number at a time, in the order it was read.

use bgp_fsm::{ConnectionId, Direction, Input};
use bgp_wire::{DecodeError, Message};
use bytes::Bytes;
use tracing::debug;

use super::{connect_failure, Counters, Peer, SessionEvent, FRAMES_PER_TURN};
use crate::connection::ConnectionEvent;
use crate::frames;

impl Peer {
    /// Decodes frames already here, the rest of the last run first: a
    /// bounded number in one turn (the outbox holds what they produce).
    pub(super) fn decode_frames(&mut self, now: std::time::Instant) {
        for _ in 0..FRAMES_PER_TURN {
            self.carry_out();
            if self.outbox.len() >= FRAMES_PER_TURN {
                break;
            }
            if let Some((id, frames)) = &mut self.frames {
                let id = *id;
                if !self.connections.contains_key(&id) {
                    // The session let the connection go (a NOTIFICATION
                    // in the run, a collision lost): nothing more of it.
                    self.frames = None;
                    continue;
                }
                let frame = frames::next_frame(frames);
                if frames.is_empty() {
                    self.frames = None;
                }
                self.frame(id, &frame, now);
                continue;
            }
            match self.events.try_recv() {
                Ok(event) => self.event(event, now),
                Err(_) => break,
            }
        }
    }

    /// What a connection task or a connect attempt reported.
    pub(super) fn event(&mut self, event: ConnectionEvent, now: std::time::Instant) {
        match event {
            ConnectionEvent::Connected(attempt, result) => {
                if self.attempt.as_ref().map(|(number, _)| *number) != Some(attempt) {
                    return; // an attempt that was abandoned meanwhile
                }
                self.attempt = None;
                match result {
                    Ok(stream) => {
                        self.connect_error = None;
                        let id = self.adopt(stream);
                        self.session.handle(
                            now,
                            Input::Connected {
                                connection: id,
                                direction: Direction::Outgoing,
                            },
                        );
                    }
                    Err(error) => {
                        debug!(%error, "connect failed");
                        self.connect_error = Some(connect_failure(&error));
                        self.session.handle(now, Input::ConnectFailed);
                        self.publish();
                    }
                }
            }
            ConnectionEvent::Frames(id, frames) => {
                if !frames.is_empty() {
                    self.frames = Some((id, frames));
                }
            }
            ConnectionEvent::BadHeader(id, error) => {
                let error = DecodeError::Header(error);
                self.session.handle(
                    now,
                    Input::Malformed {
                        connection: id,
                        error,
                    },
                );
            }
            ConnectionEvent::Progress(id) => {
                self.session.handle(now, Input::Progress { connection: id });
            }
            ConnectionEvent::Flushed(id) => {
                self.session.handle(now, Input::Flushed { connection: id });
                if self.session.established_connection() == Some(id) {
                    self.outbox.push_back(SessionEvent::Drained);
                }
            }
            ConnectionEvent::Closed(id) => {
                if self.connections.contains_key(&id) {
                    self.session.handle(now, Input::Closed { connection: id });
                }
            }
        }
    }

    /// One whole frame read from connection `id`, which the caller has found
    /// still the session's.
    fn frame(&mut self, id: ConnectionId, frame: &Bytes, now: std::time::Instant) {
        Counters::add(&self.counters.messages_received, 1);
        let context = self.receive_context();
        let input = match Message::decode(frame, &context) {
            Ok(received) => {
                if let Message::Update(_) = received.message {
                    Counters::add(&self.counters.updates_received, 1);
                }
                Input::Received {
                    connection: id,
                    received,
                }
            }
            Err(error) => Input::Malformed {
                connection: id,
                error,
            },
        };
        self.session.handle(now, input);
    }
}
