//! A bounded time series of fingerprints with what the service needed at each, searched by
//! nearest neighbour.

use prescient_core::{Error, Result, Timestamp};

use crate::pca::Pca;

/// What was observed alongside a stored fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Observed {
    /// Workers ready at the time.
    pub workers: u32,
    /// Workers the load needed at the time (the planner's reactive rule on the load), if known.
    pub needed: Option<u32>,
}

/// One stored moment, as returned by a lookup.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Neighbour {
    /// When the fingerprint was stored.
    pub ts: Timestamp,
    /// The Euclidean distance between the query and the stored fingerprint.
    pub distance: f64,
    /// The workers observed then.
    pub observed: Observed,
    /// The resource use observed then (as many values as the store was built for).
    pub resources: Vec<f64>,
}

/// Settings of a [`FingerprintStore`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StoreParams {
    capacity: usize,
    every_secs: f64,
    exclude_recent_secs: f64,
}

impl Default for StoreParams {
    /// Two weeks at one entry every 5 minutes (4,032 entries); lookups ignore the last hour.
    fn default() -> Self {
        StoreParams {
            capacity: 4_032,
            every_secs: 300.0,
            exclude_recent_secs: 3_600.0,
        }
    }
}

impl StoreParams {
    /// The most entries held (default 4,032); the oldest is dropped first.
    pub fn capacity(mut self, entries: usize) -> Self {
        self.capacity = entries;
        self
    }

    /// The least time between two entries, in seconds (default 300): an offer sooner than that
    /// after the last entry is not stored.
    pub fn every_secs(mut self, secs: f64) -> Self {
        self.every_secs = secs;
        self
    }

    /// Lookups ignore entries younger than this, in seconds (default 3,600), so that "the last
    /// time the workload looked like this" is not a minute ago.
    pub fn exclude_recent_secs(mut self, secs: f64) -> Self {
        self.exclude_recent_secs = secs;
        self
    }

    /// A store of fingerprints of `dim` values, each with `resources` resource values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a `dim` or capacity of 0, or an interval or exclusion that
    /// is negative or not finite.
    pub fn build(self, dim: usize, resources: usize) -> Result<FingerprintStore> {
        let invalid = |name, reason: String| Err(Error::InvalidParam { name, reason });
        if dim == 0 {
            return invalid("dim", "must be at least 1".into());
        }
        if self.capacity == 0 {
            return invalid("capacity", "must be at least 1".into());
        }
        prescient_core::check_non_negative("every_secs", self.every_secs)?;
        prescient_core::check_non_negative("exclude_recent_secs", self.exclude_recent_secs)?;
        Ok(FingerprintStore {
            params: self,
            dim,
            resources,
            ts: Vec::new(),
            fingerprints: Vec::new(),
            observed: Vec::new(),
            resource_values: Vec::new(),
            head: 0,
        })
    }
}

/// A bounded time series of fingerprints, each with the workers and resource use observed when
/// it was stored, and a nearest-neighbour lookup: "the last time the workload looked like this,
/// it needed N workers".
///
/// Memory is `capacity · (dim + resources + 3)` numbers; an insert is O(dim) and a lookup an
/// exact scan, O(capacity · dim) (a few microseconds for the default two weeks of 4-dimensional
/// fingerprints, far below a tick; a tree would not pay for itself at these sizes).
///
/// Fingerprints from different fits of a [`Fingerprinter`](crate::Fingerprinter) live in
/// different bases: after a refit, [`FingerprintStore::rebase`] carries every stored fingerprint
/// into the new one.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_features::{Observed, StoreParams};
///
/// let mut store = StoreParams::default().build(2, 1)?;
/// let t0 = Timestamp::from_secs(0);
/// store.insert(t0, &[1.0, 0.0], Observed { workers: 4, needed: Some(4) }, &[0.5])?;
/// store.insert(t0.add_secs(600.0), &[5.0, 1.0], Observed { workers: 14, needed: Some(13) }, &[0.7])?;
/// let now = t0.add_secs(86_400.0);
/// let best = store.nearest(&[4.8, 1.1], now, 1)?;
/// assert_eq!(best[0].observed.needed, Some(13));
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FingerprintStore {
    params: StoreParams,
    dim: usize,
    resources: usize,
    /// Parallel arrays, a ring of `capacity` once full; `head` is the oldest entry then.
    ts: Vec<Timestamp>,
    fingerprints: Vec<f64>,
    observed: Vec<Observed>,
    resource_values: Vec<f64>,
    head: usize,
}

