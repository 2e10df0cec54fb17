//! The session's timers, one deadline each, and the RFC 4271 §10 jitter.

use std::time::{Duration, Instant};

/// The timers of RFC 4271 §8 plus the two this FSM adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry = 0,
    /// HoldTimer.
    Hold = 1,
    /// KeepaliveTimer.
    Keepalive = 2,
    /// DelayOpenTimer.
    DelayOpen = 3,
    /// IdleHoldTimer: automatic restart after an error.
    IdleHold = 4,
    /// SendHoldTimer (RFC 9687).
    SendHold = 5,
}

impl Timer {
    const ALL: [Timer; 6] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::DelayOpen,
        Timer::IdleHold,
        Timer::SendHold,
    ];
}

/// One optional deadline per timer.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 6],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, deadline: Instant) {
        self.deadlines[timer as usize] = Some(deadline);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = Default::default();
    }

    pub(crate) fn is_running(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    pub(crate) fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The first timer due at `now`, cleared.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .filter(|timer| self.deadlines[*timer as usize].is_some_and(|deadline| deadline <= now))
            .min_by_key(|timer| self.deadlines[*timer as usize])?;
        self.stop(timer);
        Some(timer)
    }
}

/// RFC 4271 §10: timers are jittered by a random factor between 0.75 and 1.
/// A small xorshift generator keeps the FSM free of any source of entropy of
/// its own: the seed comes from the caller.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: Option<u64>,
}

impl Jitter {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Jitter {
            state: seed.map(|seed| seed | 1),
        }
    }

    pub(crate) fn apply(&mut self, duration: Duration) -> Duration {
        let Some(state) = &mut self.state else {
            return duration;
        };
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        // A factor in [0.75, 1.0], in 1/1024 steps.
        let steps = 768 + (*state % 257) as u32;
        duration * steps / 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_expires_first() {
        let start = Instant::now();
        let mut timers = TimerTable::default();
        timers.set(Timer::Hold, start + Duration::from_secs(9));
        timers.set(Timer::Keepalive, start + Duration::from_secs(3));
        assert_eq!(timers.next(), Some(start + Duration::from_secs(3)));
        assert_eq!(timers.take_expired(start + Duration::from_secs(2)), None);
        assert_eq!(
            timers.take_expired(start + Duration::from_secs(10)),
            Some(Timer::Keepalive)
        );
        assert_eq!(
            timers.take_expired(start + Duration::from_secs(10)),
            Some(Timer::Hold)
        );
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn jitter_stays_between_three_quarters_and_the_full_time() {
        let mut jitter = Jitter::new(Some(42));
        for _ in 0..1000 {
            let value = jitter.apply(Duration::from_secs(100));
            assert!(
                value >= Duration::from_secs(75) && value <= Duration::from_secs(100),
                "{value:?}"
            );
        }
        assert_eq!(
            Jitter::new(None).apply(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
    }
}
