//! The leader lease: one replica of a service actuates, the others stand by.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The shared record of who leads: a backend of [`Elector`].
///
/// A lease is held by a *token* (a string unique to one acquisition by one replica) for a time
/// to live, counted by the backend's clock; while it is held nobody else can take it. Each
/// acquisition gets a *fencing token*, a number larger than every earlier acquisition's, that
/// the holder can hand to whatever it actuates so that a late write from an earlier leader can
/// be refused there.
///
/// Implementations: [`MemoryLease`] (replicas in one process) and, behind the feature `redis`,
/// `RedisLease`.
pub trait Lease: Send {
    /// Takes the lease for `token` when nobody holds it, or extends it when `token` already
    /// holds it, for `ttl` from the backend's present; returns the holding's fencing token, or
    /// `None` when another token holds the lease.
    ///
    /// `now` is the caller's clock, read before the call; a backend with a clock of its own (a
    /// server) ignores it.
    ///
    /// # Errors
    ///
    /// A backend's error; the caller cannot tell whether the lease was taken.
    fn acquire_or_renew(&mut self, token: &str, ttl: Duration, now: Instant)
    -> Result<Option<u64>>;

    /// Gives the lease up if `token` holds it; returns whether it did.
    ///
    /// # Errors
    ///
    /// A backend's error.
    fn release(&mut self, token: &str, now: Instant) -> Result<bool>;
}

/// A [`Lease`] in this process's memory, counted on the `now` its callers pass. Clones share
/// the lease, so that each replica (thread) holds its own clone.
#[derive(Clone, Debug, Default)]
pub struct MemoryLease {
    inner: Arc<Mutex<MemoryLeaseInner>>,
}

#[derive(Debug, Default)]
struct MemoryLeaseInner {
    holder: Option<(String, Instant)>,
    fence: u64,
    holder_fence: u64,
}

impl MemoryLease {
    /// A lease nobody holds.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryLeaseInner> {
        // Each operation leaves the record whole; a panicking holder elsewhere does not spoil it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Lease for MemoryLease {
    fn acquire_or_renew(
        &mut self,
        token: &str,
        ttl: Duration,
        now: Instant,
    ) -> Result<Option<u64>> {
        let mut inner = self.lock();
        let expires = now.checked_add(ttl).ok_or(Error::InvalidParam {
            name: "ttl",
            reason: "too long to add to the clock".to_owned(),
        })?;
        match &inner.holder {
            Some((holder, until)) if now < *until => {
                if holder != token {
                    return Ok(None);
                }
                inner.holder = Some((token.to_owned(), expires));
                Ok(Some(inner.holder_fence))
            }
            // Free, or expired (even if it was this token's): a new acquisition, a new fence.
            _ => {
                inner.fence += 1;
                inner.holder_fence = inner.fence;
                inner.holder = Some((token.to_owned(), expires));
                Ok(Some(inner.fence))
            }
        }
    }

    fn release(&mut self, token: &str, _now: Instant) -> Result<bool> {
        let mut inner = self.lock();
        if inner.holder.as_ref().is_some_and(|(h, _)| h == token) {
            inner.holder = None;
            return Ok(true);
        }
        Ok(false)
    }
}

/// The settings of an [`Elector`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ElectorParams {
    /// How long the backend keeps a lease that is not renewed; a dead leader is replaced after
    /// at most this plus `retry_every`. Default 10 s.
    pub ttl: Duration,
    /// The share of `ttl` that a leader gives up to network delay and clock drift, in (0, 1): it
    /// counts itself leader for `ttl × (1 − margin)` after it *sent* a successful request.
    /// Default 0.2.
    pub margin: f64,
    /// How often a leader renews. It must be shorter than `ttl × (1 − margin)`, so that a renewal
    /// (and a retry or two) happens before the leader's own expiry. Default `ttl / 3`.
    pub renew_every: Duration,
    /// How often a follower tries to take the lease, and a leader retries a failed renewal.
    /// Default `ttl / 10`.
    pub retry_every: Duration,
}