impl FingerprintStore {
    /// The settings.
    pub fn params(&self) -> &StoreParams {
        &self.params
    }

    /// The fingerprint dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many resource values each entry holds.
    pub fn resources(&self) -> usize {
        self.resources
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The time of the newest entry.
    pub fn last_ts(&self) -> Option<Timestamp> {
        if self.ts.is_empty() {
            None
        } else {
            let newest = (self.head + self.ts.len() - 1) % self.ts.len();
            Some(self.ts[newest])
        }
    }

    /// Offers the fingerprint observed at `ts` for storing. It is stored when it is finite and
    /// at least `every_secs` after the newest entry; returns whether it was.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `fingerprint` or `resources` has the wrong length, and
    /// [`Error::OutOfOrder`] when `ts` is before the newest entry; nothing changes.
    pub fn insert(
        &mut self,
        ts: Timestamp,
        fingerprint: &[f64],
        observed: Observed,
        resources: &[f64],
    ) -> Result<bool> {
        for (expected, got) in [
            (self.dim, fingerprint.len()),
            (self.resources, resources.len()),
        ] {
            if expected != got {
                return Err(Error::SchemaMismatch { expected, got });
            }
        }
        if let Some(last) = self.last_ts() {
            if ts < last {
                return Err(Error::OutOfOrder { last, got: ts });
            }
            if ts.secs_since(last) < self.params.every_secs {
                return Ok(false);
            }
        }
        if !fingerprint.iter().all(|v| v.is_finite()) {
            return Ok(false);
        }
        // A resource value that is missing is stored as NaN, which a reader sees as missing.
        let resources = resources
            .iter()
            .map(|&r| if r.is_finite() { r } else { f64::NAN });
        if self.ts.len() < self.params.capacity {
            self.ts.push(ts);
            self.fingerprints.extend_from_slice(fingerprint);
            self.observed.push(observed);
            self.resource_values.extend(resources);
        } else {
            let i = self.head;
            self.ts[i] = ts;
            self.fingerprints[i * self.dim..(i + 1) * self.dim].copy_from_slice(fingerprint);
            self.observed[i] = observed;
            let r = &mut self.resource_values[i * self.resources..(i + 1) * self.resources];
            for (slot, v) in r.iter_mut().zip(resources) {
                *slot = v;
            }
            self.head = (self.head + 1) % self.params.capacity;
        }
        Ok(true)
    }

    /// The `k` stored entries closest to `query`, nearest first, among those at least
    /// `exclude_recent_secs` older than `now`. Ties go to the more recent entry.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `query` has the wrong length and [`Error::NonFinite`]
    /// when it holds a non-finite value.
    pub fn nearest(&self, query: &[f64], now: Timestamp, k: usize) -> Result<Vec<Neighbour>> {
        if query.len() != self.dim {
            return Err(Error::SchemaMismatch {
                expected: self.dim,
                got: query.len(),
            });
        }
        if let Some(index) = query.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        if k == 0 {
            return Ok(Vec::new());
        }
        // Entries after this are too recent (to the millisecond): one comparison of integers
        // per entry rather than a difference in seconds.
        let cutoff = now.add_secs(-self.params.exclude_recent_secs);
        // A scan of every entry runs on each tick of a `Scaler`: for the usual dimensions the
        // distance is specialised to the dimension, so that it is unrolled.
        match self.dim {
            1 => self.scan::<1>(query, cutoff, k, &mut best),
            2 => self.scan::<2>(query, cutoff, k, &mut best),
            3 => self.scan::<3>(query, cutoff, k, &mut best),
            4 => self.scan::<4>(query, cutoff, k, &mut best),
            5 => self.scan::<5>(query, cutoff, k, &mut best),
            6 => self.scan::<6>(query, cutoff, k, &mut best),
            8 => self.scan::<8>(query, cutoff, k, &mut best),
            _ => self.scan_any(query, cutoff, k, &mut best),
        }
        Ok(best
            .into_iter()
            .map(|(d2, i)| Neighbour {
                ts: self.ts[i],
                distance: d2.sqrt().min(f64::MAX),
                observed: self.observed[i],
                resources: self.resource_values[i * self.resources..(i + 1) * self.resources]
                    .to_vec(),
            })
            .collect())
    }

    /// [`FingerprintStore::nearest`]'s scan for fingerprints of `D` values.
    fn scan<const D: usize>(
        &self,
        query: &[f64],
        cutoff: Timestamp,
        k: usize,
        best: &mut Vec<(f64, usize)>,
    ) {
        let q: [f64; D] = std::array::from_fn(|j| query[j]);
        let mut bound = f64::INFINITY;
        for (i, (ts, f)) in self
            .ts
            .iter()
            .zip(self.fingerprints.chunks_exact(D))
            .enumerate()
        {
            let mut d2 = 0.0;
            for j in 0..D {
                let e = f[j] - q[j];
                d2 += e * e;
            }
            // Farther than the k-th best so far cannot enter (a tie still may, by time).
            if d2 > bound || *ts > cutoff {
                continue;
            }
            self.offer(d2, i, k, best);
            if best.len() == k {
                bound = best[k - 1].0;
            }
        }
    }

    /// [`FingerprintStore::nearest`]'s scan for any dimension.
    fn scan_any(&self, query: &[f64], cutoff: Timestamp, k: usize, best: &mut Vec<(f64, usize)>) {
        for (i, (ts, f)) in self
            .ts
            .iter()
            .zip(self.fingerprints.chunks_exact(self.dim))
            .enumerate()
        {
            if *ts > cutoff {
                continue;
            }
            let d2: f64 = f.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
            self.offer(d2, i, k, best);
        }
    }

    /// Puts entry `i` at squared distance `d2` among the `k` best, if it ranks there.
    fn offer(&self, d2: f64, i: usize, k: usize, best: &mut Vec<(f64, usize)>) {
        if best.len() == k && !self.closer(d2, i, best[k - 1]) {
            return;
        }
        let at = best.partition_point(|&b| !self.closer(d2, i, b));
        best.insert(at, (d2, i));
        best.truncate(k);
    }

    /// Whether the entry `i` at squared distance `d2` ranks before `other`.
    fn closer(&self, d2: f64, i: usize, other: (f64, usize)) -> bool {
        match d2.total_cmp(&other.0) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => self.ts[i] > self.ts[other.1],
        }
    }

    /// Carries every stored fingerprint from the basis of `from` into the basis of `to`: each
    /// is mapped back to the feature vector it stands for (its rank-k reconstruction under
    /// `from`) and projected with `to`. What `from` could not express was never stored, so the
    /// rebased fingerprint is the new projection of the old reconstruction.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when the fits do not have the store's dimension or do not
    /// share their number of features; nothing changes.
    pub fn rebase(&mut self, from: &Pca, to: &Pca) -> Result<()> {
        for got in [from.components(), to.components()] {
            if got != self.dim {
                return Err(Error::SchemaMismatch {
                    expected: self.dim,
                    got,
                });
            }
        }
        if from.features() != to.features() {
            return Err(Error::SchemaMismatch {
                expected: from.features(),
                got: to.features(),
            });
        }
        let mut x = vec![0.0; from.features()];
        let mut f = vec![0.0; self.dim];
        for stored in self.fingerprints.chunks_exact_mut(self.dim) {
            from.reconstruct_inplace(stored, &mut x);
            to.project_inplace(&x, &mut f);
            stored.copy_from_slice(&f);
        }
        Ok(())
    }

    /// The entries, oldest first, as (time, fingerprint, observed).
    pub fn iter(&self) -> impl Iterator<Item = (Timestamp, &[f64], Observed)> + '_ {
        let n = self.ts.len();
        (0..n).map(move |j| {
            let i = (self.head + j) % n;
            (
                self.ts[i],
                &self.fingerprints[i * self.dim..(i + 1) * self.dim],
                self.observed[i],
            )
        })
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.ts.clear();
        self.fingerprints.clear();
        self.observed.clear();
        self.resource_values.clear();
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::PcaParams;
    use proptest::prelude::*;