impl ElectorParams {
    /// The defaults for a lease of `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            margin: 0.2,
            renew_every: ttl / 3,
            retry_every: ttl / 10,
        }
    }

    /// With another margin.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// With another renewal period.
    pub fn renew_every(mut self, every: Duration) -> Self {
        self.renew_every = every;
        self
    }

    /// With another retry period.
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every;
        self
    }

    /// How long a leader counts itself leader after sending a successful request.
    pub fn belief(&self) -> Duration {
        self.ttl.mul_f64(1.0 - self.margin)
    }

    fn check(&self) -> Result<()> {
        let bad = |name, reason: &str| {
            Err(Error::InvalidParam {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.ttl < Duration::from_millis(1) || self.ttl > Duration::from_secs(86_400) {
            return bad("ttl", "between 1 ms and one day");
        }
        if !(self.margin > 0.0 && self.margin < 1.0) {
            return bad("margin", "in (0, 1)");
        }
        if self.renew_every.is_zero() || self.renew_every >= self.belief() {
            return bad(
                "renew_every",
                "positive and shorter than ttl × (1 − margin)",
            );
        }
        if self.retry_every.is_zero() {
            return bad("retry_every", "positive");
        }
        Ok(())
    }
}

impl Default for ElectorParams {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

/// A replica's leadership: its fencing token and until when it may actuate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// The acquisition's fencing token: larger than every earlier leader's.
    pub fencing_token: u64,
    /// The end of this replica's belief, on its own clock: the start of its last successful
    /// request plus `ttl × (1 − margin)`.
    pub valid_until: Instant,
}

impl Leadership {
    /// Whether the leadership still holds at `now`.
    pub fn is_valid_at(&self, now: Instant) -> bool {
        now < self.valid_until
    }
}

/// A handle on an [`Elector`]'s leadership for another thread (the one that actuates): it
/// expires by itself at the leader's local expiry, even while the elector's renewal hangs.
#[derive(Clone, Debug, Default)]
pub struct LeaderWatch {
    inner: Arc<Mutex<Option<Leadership>>>,
}

impl LeaderWatch {
    /// The fencing token when this replica may actuate at `now`, or `None`.
    pub fn may_actuate(&self, now: Instant) -> Option<u64> {
        self.get()
            .filter(|l| l.is_valid_at(now))
            .map(|l| l.fencing_token)
    }

    fn get(&self) -> Option<Leadership> {
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, leadership: Option<Leadership>) {
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner) = leadership;
    }
}

/// Decides, tick by tick, whether this replica is the one that actuates.
///
/// The host calls [`tick`](Elector::tick) every tick with the time it read; the elector renews
/// the lease (every `renew_every`) or tries to take it (every `retry_every`) when due, and says
/// whether this replica may actuate. The rule that keeps two replicas from actuating at once:
///
/// - A replica counts itself leader only until `t_sent + ttl × (1 − margin)`, where `t_sent` is
///   the `now` the host read *before* the request went out. The backend's lease runs until at
///   least `t_sent + ttl` on its clock, so the network's delay only shortens the replica's
///   belief, and a clock that runs up to `margin` slower than the backend's is still safe.
/// - A failed request (an error, a time limit) never extends the belief: a replica that loses
///   the backend stops being leader at its local expiry, never later, and the lease then
///   expires on the backend, so another replica takes over within `ttl + retry_every`.
/// - The answer is only as fresh as the `now` it was given: check again with a clock read taken
///   just before actuating ([`may_actuate`](Elector::may_actuate), or a [`LeaderWatch`] on
///   another thread), and pass the [fencing token](Leadership::fencing_token) to the actuator
///   where the platform can refuse an older one. A process paused between the check and the
///   actuation is the case that only fencing covers.
///
/// The replica id must be unique among the live replicas (a pod name with its start time, for
/// instance): the lease's tokens are the id and a counter.
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// use prescient_state::{Elector, ElectorParams, MemoryLease};
///
/// let lease = MemoryLease::new();
/// let params = ElectorParams::new(Duration::from_secs(10));
/// let mut a = Elector::new(lease.clone(), "replica-a", params)?;
/// let mut b = Elector::new(lease, "replica-b", params)?;
/// # #[allow(clippy::disallowed_methods)] // A host reads its clock once per tick.
/// let t0 = Instant::now();
/// assert!(a.tick(t0));
/// assert!(!b.tick(t0));
/// // Replica a stops renewing (it died): b takes over once the lease has expired.
/// let later = t0 + Duration::from_secs(11);
/// assert!(b.tick(later));
/// assert!(b.leadership().expect("leader").fencing_token > 1);
/// # Ok::<(), prescient_state::Error>(())
/// ```
pub struct Elector<L> {
    lease: L,
    params: ElectorParams,
    replica: String,
    acquisitions: u64,
    /// The token of the last acquisition that may still hold the lease on the backend.
    token: Option<String>,
    leadership: Option<Leadership>,
    last_attempt: Option<Instant>,
    last_failed: bool,
    last_error: Option<Error>,
    watch: LeaderWatch,
}

impl<L: Lease> Elector<L> {
    /// An elector for replica `replica` over `lease`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the settings are out of range (see [`ElectorParams`]), or
    /// the replica id is empty, longer than 128 bytes or not printable ASCII.
    pub fn new(lease: L, replica: &str, params: ElectorParams) -> Result<Self> {
        params.check()?;
        if replica.is_empty()
            || replica.len() > 128
            || !replica.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::InvalidParam {
                name: "replica",
                reason: format!("{replica:?}: 1 to 128 printable ASCII characters, no spaces"),
            });
        }
        Ok(Self {
            lease,
            params,
            replica: replica.to_owned(),
            acquisitions: 0,
            token: None,
            leadership: None,
            last_attempt: None,
            last_failed: false,
            last_error: None,
            watch: LeaderWatch::default(),
        })
    }

    /// The settings.
    pub fn params(&self) -> &ElectorParams {
        &self.params
    }

    /// Renews the lease, or tries to take it, now: one request to the backend whatever the
    /// schedule. Returns the leadership, or `None` when another replica holds the lease.
    ///
    /// `now` must be read before the call: it is the `t_sent` the belief is counted from.
    ///
    /// # Errors
    ///
    /// The backend's error; the leadership is then unchanged (it still expires at its
    /// `valid_until`).
    pub fn try_acquire_or_renew(&mut self, now: Instant) -> Result<Option<Leadership>> {
        self.last_attempt = Some(now);
        let token = match &self.token {
            Some(token) => token.clone(),
            None => {
                self.acquisitions += 1;
                let token = format!("{}#{}", self.replica, self.acquisitions);
                // Kept before the request: if the answer is lost, the next request with the same
                // token renews what the lost one may have taken.
                self.token = Some(token.clone());
                token
            }
        };
        let answer = self.lease.acquire_or_renew(&token, self.params.ttl, now);
        match answer {
            Ok(Some(fencing_token)) => {
                self.last_failed = false;
                let valid_until = now.checked_add(self.params.belief()).unwrap_or(now);
                self.set(Some(Leadership {
                    fencing_token,
                    valid_until,
                }));
            }
            Ok(None) => {
                // Someone else holds the lease: our token is void, whatever we believed.
                self.last_failed = false;
                self.token = None;
                self.set(None);
            }
            Err(e) => {
                self.last_failed = true;
                return Err(e);
            }
        }
        Ok(self.leadership)
    }

    /// The host's call every tick: renews or tries to take the lease when due, and says whether
    /// this replica may actuate at `now`. A backend's error is kept in
    /// [`last_error`](Elector::last_error), not returned: the belief then runs out by itself.
    pub fn tick(&mut self, now: Instant) -> bool {
        let every = if self.last_failed || !self.may_actuate(now) {
            self.params.retry_every
        } else {
            self.params.renew_every
        };
        let due = self
            .last_attempt
            .is_none_or(|last| now.saturating_duration_since(last) >= every);
        if due {
            match self.try_acquire_or_renew(now) {
                Ok(_) => self.last_error = None,
                Err(e) => self.last_error = Some(e),
            }
        }
        self.may_actuate(now)
    }

    /// Whether this replica may actuate at `now`, without asking the backend.
    pub fn may_actuate(&self, now: Instant) -> bool {
        self.leadership.is_some_and(|l| l.is_valid_at(now))
    }

    /// The current leadership (possibly expired: see [`Leadership::is_valid_at`]).
    pub fn leadership(&self) -> Option<Leadership> {
        self.leadership
    }

    /// The error of the last request, if it failed.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// A handle on the leadership for the thread that actuates.
    pub fn watch(&self) -> LeaderWatch {
        self.watch.clone()
    }

    /// Stops actuating at once and gives the lease up, so that another replica takes over
    /// without waiting for it to expire (on a clean shutdown).
    ///
    /// # Errors
    ///
    /// The backend's error; the replica has stopped counting itself leader all the same, and the
    /// lease expires by itself.
    pub fn resign(&mut self, now: Instant) -> Result<()> {
        self.set(None);
        if let Some(token) = self.token.take() {
            self.lease.release(&token, now)?;
        }
        Ok(())
    }

    /// The backend.
    pub fn lease(&self) -> &L {
        &self.lease
    }

    fn set(&mut self, leadership: Option<Leadership>) {
        self.leadership = leadership;
        self.watch.set(leadership);
    }
}