    fn obs(workers: u32) -> Observed {
        Observed {
            workers,
            needed: Some(workers),
        }
    }

    fn at(secs: f64) -> Timestamp {
        Timestamp::EPOCH.add_secs(secs)
    }

    #[test]
    fn entries_closer_than_the_interval_are_not_stored() {
        let mut s = StoreParams::default().every_secs(60.0).build(1, 0).unwrap();
        assert!(s.insert(at(0.0), &[1.0], obs(1), &[]).unwrap());
        assert!(!s.insert(at(30.0), &[1.0], obs(1), &[]).unwrap());
        assert!(s.insert(at(60.0), &[1.0], obs(1), &[]).unwrap());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn capacity_drops_the_oldest() {
        let mut s = StoreParams::default()
            .capacity(3)
            .every_secs(0.0)
            .exclude_recent_secs(0.0)
            .build(1, 1)
            .unwrap();
        for i in 0..5 {
            s.insert(at(i as f64), &[i as f64], obs(i), &[0.1 * i as f64])
                .unwrap();
        }
        let kept: Vec<f64> = s.iter().map(|(_, f, _)| f[0]).collect();
        assert_eq!(kept, vec![2.0, 3.0, 4.0]);
        let n = s.nearest(&[0.0], at(10.0), 1).unwrap();
        assert_eq!(n[0].observed.workers, 2);
        assert!((n[0].resources[0] - 0.2).abs() < 1e-12);
    }

    #[test]
    fn recent_entries_are_excluded_and_ties_go_to_the_newer() {
        let mut s = StoreParams::default()
            .every_secs(0.0)
            .exclude_recent_secs(100.0)
            .build(1, 0)
            .unwrap();
        s.insert(at(0.0), &[1.0], obs(1), &[]).unwrap();
        s.insert(at(10.0), &[1.0], obs(2), &[]).unwrap();
        s.insert(at(200.0), &[1.0], obs(3), &[]).unwrap();
        let n = s.nearest(&[1.0], at(250.0), 3).unwrap();
        let workers: Vec<u32> = n.iter().map(|n| n.observed.workers).collect();
        assert_eq!(workers, vec![2, 1]);
    }

    #[test]
    fn bad_input_is_an_error_that_changes_nothing() {
        let mut s = StoreParams::default().build(2, 1).unwrap();
        s.insert(at(1000.0), &[0.0, 0.0], obs(1), &[0.0]).unwrap();
        let before = s.clone();
        assert!(s.insert(at(2000.0), &[0.0], obs(1), &[0.0]).is_err());
        assert!(s.insert(at(2000.0), &[0.0, 0.0], obs(1), &[]).is_err());
        assert!(matches!(
            s.insert(at(0.0), &[0.0, 0.0], obs(1), &[0.0]),
            Err(Error::OutOfOrder { .. })
        ));
        assert_eq!(
            s.insert(at(2000.0), &[f64::NAN, 0.0], obs(1), &[0.0]),
            Ok(false)
        );
        assert_eq!(s, before);
        assert!(matches!(
            s.nearest(&[f64::INFINITY, 0.0], at(0.0), 1),
            Err(Error::NonFinite { index: 0 })
        ));
        assert!(s.nearest(&[0.0], at(0.0), 1).is_err());
    }

    #[test]
    fn settings_are_checked() {
        assert!(StoreParams::default().build(0, 0).is_err());
        assert!(StoreParams::default().capacity(0).build(1, 0).is_err());
        assert!(StoreParams::default().every_secs(-1.0).build(1, 0).is_err());
        assert!(
            StoreParams::default()
                .exclude_recent_secs(f64::NAN)
                .build(1, 0)
                .is_err()
        );
    }

    #[test]
    fn rebase_matches_a_fresh_projection_of_in_span_vectors() {
        // Rows that lie exactly in a 2-dimensional span: the reconstruction is exact, so the
        // rebased fingerprint is the new fit's projection of the original row.
        let rows: Vec<f64> = (0..200)
            .flat_map(|i| {
                let (a, b) = ((i as f64 * 0.1).sin(), (i as f64 * 0.37).cos());
                [a + b, a - b, 2.0 * a, 3.0 + b]
            })
            .collect();
        let old = PcaParams::new(2).fit(&rows[..400], 4).unwrap();
        let new = PcaParams::new(2).fit(&rows[400..], 4).unwrap();
        let mut s = StoreParams::default().every_secs(0.0).build(2, 0).unwrap();
        for (i, r) in rows.chunks_exact(4).take(50).enumerate() {
            s.insert(at(i as f64), &old.project(r), obs(1), &[])
                .unwrap();
        }
        s.rebase(&old, &new).unwrap();
        for ((_, f, _), r) in s.iter().zip(rows.chunks_exact(4)) {
            let want = new.project(r);
            for (a, b) in f.iter().zip(&want) {
                assert!((a - b).abs() < 1e-9, "{f:?} vs {want:?}");
            }
        }
        let three = PcaParams::new(3).fit(&rows, 4).unwrap();
        assert!(s.rebase(&old, &three).is_err());
    }

    #[test]
    fn specialised_and_general_scans_agree() {
        for dim in [1, 3, 4, 6, 7, 8, 9] {
            let mut s = StoreParams::default()
                .every_secs(0.0)
                .exclude_recent_secs(10.0)
                .build(dim, 0)
                .unwrap();
            for i in 0..200u32 {
                let f: Vec<f64> = (0..dim)
                    .map(|j| (((i as usize * 31 + j * 17) % 23) as f64).sin())
                    .collect();
                s.insert(at(i as f64), &f, obs(i), &[]).unwrap();
            }
            let q: Vec<f64> = (0..dim).map(|j| 0.1 * j as f64).collect();
            let now = at(195.0);
            let cutoff = now.add_secs(-10.0);
            for k in [1, 3, 10] {
                let mut general = Vec::new();
                s.scan_any(&q, cutoff, k, &mut general);
                let got: Vec<u32> = s
                    .nearest(&q, now, k)
                    .unwrap()
                    .iter()
                    .map(|n| n.observed.workers)
                    .collect();
                let want: Vec<u32> = general
                    .iter()
                    .map(|&(_, i)| s.observed[i].workers)
                    .collect();
                assert_eq!(got, want, "dim {dim}, k {k}");
                assert!(got.iter().all(|&w| w <= 185), "recent entries are excluded");
            }
        }
    }

    proptest! {
        #[test]
        fn prop_nearest_matches_a_sort(
            points in proptest::collection::vec((-100.0f64..100.0, -100.0f64..100.0), 1..60),
            q in (-100.0f64..100.0, -100.0f64..100.0),
            k in 1usize..8,
        ) {
            let mut s = StoreParams::default()
                .every_secs(0.0)
                .exclude_recent_secs(0.0)
                .build(2, 0)
                .unwrap();
            for (i, p) in points.iter().enumerate() {
                s.insert(at(i as f64), &[p.0, p.1], obs(i as u32), &[]).unwrap();
            }
            let got = s.nearest(&[q.0, q.1], at(1e6), k).unwrap();
            let mut want: Vec<(f64, usize)> = points
                .iter()
                .enumerate()
                .map(|(i, p)| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2), i))
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            want.truncate(k);
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert_eq!(g.observed.workers, w.1 as u32);
                prop_assert!((g.distance - w.0.sqrt()).abs() < 1e-9);
            }
        }
    }
}