impl<L> std::fmt::Debug for Elector<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("replica", &self.replica)
            .field("params", &self.params)
            .field("leadership", &self.leadership)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A base instant: tests count from it, so nothing depends on the real clock's value.
    #[allow(clippy::disallowed_methods)] // Only a base; every later time is base + offset.
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn params() -> ElectorParams {
        ElectorParams::new(ms(1000))
    }

    /// A lease whose backend can be cut off.
    struct Flaky {
        inner: MemoryLease,
        down: Arc<Mutex<bool>>,
    }

    impl Lease for Flaky {
        fn acquire_or_renew(
            &mut self,
            token: &str,
            ttl: Duration,
            now: Instant,
        ) -> Result<Option<u64>> {
            if *self.down.lock().unwrap() {
                return Err(Error::Timeout {
                    addr: "test".into(),
                    op: "renew",
                });
            }
            self.inner.acquire_or_renew(token, ttl, now)
        }

        fn release(&mut self, token: &str, now: Instant) -> Result<bool> {
            self.inner.release(token, now)
        }
    }

    #[test]
    fn params_are_checked() {
        let p = params();
        assert!(p.check().is_ok());
        assert!(p.margin(0.0).check().is_err());
        assert!(p.margin(1.0).check().is_err());
        assert!(p.margin(f64::NAN).check().is_err());
        assert!(p.renew_every(ms(800)).check().is_err());
        assert!(p.renew_every(ms(0)).check().is_err());
        assert!(p.retry_every(ms(0)).check().is_err());
        assert!(ElectorParams::new(ms(0)).check().is_err());
        assert!(Elector::new(MemoryLease::new(), "", p).is_err());
        assert!(Elector::new(MemoryLease::new(), "a b", p).is_err());
    }

    #[test]
    fn one_leader_and_a_takeover_after_expiry() {
        let lease = MemoryLease::new();
        let mut a = Elector::new(lease.clone(), "a", params()).unwrap();
        let mut b = Elector::new(lease, "b", params()).unwrap();
        let t = t0();
        assert!(a.tick(t));
        assert!(!b.tick(t));
        let fence_a = a.leadership().unwrap().fencing_token;
        // a renews every ~333 ms and keeps the lease.
        for step in 1..30 {
            let now = t + ms(step * 100);
            assert!(a.tick(now), "{step}");
            assert!(!b.tick(now), "{step}");
        }
        assert_eq!(a.leadership().unwrap().fencing_token, fence_a);
        // a stops ticking (dies) at 2.9 s; its last renewal was at 2.7 s at the latest.
        let mut took_over = None;
        for step in 30..60 {
            let now = t + ms(step * 100);
            if b.tick(now) {
                took_over = Some(step * 100);
                break;
            }
        }
        let took_over = took_over.unwrap();
        assert!(took_over <= 2900 + 1000 + 100, "{took_over}");
        assert!(b.leadership().unwrap().fencing_token > fence_a);
        // a wakes up: its belief has run out and the lease is b's.
        assert!(!a.may_actuate(t + ms(took_over)));
        assert!(!a.tick(t + ms(took_over)));
    }

    #[test]
    fn belief_ends_at_local_expiry_when_the_backend_is_lost() {
        let down = Arc::new(Mutex::new(false));
        let lease = Flaky {
            inner: MemoryLease::new(),
            down: down.clone(),
        };
        let mut a = Elector::new(lease, "a", params()).unwrap();
        let watch = a.watch();
        let t = t0();
        assert!(a.tick(t));
        assert_eq!(watch.may_actuate(t), Some(1));
        // The last successful renewal is sent at 800 ms, then the backend is gone.
        assert!(a.tick(t + ms(400)));
        assert!(a.tick(t + ms(800)));
        *down.lock().unwrap() = true;
        for step in 9..=17 {
            let now = t + ms(step * 100);
            let leader = a.tick(now);
            // Leader exactly until 800 + 800 ms, never later.
            assert_eq!(leader, now < t + ms(1600), "{step}");
            assert_eq!(watch.may_actuate(now).is_some(), leader);
        }
        assert!(a.last_error().is_some_and(Error::is_transient));
        // Back: the lease expired on the backend at 1.8 s; a takes it again, with a new fence.
        *down.lock().unwrap() = false;
        assert!(a.tick(t + ms(1900)));
        assert_eq!(watch.may_actuate(t + ms(1900)), Some(2));
        assert!(a.last_error().is_none());
    }

    #[test]
    fn watch_expires_while_a_renewal_hangs() {
        let mut a = Elector::new(MemoryLease::new(), "a", params()).unwrap();
        let watch = a.watch();
        let t = t0();
        assert!(a.tick(t));
        // No further tick (the renewal hangs on the elector's thread): the watch runs out alone.
        assert!(watch.may_actuate(t + ms(799)).is_some());
        assert!(watch.may_actuate(t + ms(800)).is_none());
    }

    #[test]
    fn renewal_sent_late_counts_from_its_sending() {
        let lease = MemoryLease::new();
        let mut a = Elector::new(lease, "a", params()).unwrap();
        let t = t0();
        a.try_acquire_or_renew(t).unwrap();
        let l = a.try_acquire_or_renew(t + ms(500)).unwrap().unwrap();
        assert_eq!(l.valid_until, t + ms(1300));
        assert_eq!(l.fencing_token, 1);
    }

    #[test]
    fn resign_hands_over_at_once() {
        let lease = MemoryLease::new();
        let mut a = Elector::new(lease.clone(), "a", params()).unwrap();
        let mut b = Elector::new(lease, "b", params()).unwrap();
        let t = t0();
        assert!(a.tick(t));
        let watch = a.watch();
        a.resign(t + ms(10)).unwrap();
        assert!(!a.may_actuate(t + ms(10)));
        assert_eq!(watch.may_actuate(t + ms(10)), None);
        assert!(b.tick(t + ms(20)));
        assert_eq!(b.leadership().unwrap().fencing_token, 2);
    }

    #[test]
    fn paused_leader_cannot_renew_a_lease_taken_since() {
        let lease = MemoryLease::new();
        let mut a = Elector::new(lease.clone(), "a", params()).unwrap();
        let mut b = Elector::new(lease, "b", params()).unwrap();
        let t = t0();
        assert!(a.tick(t));
        assert!(b.tick(t + ms(1100)));
        // a was paused from 0 to 1.2 s: it asks to renew and is told it lost the lease.
        assert_eq!(a.try_acquire_or_renew(t + ms(1200)).unwrap(), None);
        assert!(!a.may_actuate(t + ms(1200)));
    }

    #[test]
    fn autotraits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Elector<MemoryLease>>();
        send_sync::<LeaderWatch>();
        send_sync::<MemoryLease>();
    }
}
