//! The isolation forest (Liu, Ting and Zhou, 2008), written to scikit-learn's algorithm.
//!
//! Each tree is grown on a random subsample of `ψ = min(subsample, n)` rows drawn without
//! replacement, down to the height limit `⌈log₂ ψ⌉`. At each node a feature is drawn uniformly
//! among those that are not constant on the node's rows, and the split is drawn uniformly in
//! `[min, max)` of that feature on the node's rows; rows `≤` the split go left. A node with a
//! single row, or whose rows are identical, or at the height limit, is a leaf. The path length
//! of a row in a tree is the depth of the leaf it reaches plus `c(m)` for the `m` training rows
//! in that leaf (the expected depth still to go in a full tree), and the score is
//! `s(x) = 2^(−E[h(x)] / c(ψ))`, scikit-learn's `-score_samples`.
//!
//! Two choices differ from scikit-learn, neither in distribution:
//!
//! * scikit-learn converts the data to `f32` and treats a feature as constant on a node when its
//!   range is at most `1e-7`; here the data stay `f64` and a feature is constant when its range
//!   is exactly zero, so that the forest does not depend on the data's units.
//! * the random numbers come from a seeded [`ChaCha8Rng`], so the trees are not scikit-learn's
//!   for the same seed, but identical for the same seed and data on every platform.
//!
//! Speed comes from the layout and the order of work. With `ψ ≤ 256` (the default) and at most
//! 256 features, each tree is stored in heap order, padded to its full height: node `k`'s
//! children are `2k` and `2k + 1`, a leaf above the bottom is continued by splits at `+∞` that
//! send every row left, and its path length `depth + c(m)`, computed when the tree is grown,
//! sits in the leftmost bottom slot. A walk is then exactly `⌈log₂ ψ⌉` steps of
//! `k ← 2k + (x[feat[k]] > thr[k])`: no child index to load, no branch, and indices masked into
//! fixed-size arrays so that no bounds check is needed. A batch is scored 256 rows at a time,
//! transposed, every row taking one step before any takes the next, so that the processor
//! overlaps the two dependent loads of a step across rows. Taller or wider forests use linked
//! 16-byte nodes (split, feature, left child; the right child follows it; a leaf points to
//! itself) and are slower, not different: both layouts give identical scores.

use prescient_core::{Detection, Error, Result, Score, Timestamp, VectorDetector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::refit_window::{RefitWindow, derive_seed};

/// The Euler–Mascheroni constant, as scikit-learn spells it (`np.euler_gamma`).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Rows scored against every tree before moving on, so that they stay in the L1 cache.
const BLOCK: usize = 256;

/// `c(n)`: the average path length of an unsuccessful search in a binary search tree of `n`
/// keys, `2(ln(n − 1) + γ) − 2(n − 1)/n`, with `c(2) = 1` and `c(n) = 0` for `n ≤ 1`.
///
/// It normalises path lengths in an [`IsolationForest`] (`c(ψ)`) and estimates the depth still
/// to go below a leaf that holds `n` training rows.
///
/// # Example
///
/// ```
/// use prescient_detect::average_path_length;
///
/// assert_eq!(average_path_length(1), 0.0);
/// assert_eq!(average_path_length(2), 1.0);
/// assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
/// ```
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// The isolation forest: the entry point to its [`IsolationForestParams`].
///
/// # Example
///
/// ```
/// use prescient_detect::IsolationForest;
///
/// // 200 points on a small grid around the origin, then one far away; rows are stored one
/// // after the other (row-major), 2 values each.
/// let mut data = Vec::new();
/// for i in 0..200 {
///     data.extend([(i % 20) as f64 * 0.1, (i / 20) as f64 * 0.1]);
/// }
/// data.extend([25.0, -30.0]);
/// let model = IsolationForest::params().n_trees(100).subsample(256).seed(42).fit(&data, 2)?;
///
/// let mut scores = vec![0.0; 201];
/// model.score_batch_inplace(&data, &mut scores)?;
/// let outlier = scores[200];
/// assert!(scores[..200].iter().all(|&s| s < outlier));
/// assert!(outlier > 0.7 && outlier <= 1.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsolationForest;

impl IsolationForest {
    /// The default parameters: 100 trees, subsamples of 256 rows, seed 0.
    pub fn params() -> IsolationForestParams {
        IsolationForestParams::default()
    }
}

/// The settings of an [`IsolationForest`], checked when it is fitted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IsolationForestParams {
    n_trees: usize,
    subsample: usize,
    seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        IsolationForestParams {
            n_trees: 100,
            subsample: 256,
            seed: 0,
        }
    }
}

/// The most trees a forest may have.
const MAX_TREES: usize = 1 << 20;

impl IsolationForestParams {
    /// Sets the number of trees (default 100, at least 1).
    pub fn n_trees(mut self, n_trees: usize) -> Self {
        self.n_trees = n_trees;
        self
    }

    /// Sets the number of rows each tree is grown on (default 256, at least 2); a data set with
    /// fewer rows is used whole.
    pub fn subsample(mut self, subsample: usize) -> Self {
        self.subsample = subsample;
        self
    }

    /// Sets the seed of the random numbers (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the parameters on their own.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `n_trees` is 0 or above 2²⁰, or `subsample` is below 2.
    pub fn check(&self) -> Result<()> {
        if self.n_trees == 0 || self.n_trees > MAX_TREES {
            return Err(Error::InvalidParam {
                name: "n_trees",
                reason: format!("must be in [1, {MAX_TREES}], got {}", self.n_trees),
            });
        }
        if self.subsample < 2 {
            return Err(Error::InvalidParam {
                name: "subsample",
                reason: format!("must be at least 2, got {}", self.subsample),
            });
        }
        Ok(())
    }

    /// Grows the forest on `data`: rows of `dim` values each, one after the other.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] for invalid parameters (see [`IsolationForestParams::check`]),
    ///   a `dim` of 0, a `data` length that is not a multiple of `dim`, or a forest too large
    ///   to index (more than 2³² nodes in all);
    /// - [`Error::NotEnoughData`] for fewer than 2 rows;
    /// - [`Error::NonFinite`] for a NaN or infinite value (its index in `data`).
    pub fn fit(&self, data: &[f64], dim: usize) -> Result<IsolationForestModel> {
        let mut model = IsolationForestModel::empty(dim);
        self.fit_into(data, dim, &mut Scratch::default(), &mut model)?;
        Ok(model)
    }

    /// [`IsolationForestParams::fit`] into an existing model, reusing its memory and `scratch`.
    /// On error `model` is left as it was.
    pub(crate) fn fit_into(
        &self,
        data: &[f64],
        dim: usize,
        scratch: &mut Scratch,
        model: &mut IsolationForestModel,
    ) -> Result<()> {
        self.fit_layout(data, dim, scratch, model, true)
    }

    /// [`IsolationForestParams::fit_into`], storing the trees in heap order only if `allow_heap`
    /// and they fit (tests compare both layouts).
    fn fit_layout(
        &self,
        data: &[f64],
        dim: usize,
        scratch: &mut Scratch,
        model: &mut IsolationForestModel,
        allow_heap: bool,
    ) -> Result<()> {
        self.check()?;
        let n = check_rows(data, dim)?;
        if n < 2 {
            return Err(Error::NotEnoughData { needed: 2, got: n });
        }
        if let Some(index) = data.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let psi = self.subsample.min(n);
        let max_nodes = self.n_trees.saturating_mul(2 * psi - 1);
        if n > u32::MAX as usize || max_nodes > u32::MAX as usize || dim > u32::MAX as usize {
            return Err(Error::InvalidParam {
                name: "data",
                reason: format!(
                    "a forest of {} trees on {psi} of {n} rows is too large to index",
                    self.n_trees
                ),
            });
        }
        // ⌈log₂ ψ⌉ for ψ ≥ 2, computed exactly on integers.
        let height = usize::BITS - (psi - 1).leading_zeros();
        let heap = allow_heap && height <= HEAP_HEIGHT && dim <= HEAP_MAX_DIM;

        model.dim = dim;
        model.psi = psi;
        model.n_trees = self.n_trees;
        model.norm = 1.0 / (self.n_trees as f64 * average_path_length(psi));
        model.heap.clear(height);
        model.linked.clear();
        if heap {
            model.heap.reserve(self.n_trees);
        } else {
            model.linked.reserve(self.n_trees, max_nodes);
        }

        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        scratch.perm.clear();
        scratch.perm.extend(0..n as u32);
        scratch.feats.clear();
        scratch.feats.extend(0..dim as u32);
        for _ in 0..self.n_trees {
            // A partial Fisher–Yates shuffle: the first ψ entries become a uniform random subset
            // whatever order the previous trees left the permutation in.
            scratch.sample.clear();
            for i in 0..psi {
                let j = rng.gen_range(i..n);
                scratch.perm.swap(i, j);
                let r = scratch.perm[i] as usize * dim;
                scratch.sample.extend_from_slice(&data[r..r + dim]);
            }
            let tree_height = grow_tree(&mut rng, dim, psi, height, scratch);
            if heap {
                model.heap.push(&scratch.nodes, &scratch.values);
            } else {
                model
                    .linked
                    .push(&scratch.nodes, &scratch.values, tree_height);
            }
        }
        Ok(())
    }
}

/// The number of rows in `data`, checked against `dim`.
fn check_rows(data: &[f64], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(Error::InvalidParam {
            name: "dim",
            reason: "must be at least 1".into(),
        });
    }
    if data.len() % dim != 0 {
        return Err(Error::InvalidParam {
            name: "data",
            reason: format!(
                "length {} is not a multiple of the dimension {dim}",
                data.len()
            ),
        });
    }
    Ok(data.len() / dim)
}

/// Working memory for growing trees, kept between refits by the streaming detector.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    /// A permutation of the row indices; its first ψ entries are the current subsample.
    perm: Vec<u32>,
    /// The subsample's rows, copied next to each other.
    sample: Vec<f64>,
    /// A permutation of the subsample's rows; each node owns a contiguous range of it.
    rows: Vec<u32>,
    /// A permutation of the features, to draw them without replacement.
    feats: Vec<u32>,
    /// Nodes still to split: (node, start, end, depth).
    stack: Vec<(u32, u32, u32, u32)>,
    /// The tree being grown, in linked form (indices from 0).
    nodes: Vec<Node>,
    /// Its leaves' path lengths.
    values: Vec<f64>,
}

/// Grows one tree on `scratch.sample` (`psi` rows of `dim` values) into `scratch.nodes` and
/// `scratch.values`, and returns the depth of its deepest leaf.
fn grow_tree(
    rng: &mut ChaCha8Rng,
    dim: usize,
    psi: usize,
    height: u32,
    scratch: &mut Scratch,
) -> u32 {
    let Scratch {
        sample,
        rows,
        feats,
        stack,
        nodes,
        values,
        ..
    } = scratch;
    rows.clear();
    rows.extend(0..psi as u32);
    stack.clear();
    nodes.clear();
    values.clear();
    nodes.push(Node::leaf(0));
    values.push(0.0);
    stack.push((0, 0, psi as u32, 0));
    let mut tree_height = 0;

    while let Some((id, start, end, depth)) = stack.pop() {
        let (lo, hi) = (start as usize, end as usize);
        let node_rows = &mut rows[lo..hi];
        let split = if depth < height && node_rows.len() >= 2 {
            draw_split(rng, sample, dim, node_rows, feats)
        } else {
            None
        };
        let Some((feat, thr)) = split else {
            // The node stays a leaf: it points to itself.
            values[id as usize] = depth as f64 + average_path_length(node_rows.len());
            tree_height = tree_height.max(depth);
            continue;
        };
        let mid = lo + partition(node_rows, sample, dim, feat as usize, thr);
        let left = nodes.len() as u32;
        nodes[id as usize] = Node { thr, feat, left };
        nodes.push(Node::leaf(left));
        nodes.push(Node::leaf(left + 1));
        values.extend([0.0, 0.0]);
        stack.push((left + 1, mid as u32, end, depth + 1));
        stack.push((left, start, mid as u32, depth + 1));
    }
    tree_height
}

/// Draws a split for the node holding `node_rows`: a feature uniformly among those that are not
/// constant on these rows (drawn without replacement until one is found, as scikit-learn's
/// `RandomSplitter` does), and a threshold uniformly in `[min, max)` of that feature. `None` when
/// every feature is constant.
fn draw_split(
    rng: &mut ChaCha8Rng,
    sample: &[f64],
    dim: usize,
    node_rows: &[u32],
    feats: &mut [u32],
) -> Option<(u32, f64)> {
    let mut left = feats.len();
    while left > 0 {
        let j = rng.gen_range(0..left);
        left -= 1;
        feats.swap(j, left);
        let f = feats[left];
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for &r in node_rows.iter() {
            let x = sample[r as usize * dim + f as usize];
            min = min.min(x);
            max = max.max(x);
        }
        if max > min {
            let u: f64 = rng.r#gen();
            // scikit-learn's `rand_uniform(min, max)`; the fallbacks only matter when the range
            // overflows or rounds up to `max`, and keep both children non-empty.
            let mut thr = (max - min) * u + min;
            if !thr.is_finite() {
                thr = min * (1.0 - u) + max * u;
            }
            if !(thr >= min && thr < max) {
                thr = min;
            }
            return Some((f, thr));
        }
    }
    None
}

/// Moves the rows whose feature `feat` is `≤ thr` to the front of `node_rows` and returns how
/// many there are.
fn partition(node_rows: &mut [u32], sample: &[f64], dim: usize, feat: usize, thr: f64) -> usize {
    let mut mid = 0;
    for i in 0..node_rows.len() {
        if sample[node_rows[i] as usize * dim + feat] <= thr {
            node_rows.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

/// One node of a linked tree: an internal node sends a row to `left` when `row[feat] ≤ thr` and
/// to `left + 1` otherwise; a leaf has `thr = +∞` and `left` pointing to itself.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Node {
    thr: f64,
    feat: u32,
    left: u32,
}

impl Node {
    fn leaf(id: u32) -> Self {
        Node {
            thr: f64::INFINITY,
            feat: 0,
            left: id,
        }
    }

    /// The next node for `row`.
    #[inline(always)]
    fn next(self, row: &[f64]) -> u32 {
        self.left + u32::from(row[self.feat as usize] > self.thr)
    }
}

/// The height limit up to which trees are stored in heap order (ψ ≤ 256, the default).
const HEAP_HEIGHT: u32 = 8;

/// The slots of a tree in heap order: node `k`'s children are `2k` and `2k + 1`, the root is 1.
const HEAP: usize = 1 << HEAP_HEIGHT;

/// The largest dimension for which trees are stored in heap order (features are bytes).
const HEAP_MAX_DIM: usize = 256;

/// Dimensions up to this one are scored with a smaller transposed block.
const SMALL_DIM: usize = 16;

/// Trees in heap order, each padded to the full height: below a leaf that is not at full depth,
/// the slots hold splits at `+∞` (every row goes left), and the leaf's path length sits in the
/// leftmost bottom slot. A walk is then exactly `height` steps of `k ← 2k + (x > thr)`, with no
/// child index to load, and every index is masked into a fixed-size array, so the compiler
/// needs no bounds check.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct HeapTrees {
    height: u32,
    /// `HEAP` split features per tree (slot 0 unused).
    feat: Vec<u8>,
    /// `HEAP` split thresholds per tree.
    thr: Vec<f64>,
    /// `HEAP` path lengths per tree, for the `2^height` bottom slots.
    leaf: Vec<f64>,
}

impl HeapTrees {
    fn clear(&mut self, height: u32) {
        self.height = height;
        self.feat.clear();
        self.thr.clear();
        self.leaf.clear();
    }

    fn reserve(&mut self, n_trees: usize) {
        self.feat.reserve(n_trees * HEAP);
        self.thr.reserve(n_trees * HEAP);
        self.leaf.reserve(n_trees * HEAP);
    }

    #[cfg(test)]
    fn n_trees(&self) -> usize {
        self.leaf.len() / HEAP
    }

    /// Appends the linked tree `nodes` (root 0, height at most `self.height`).
    fn push(&mut self, nodes: &[Node], values: &[f64]) {
        let base = self.leaf.len();
        self.feat.resize(base + HEAP, 0);
        self.thr.resize(base + HEAP, f64::INFINITY);
        self.leaf.resize(base + HEAP, 0.0);
        let mut stack = [(0u32, 1usize, 0u32); 2 * HEAP_HEIGHT as usize + 2];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (id, slot, depth) = stack[top];
            let node = nodes[id as usize];
            if node.left == id {
                // The leftmost bottom slot below `slot`, as a leaf index in 0..2^height.
                let bottom = (slot << (self.height - depth)) - (1 << self.height);
                self.leaf[base + bottom] = values[id as usize];
            } else {
                // `feat < dim ≤ 256`.
                self.feat[base + slot] = node.feat as u8;
                self.thr[base + slot] = node.thr;
                stack[top] = (node.left + 1, 2 * slot + 1, depth + 1);
                stack[top + 1] = (node.left, 2 * slot, depth + 1);
                top += 2;
            }
        }
    }

    /// The sum of the path lengths of `row` over all trees.
    fn path_length_sum(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        let mask = (1 << self.height) - 1;
        for ((feat, thr), leaf) in self
            .feat
            .chunks_exact(HEAP)
            .zip(self.thr.chunks_exact(HEAP))
            .zip(self.leaf.chunks_exact(HEAP))
        {
            let (Ok(feat), Ok(thr), Ok(leaf)) = (
                <&[u8; HEAP]>::try_from(feat),
                <&[f64; HEAP]>::try_from(thr),
                <&[f64; HEAP]>::try_from(leaf),
            ) else {
                continue;
            };
            let mut k = 1;
            for _ in 0..self.height {
                let j = k & (HEAP - 1);
                k = 2 * k + usize::from(row[usize::from(feat[j])] > thr[j]);
            }
            sum += leaf[k & mask & (HEAP - 1)];
        }
        sum
    }

    /// Adds the path lengths over all trees of the rows in `block` to `acc`, one per row:
    /// `block` holds `acc.len()` rows transposed (value `f` of row `r` at `f·BLOCK + r`), and has
    /// room for `FEATS` features, a power of two above the dimension.
    ///
    /// All rows take a step in a tree before any takes the next, and the positions live in an
    /// array rather than registers: the steps of different rows are independent, so the
    /// processor overlaps the two dependent loads of each step (the split, then the row's value)
    /// across many rows.
    fn add_path_lengths<const FEATS: usize>(&self, block: &[f64], acc: &mut [f64]) {
        let Some(block) = block.get(..FEATS * BLOCK) else {
            return;
        };
        let mask = (1 << self.height) - 1;
        // Rows are walked four at a time; up to three rows past `acc.len()` are finite leftovers
        // whose paths are ignored. A full block gets a loop of constant length.
        let mut pos = [1usize; BLOCK];
        let n = acc.len().next_multiple_of(4).min(BLOCK);
        for ((feat, thr), leaf) in self
            .feat
            .chunks_exact(HEAP)
            .zip(self.thr.chunks_exact(HEAP))
            .zip(self.leaf.chunks_exact(HEAP))
        {
            let (Ok(feat), Ok(thr), Ok(leaf)) = (
                <&[u8; HEAP]>::try_from(feat),
                <&[f64; HEAP]>::try_from(thr),
                <&[f64; HEAP]>::try_from(leaf),
            ) else {
                continue;
            };
            if n == BLOCK {
                walk::<FEATS>(self.height, feat, thr, block, &mut pos);
            } else {
                walk::<FEATS>(self.height, feat, thr, block, &mut pos[..n]);
            }
            for (a, &k) in acc.iter_mut().zip(pos.iter()) {
                *a += leaf[k & mask & (HEAP - 1)];
            }
        }
    }
}

/// Walks the rows of `block` (see [`HeapTrees::add_path_lengths`]) down one tree, `height`
/// steps, leaving each row's final slot in `pos`.
#[inline(always)]
fn walk<const FEATS: usize>(
    height: u32,
    feat: &[u8; HEAP],
    thr: &[f64; HEAP],
    block: &[f64],
    pos: &mut [usize],
) {
    pos.fill(1);
    for _ in 0..height {
        // Four rows per iteration: the loop overhead is shared.
        for (r4, k4) in pos.chunks_exact_mut(4).enumerate() {
            for (l, k) in k4.iter_mut().enumerate() {
                let j = *k & (HEAP - 1);
                // The mask is a no-op (`feat < FEATS`, row < BLOCK) that spares a bounds check.
                let at = (usize::from(feat[j]) * BLOCK + 4 * r4 + l) & (FEATS * BLOCK - 1);
                *k = 2 * *k + usize::from(block[at] > thr[j]);
            }
        }
    }
}

/// Trees in linked form, for forests too tall or too wide for [`HeapTrees`]: one flat array of
/// 16-byte nodes for all trees, child indices absolute.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct LinkedTrees {
    nodes: Vec<Node>,
    /// The path length `depth + c(m)` at each leaf (0 for internal nodes).
    values: Vec<f64>,
    roots: Vec<u32>,
    /// The depth of each tree's deepest leaf: the number of steps a walk needs.
    heights: Vec<u32>,
}

impl LinkedTrees {
    fn clear(&mut self) {
        self.nodes.clear();
        self.values.clear();
        self.roots.clear();
        self.heights.clear();
    }

    fn reserve(&mut self, n_trees: usize, max_nodes: usize) {
        self.nodes.reserve(max_nodes.min(1 << 24));
        self.values.reserve(max_nodes.min(1 << 24));
        self.roots.reserve(n_trees);
        self.heights.reserve(n_trees);
    }

    /// Appends the tree `nodes` (root 0), shifting its indices.
    fn push(&mut self, nodes: &[Node], values: &[f64], height: u32) {
        // The caller checked that all nodes of the forest can be indexed by a `u32`.
        let base = self.nodes.len() as u32;
        self.roots.push(base);
        self.heights.push(height);
        self.nodes.extend(nodes.iter().map(|n| Node {
            left: n.left + base,
            ..*n
        }));
        self.values.extend_from_slice(values);
    }

    /// The sum of the path lengths of `row` over all trees.
    fn path_length_sum(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (&root, &height) in self.roots.iter().zip(&self.heights) {
            let mut id = root;
            for _ in 0..height {
                id = self.nodes[id as usize].next(row);
            }
            sum += self.values[id as usize];
        }
        sum
    }

    /// Adds the path lengths over all trees of `rows` (row-major) to `acc`, one per row.
    fn add_path_lengths(&self, rows: &[f64], dim: usize, acc: &mut [f64]) {
        let nodes = &self.nodes[..];
        let mut pos = [0u32; BLOCK];
        let pos = &mut pos[..acc.len()];
        for (&root, &height) in self.roots.iter().zip(&self.heights) {
            pos.fill(root);
            for _ in 0..height {
                for (row, k) in rows.chunks_exact(dim).zip(pos.iter_mut()) {
                    *k = nodes[*k as usize].next(row);
                }
            }
            for (a, &k) in acc.iter_mut().zip(pos.iter()) {
                *a += self.values[k as usize];
            }
        }
    }
}

/// A fitted isolation forest, from [`IsolationForestParams::fit`].
///
/// Scoring allocates nothing for one row, and one buffer per batch (32 KiB for up to 16
/// features, 512 KiB above, of which `16 · dim` KiB are touched); it never fails on rows of the
/// right dimension with finite values. With the `serde` feature a model can
/// be saved and restored; a restored model is checked, so a corrupted one is an error rather
/// than a panic.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "raw::IsolationForestModel"))]
pub struct IsolationForestModel {
    dim: usize,
    psi: usize,
    n_trees: usize,
    /// `1 / (n_trees · c(ψ))`.
    norm: f64,
    /// The trees, when `⌈log₂ ψ⌉ ≤ 8` and `dim ≤ 256` (otherwise empty).
    heap: HeapTrees,
    /// The trees otherwise (otherwise empty).
    linked: LinkedTrees,
}

impl IsolationForestModel {
    fn empty(dim: usize) -> Self {
        IsolationForestModel {
            dim,
            psi: 0,
            n_trees: 0,
            norm: 0.0,
            heap: HeapTrees::default(),
            linked: LinkedTrees::default(),
        }
    }

    /// The dimension of the rows.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of trees.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// The number of rows each tree was grown on, `ψ`.
    pub fn subsample(&self) -> usize {
        self.psi
    }

    /// The anomaly score of `row`, `2^(−E[h(x)] / c(ψ))` in `(0, 1]`: about 0.5 or below for
    /// ordinary rows, close to 1 for rows that are isolated at once.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `row` does not have [`IsolationForestModel::dim`] values,
    /// and [`Error::NonFinite`] for a NaN or infinite value.
    pub fn score(&self, row: &[f64]) -> Result<f64> {
        self.check_row(row)?;
        Ok(self.score_unchecked(row))
    }

    /// The scores of `rows` (row-major, [`IsolationForestModel::dim`] values each) into `out`,
    /// one per row; the same as [`IsolationForestModel::score`] row by row, only faster.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] when `rows.len()` is not `out.len() · dim`, and
    /// [`Error::NonFinite`] for a NaN or infinite value (its index in `rows`); `out` is then
    /// left as it was.
    pub fn score_batch_inplace(&self, rows: &[f64], out: &mut [f64]) -> Result<()> {
        if rows.len() != out.len().saturating_mul(self.dim) {
            return Err(Error::SchemaMismatch {
                expected: out.len().saturating_mul(self.dim),
                got: rows.len(),
            });
        }
        if let Some(index) = rows.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let dim = self.dim;
        let heap = self.linked.roots.is_empty();
        let mut acc = [0.0; BLOCK];
        // The block's rows, transposed for the heap layout, with room for a power of two of
        // features so that indices can be masked rather than checked.
        let feats = if dim <= SMALL_DIM {
            SMALL_DIM
        } else {
            HEAP_MAX_DIM
        };
        let mut block = if heap {
            vec![0.0; feats * BLOCK]
        } else {
            Vec::new()
        };
        for (rows, out) in rows.chunks(BLOCK * dim).zip(out.chunks_mut(BLOCK)) {
            let acc = &mut acc[..out.len()];
            acc.fill(0.0);
            if heap {
                for (r, row) in rows.chunks_exact(dim).enumerate() {
                    for (f, &x) in row.iter().enumerate() {
                        block[f * BLOCK + r] = x;
                    }
                }
                if dim <= SMALL_DIM {
                    self.heap.add_path_lengths::<SMALL_DIM>(&block, acc);
                } else {
                    self.heap.add_path_lengths::<HEAP_MAX_DIM>(&block, acc);
                }
            } else {
                self.linked.add_path_lengths(rows, dim, acc);
            }
            for (s, a) in out.iter_mut().zip(acc.iter()) {
                *s = (-a * self.norm).exp2();
            }
        }
        Ok(())
    }

    /// The scores of `rows`, in a new vector.
    ///
    /// # Errors
    ///
    /// As [`IsolationForestModel::score_batch_inplace`], with `SchemaMismatch` when `rows.len()`
    /// is not a multiple of the dimension.
    pub fn score_batch(&self, rows: &[f64]) -> Result<Vec<f64>> {
        let n = rows.len() / self.dim.max(1);
        let mut out = vec![0.0; n];
        self.score_batch_inplace(rows, &mut out)?;
        Ok(out)
    }

    fn check_row(&self, row: &[f64]) -> Result<()> {
        if row.len() != self.dim {
            return Err(Error::SchemaMismatch {
                expected: self.dim,
                got: row.len(),
            });
        }
        if let Some(index) = row.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        Ok(())
    }

    /// The score of a row already checked.
    fn score_unchecked(&self, row: &[f64]) -> f64 {
        let sum = if self.linked.roots.is_empty() {
            self.heap.path_length_sum(row)
        } else {
            self.linked.path_length_sum(row)
        };
        (-sum * self.norm).exp2()
    }
}

#[cfg(feature = "serde")]
mod raw {
    use super::{HEAP, HEAP_HEIGHT, HeapTrees, LinkedTrees};
    use prescient_core::Error;

    /// An [`super::IsolationForestModel`] as stored, before it is checked.
    #[derive(serde::Deserialize)]
    pub(super) struct IsolationForestModel {
        dim: usize,
        psi: usize,
        n_trees: usize,
        norm: f64,
        heap: HeapTrees,
        linked: LinkedTrees,
    }

    fn heap_ok(h: &HeapTrees, dim: usize, n_trees: usize) -> bool {
        let len = n_trees.checked_mul(HEAP);
        (1..=HEAP_HEIGHT).contains(&h.height)
            && Some(h.feat.len()) == len
            && Some(h.thr.len()) == len
            && Some(h.leaf.len()) == len
            && h.feat.iter().all(|&f| usize::from(f) < dim)
            && !h.thr.iter().any(|t| t.is_nan())
            && h.leaf.iter().all(|v| v.is_finite())
    }

    fn linked_ok(t: &LinkedTrees, dim: usize, n_trees: usize) -> bool {
        let n = t.nodes.len();
        t.values.len() == n
            && t.roots.len() == n_trees
            && t.heights.len() == n_trees
            && t.values.iter().all(|v| v.is_finite())
            && t.roots.iter().all(|&r| (r as usize) < n)
            && t.nodes.iter().enumerate().all(|(i, node)| {
                let leaf = node.left as usize == i && node.thr == f64::INFINITY;
                let inner = (node.left as usize) < n.saturating_sub(1) && !node.thr.is_nan();
                (leaf || inner) && (node.feat as usize) < dim
            })
    }

    impl TryFrom<IsolationForestModel> for super::IsolationForestModel {
        type Error = Error;

        fn try_from(m: IsolationForestModel) -> Result<Self, Error> {
            let empty_heap =
                m.heap.leaf.is_empty() && m.heap.feat.is_empty() && m.heap.thr.is_empty();
            let ok = m.dim > 0
                && m.n_trees > 0
                && m.norm.is_finite()
                && m.norm > 0.0
                && if m.linked.roots.is_empty() {
                    m.linked.nodes.is_empty() && heap_ok(&m.heap, m.dim, m.n_trees)
                } else {
                    empty_heap && linked_ok(&m.linked, m.dim, m.n_trees)
                };
            if !ok {
                return Err(Error::InvalidParam {
                    name: "model",
                    reason: "inconsistent or corrupted isolation forest".into(),
                });
            }
            Ok(super::IsolationForestModel {
                dim: m.dim,
                psi: m.psi,
                n_trees: m.n_trees,
                norm: m.norm,
                heap: m.heap,
                linked: m.linked,
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::IsolationForest;
        use super::*;

        fn raw(m: &super::super::IsolationForestModel) -> IsolationForestModel {
            IsolationForestModel {
                dim: m.dim,
                psi: m.psi,
                n_trees: m.n_trees,
                norm: m.norm,
                heap: m.heap.clone(),
                linked: m.linked.clone(),
            }
        }

        type Model = super::super::IsolationForestModel;

        #[test]
        fn corrupted_models_are_rejected() {
            let data: Vec<f64> = (0..40).map(f64::from).collect();
            let m = IsolationForest::params().n_trees(3).fit(&data, 2).unwrap();
            assert_eq!(Model::try_from(raw(&m)), Ok(m.clone()));
            let mut r = raw(&m);
            r.heap.feat[5] = 2;
            assert!(Model::try_from(r).is_err());
            let mut r = raw(&m);
            r.heap.leaf.pop();
            assert!(Model::try_from(r).is_err());
            let mut r = raw(&m);
            r.heap.height = 9;
            assert!(Model::try_from(r).is_err());

            // A tall forest is stored linked.
            let data: Vec<f64> = (0..600).map(f64::from).collect();
            let m = IsolationForest::params()
                .n_trees(3)
                .subsample(512)
                .fit(&data, 1)
                .unwrap();
            assert!(!m.linked.roots.is_empty());
            assert_eq!(Model::try_from(raw(&m)), Ok(m.clone()));
            let mut r = raw(&m);
            r.linked.nodes[0].left = 1_000_000;
            assert!(Model::try_from(r).is_err());
            let mut r = raw(&m);
            r.linked.nodes[0].feat = 1;
            assert!(Model::try_from(r).is_err());
            let mut r = raw(&m);
            r.linked.roots[1] = u32::MAX;
            assert!(Model::try_from(r).is_err());
            let mut r = raw(&m);
            r.linked.values.pop();
            assert!(Model::try_from(r).is_err());
        }
    }
}

/// The settings of a [`StreamingIsolationForest`], checked by
/// [`StreamingIsolationForestParams::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StreamingIsolationForestParams {
    forest: IsolationForestParams,
    window: usize,
    min_points: usize,
    refit_every: usize,
}

impl Default for StreamingIsolationForestParams {
    fn default() -> Self {
        StreamingIsolationForestParams {
            forest: IsolationForestParams::default(),
            window: 2048,
            min_points: 256,
            refit_every: 256,
        }
    }
}

impl StreamingIsolationForestParams {
    /// Sets the forest's parameters (trees, subsample, seed).
    pub fn forest(mut self, forest: IsolationForestParams) -> Self {
        self.forest = forest;
        self
    }

    /// Sets the number of trees (default 100).
    pub fn n_trees(mut self, n_trees: usize) -> Self {
        self.forest = self.forest.n_trees(n_trees);
        self
    }

    /// Sets the rows each tree is grown on, drawn from the window (default 256).
    pub fn subsample(mut self, subsample: usize) -> Self {
        self.forest = self.forest.subsample(subsample);
        self
    }

    /// Sets the seed; the `k`-th refit uses a seed derived from it and `k` (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.forest = self.forest.seed(seed);
        self
    }

    /// Sets how many of the latest vectors are kept to fit on (default 2048, at least 2).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Sets how many vectors must be stored before the first fit (default 256, in
    /// `[2, window]`).
    pub fn min_points(mut self, min_points: usize) -> Self {
        self.min_points = min_points;
        self
    }

    /// Sets how many vectors arrive between refits (default 256, at least 1).
    pub fn refit_every(mut self, refit_every: usize) -> Self {
        self.refit_every = refit_every;
        self
    }

    /// A detector of vectors of dimension `dim` with these settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `dim` is 0, the forest's parameters are invalid (see
    /// [`IsolationForestParams::check`]), `window` is below 2 or too large for its memory to be
    /// indexed, `min_points` is outside `[2, window]`, or `refit_every` is 0.
    pub fn build(self, dim: usize) -> Result<StreamingIsolationForest> {
        self.forest.check()?;
        let window = RefitWindow::new(dim, self.window, self.min_points, self.refit_every)?;
        Ok(StreamingIsolationForest {
            params: self,
            window,
            model: None,
            scratch: Scratch::default(),
        })
    }
}

/// A streaming isolation forest over vectors of a fixed dimension: each vector is scored by a
/// forest grown on the `window` vectors before it, then stored.
///
/// The first forest is grown once `min_points` vectors are stored, and a new one every
/// `refit_every` vectors after that, on a subsample of the window; a vector's score therefore
/// depends only on earlier vectors. The `k`-th forest's seed is derived from the parameters' seed
/// and `k`, so a replay gives the same scores. Memory is bounded by the window: `window · dim`
/// values plus one forest.
///
/// [`Detection::deviation`] is the forest's raw score `s` in `(0, 1]`; [`Detection::score`] is
/// the fixed mapping `max(0, 2(s − 0.5))`, which puts the paper's "no clear anomaly" level of 0.5
/// at 0 and a row isolated at once at 1. That score is **not calibrated**: the share of ordinary
/// points above a given level depends on the data; put a calibrator on top to compare it with
/// other detectors.
///
/// # Example
///
/// ```
/// use prescient_core::{Timestamp, VectorDetector};
/// use prescient_detect::StreamingIsolationForest;
///
/// let mut det = StreamingIsolationForest::params().min_points(64).seed(7).build(2)?;
/// let mut ordinary = Vec::new();
/// for i in 0..299u32 {
///     // Points scattered over the unit disk.
///     let (r, a) = ((f64::from(i) * 0.618_034).fract().sqrt(), f64::from(i) * 2.4);
///     if let Some(d) = det.update(Timestamp::from_secs(i64::from(i)), &[r * a.cos(), r * a.sin()])? {
///         ordinary.push(d.deviation);
///     }
/// }
/// // Then one far outside it: it scores above (almost) every ordinary point.
/// let far = det.update(Timestamp::from_secs(299), &[3.0, -3.0])?.expect("warmed up");
/// let above = ordinary.iter().filter(|&&s| s >= far.deviation).count();
/// assert!(above <= ordinary.len() / 50);
/// assert!(far.deviation > 0.6 && far.score.value() > 0.2);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StreamingIsolationForest {
    params: StreamingIsolationForestParams,
    window: RefitWindow,
    model: Option<IsolationForestModel>,
    #[cfg_attr(feature = "serde", serde(skip))]
    scratch: Scratch,
}

impl StreamingIsolationForest {
    /// The default settings: window 2048, first fit after 256 vectors, refit every 256, 100 trees
    /// on subsamples of 256, seed 0.
    pub fn params() -> StreamingIsolationForestParams {
        StreamingIsolationForestParams::default()
    }

    /// The settings.
    pub fn settings(&self) -> &StreamingIsolationForestParams {
        &self.params
    }

    /// The number of vectors in the window.
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The current forest, once the first one has been grown.
    pub fn model(&self) -> Option<&IsolationForestModel> {
        self.model.as_ref()
    }

    /// Grows the `k`-th forest on the window.
    fn refit(&mut self, k: u64) {
        let params = self
            .params
            .forest
            .clone()
            .seed(derive_seed(self.params.forest.seed, k));
        // The previous forest's memory is reused; `fit_into` leaves it as it was on error.
        let had_model = self.model.is_some();
        let mut model = self
            .model
            .take()
            .unwrap_or_else(|| IsolationForestModel::empty(self.window.dim()));
        // Every vector in the window is finite and the parameters were checked when the detector
        // was built, so this cannot fail; if it did, the previous forest would be kept.
        let (rows, dim) = (self.window.rows(), self.window.dim());
        let fitted = params.fit_into(rows, dim, &mut self.scratch, &mut model);
        if fitted.is_ok() || had_model {
            self.model = Some(model);
        }
    }
}

impl VectorDetector for StreamingIsolationForest {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "iforest"
    }

    fn dim(&self) -> usize {
        self.window.dim()
    }

    fn update(&mut self, _ts: Timestamp, x: &[f64]) -> Result<Option<Detection>> {
        self.window.check_dim(x)?;
        if x.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        let out = self.model.as_ref().map(|m| {
            let s = m.score_unchecked(x);
            Detection {
                score: Score::new((s - 0.5) * 2.0),
                deviation: s,
            }
        });
        if let Some(k) = self.window.push(x) {
            self.refit(k);
        }
        Ok(out)
    }

    fn reset(&mut self) {
        self.window.clear();
        self.model = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_distr_free::normal;

    /// Standard normal draws without another dependency (Box–Muller).
    mod rand_distr_free {
        use rand::Rng;

        pub(super) fn normal(rng: &mut impl Rng) -> f64 {
            let u: f64 = 1.0 - rng.r#gen::<f64>();
            let v: f64 = rng.r#gen();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// `n` rows of `dim` standard normal values.
    fn gaussian(n: usize, dim: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * dim).map(|_| normal(&mut rng)).collect()
    }

    #[test]
    fn average_path_length_matches_the_formula() {
        assert_eq!(average_path_length(0), 0.0);
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2(ln 2 + γ) − 4/3; the other values as numpy computes them.
        let c3 = 2.0 * (2f64.ln() + 0.577_215_664_901_532_9) - 4.0 / 3.0;
        assert!((average_path_length(3) - c3).abs() < 1e-15);
        assert!((average_path_length(3) - 1.207_392_357_589_623).abs() < 1e-12);
        assert!((average_path_length(256) - 10.244_770_920_119_917).abs() < 1e-12);
        assert!((average_path_length(100_000) - 22.180_282_259_643_523).abs() < 1e-10);
    }

    #[test]
    fn n_trees_cannot_be_zero() {
        let data = gaussian(10, 2, 1);
        let e = IsolationForest::params().n_trees(0).fit(&data, 2);
        assert!(matches!(
            e,
            Err(Error::InvalidParam {
                name: "n_trees",
                ..
            })
        ));
    }

    #[test]
    fn subsample_must_be_at_least_two() {
        let data = gaussian(10, 2, 1);
        let e = IsolationForest::params().subsample(1).fit(&data, 2);
        assert!(matches!(
            e,
            Err(Error::InvalidParam {
                name: "subsample",
                ..
            })
        ));
    }

    #[test]
    fn dim_must_divide_the_data() {
        let data = gaussian(10, 2, 1);
        assert!(matches!(
            IsolationForest::params().fit(&data, 0),
            Err(Error::InvalidParam { name: "dim", .. })
        ));
        assert!(matches!(
            IsolationForest::params().fit(&data, 3),
            Err(Error::InvalidParam { name: "data", .. })
        ));
    }

    #[test]
    fn needs_two_rows() {
        assert_eq!(
            IsolationForest::params().fit(&[1.0, 2.0], 2),
            Err(Error::NotEnoughData { needed: 2, got: 1 })
        );
        assert!(IsolationForest::params().fit(&[1.0, 2.0], 1).is_ok());
    }

    #[test]
    fn non_finite_data_is_rejected() {
        let mut data = gaussian(10, 2, 1);
        data[7] = f64::NAN;
        assert_eq!(
            IsolationForest::params().fit(&data, 2),
            Err(Error::NonFinite { index: 7 })
        );
        data[7] = f64::NEG_INFINITY;
        assert_eq!(
            IsolationForest::params().fit(&data, 2),
            Err(Error::NonFinite { index: 7 })
        );
    }

    #[test]
    fn scoring_checks_its_input() {
        let data = gaussian(50, 3, 1);
        let m = IsolationForest::params().fit(&data, 3).unwrap();
        assert_eq!(
            m.score(&[0.0, 1.0]),
            Err(Error::SchemaMismatch {
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            m.score(&[0.0, f64::NAN, 1.0]),
            Err(Error::NonFinite { index: 1 })
        );
        let mut out = vec![7.0; 2];
        assert!(m.score_batch_inplace(&data[..9], &mut out).is_err());
        assert_eq!(out, [7.0, 7.0]);
        assert!(m.score_batch(&data[..8]).is_err());
    }

    /// The same forest in linked form.
    fn linked(params: &IsolationForestParams, data: &[f64], dim: usize) -> IsolationForestModel {
        let mut m = IsolationForestModel::empty(dim);
        params
            .fit_layout(data, dim, &mut Scratch::default(), &mut m, false)
            .unwrap();
        m
    }

    #[test]
    fn trees_have_the_expected_shape() {
        let data = gaussian(1000, 4, 3);
        let params = IsolationForest::params().n_trees(20);
        let m = params.fit(&data, 4).unwrap();
        assert_eq!(m.n_trees(), 20);
        assert_eq!(m.subsample(), 256);
        // The height limit is ⌈log₂ 256⌉ = 8.
        assert_eq!(m.heap.height, 8);
        assert_eq!(m.heap.n_trees(), 20);
        assert!(m.linked.roots.is_empty());

        let l = linked(&params, &data, 4);
        assert!(l.linked.heights.iter().all(|&h| h <= 8));
        let leaves = l
            .linked
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| n.left as usize == *i)
            .count();
        // A binary tree has one more leaf than internal nodes.
        assert_eq!(leaves, l.linked.nodes.len() - leaves + 20);

        // Small data sets are used whole, with a lower height limit.
        let m = IsolationForest::params().fit(&data[..40], 4).unwrap();
        assert_eq!(m.subsample(), 10);
        assert_eq!(m.heap.height, 4);
        // Tall forests are linked.
        let m = IsolationForest::params()
            .subsample(300)
            .fit(&data, 4)
            .unwrap();
        assert!(m.heap.leaf.is_empty());
        assert!(m.linked.heights.iter().all(|&h| h <= 9));
    }

    #[test]
    fn heap_and_linked_forests_agree() {
        for (n, dim, psi) in [(1000, 4, 256), (50, 3, 256), (300, 1, 2), (700, 6, 100)] {
            let data = gaussian(n, dim, n as u64);
            let params = IsolationForest::params().n_trees(30).subsample(psi).seed(4);
            let heap = params.fit(&data, dim).unwrap();
            assert!(heap.linked.roots.is_empty());
            let l = linked(&params, &data, dim);
            assert!(l.heap.leaf.is_empty());
            let probe = gaussian(333, dim, 1);
            assert_eq!(
                heap.score_batch(&probe).unwrap(),
                l.score_batch(&probe).unwrap()
            );
            for row in probe.chunks(dim).take(20) {
                assert_eq!(heap.score(row).unwrap(), l.score(row).unwrap());
            }
        }
    }

    #[test]
    fn single_tree_on_two_rows_is_exact() {
        // ψ = 2, height 1: the root splits the two rows, each leaf holds one row at depth 1.
        // E[h] = 1 for every row and c(2) = 1, so every score is 2^−1.
        let m = IsolationForest::params()
            .n_trees(1)
            .fit(&[0.0, 1.0], 1)
            .unwrap();
        for x in [-5.0, 0.0, 0.3, 1.0, 8.0] {
            assert_eq!(m.score(&[x]).unwrap(), 0.5);
        }
    }

    #[test]
    fn constant_features_are_never_split() {
        // Feature 1 is constant: every split is on feature 0.
        let data: Vec<f64> = (0..100).flat_map(|i| [f64::from(i), 3.0]).collect();
        let m = IsolationForest::params().fit(&data, 2).unwrap();
        assert!(m.heap.feat.iter().all(|&f| f == 0));
        assert!(m.heap.thr.iter().any(|t| t.is_finite()));
        let l = linked(&IsolationForest::params(), &data, 2);
        assert!(l.linked.nodes.iter().all(|n| n.feat == 0));
        // All rows identical: every tree is a single leaf holding ψ rows, E[h] = c(ψ), s = 0.5.
        let flat = vec![1.5; 60];
        let m = IsolationForest::params().fit(&flat, 3).unwrap();
        assert!(m.heap.thr.iter().all(|t| t.is_infinite()));
        let l = linked(&IsolationForest::params(), &flat, 3);
        assert_eq!(l.linked.nodes.len(), l.n_trees());
        assert!((m.score(&[1.5, 1.5, 1.5]).unwrap() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn an_obvious_outlier_scores_highest() {
        let mut data = gaussian(2000, 5, 11);
        data.extend([8.0, -8.0, 8.0, -8.0, 8.0]);
        let m = IsolationForest::params().seed(3).fit(&data, 5).unwrap();
        let scores = m.score_batch(&data).unwrap();
        let outlier = scores[2000];
        assert!(outlier > 0.7, "{outlier}");
        assert!(scores[..2000].iter().all(|&s| s < outlier));
        let mean = scores[..2000].iter().sum::<f64>() / 2000.0;
        assert!(mean < 0.5, "{mean}");
    }

    #[test]
    fn batch_and_single_scores_agree() {
        let data = gaussian(1037, 3, 5);
        let m = IsolationForest::params().seed(9).fit(&data, 3).unwrap();
        let batch = m.score_batch(&data).unwrap();
        for (row, b) in data.chunks(3).zip(&batch) {
            assert_eq!(m.score(row).unwrap(), *b);
        }
    }

    #[test]
    fn same_seed_same_forest() {
        let data = gaussian(500, 3, 5);
        let a = IsolationForest::params().seed(1).fit(&data, 3).unwrap();
        let b = IsolationForest::params().seed(1).fit(&data, 3).unwrap();
        let c = IsolationForest::params().seed(2).fit(&data, 3).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn extreme_values_keep_both_children_non_empty() {
        let data = [-f64::MAX, 0.0, f64::MAX, 5e-324, -5e-324, 1e300];
        let m = IsolationForest::params().fit(&data, 1).unwrap();
        for x in data {
            let s = m.score(&[x]).unwrap();
            assert!(s > 0.0 && s <= 1.0);
        }
    }

    #[test]
    fn models_are_send_and_sync() {
        fn has_autotraits<T: Send + Sync + Unpin>() {}
        has_autotraits::<IsolationForestParams>();
        has_autotraits::<IsolationForestModel>();
        has_autotraits::<StreamingIsolationForest>();
    }

    #[test]
    fn streaming_parameters_are_checked() {
        let p = StreamingIsolationForest::params;
        assert!(p().build(0).is_err());
        assert!(p().window(1).build(2).is_err());
        assert!(p().window(100).build(2).is_err()); // min_points 256 > window
        assert!(p().window(100).min_points(100).build(2).is_ok());
        assert!(p().min_points(1).build(2).is_err());
        assert!(p().refit_every(0).build(2).is_err());
        assert!(p().n_trees(0).build(2).is_err());
        assert!(p().subsample(1).build(2).is_err());
        assert!(p().window(usize::MAX).build(2).is_err());
    }

    fn run(det: &mut StreamingIsolationForest, data: &[f64]) -> Vec<Option<Detection>> {
        data.chunks(det.dim())
            .map(|x| det.update(Timestamp::EPOCH, x).unwrap())
            .collect()
    }

    #[test]
    fn streaming_warms_up_then_scores_before_learning() {
        let data = gaussian(600, 2, 4);
        let mut det = StreamingIsolationForest::params()
            .window(200)
            .min_points(50)
            .refit_every(40)
            .seed(5)
            .build(2)
            .unwrap();
        let out = run(&mut det, &data);
        assert!(out[..50].iter().all(Option::is_none));
        assert!(out[50..].iter().all(Option::is_some));
        assert_eq!(det.len(), 200);
        // Fits after points 50, 90, ..., 570: 14 of them.
        assert_eq!(det.window.refits(), 14);

        // The score of point t depends only on the points before it: the same prefix gives the
        // same scores whatever follows.
        let mut other = StreamingIsolationForest::params()
            .window(200)
            .min_points(50)
            .refit_every(40)
            .seed(5)
            .build(2)
            .unwrap();
        let mut changed = data[..800].to_vec();
        changed.extend(gaussian(200, 2, 99));
        let out2 = run(&mut other, &changed);
        assert_eq!(out[..400], out2[..400]);
        assert_ne!(out[400..], out2[400..]);
    }

    #[test]
    fn streaming_flags_an_outlier() {
        let mut data = gaussian(1000, 3, 8);
        data.extend([6.0, 6.0, -6.0]);
        let mut det = StreamingIsolationForest::params().seed(1).build(3).unwrap();
        let out = run(&mut det, &data);
        let last = out[1000].unwrap();
        assert!(last.deviation > 0.7, "{last:?}");
        assert!(last.score.value() > 0.4);
        let typical: Vec<f64> = out[300..1000]
            .iter()
            .map(|d| d.unwrap().deviation)
            .collect();
        assert!(typical.iter().all(|&s| s < last.deviation));
    }

    #[test]
    fn streaming_skips_bad_vectors() {
        let data = gaussian(300, 2, 4);
        let mut det = StreamingIsolationForest::params()
            .min_points(100)
            .build(2)
            .unwrap();
        run(&mut det, &data);
        let before = (det.window.clone(), det.model.clone());
        assert_eq!(det.update(Timestamp::EPOCH, &[f64::NAN, 1.0]), Ok(None));
        assert_eq!(
            det.update(Timestamp::EPOCH, &[1.0, f64::INFINITY]),
            Ok(None)
        );
        assert_eq!(
            det.update(Timestamp::EPOCH, &[1.0, 2.0, 3.0]),
            Err(Error::SchemaMismatch {
                expected: 2,
                got: 3
            })
        );
        assert_eq!(before, (det.window.clone(), det.model.clone()));
    }

    #[test]
    fn streaming_reset_replays_identically() {
        let data = gaussian(700, 2, 6);
        let mut det = StreamingIsolationForest::params()
            .window(256)
            .min_points(64)
            .refit_every(100)
            .build(2)
            .unwrap();
        let a = run(&mut det, &data);
        det.reset();
        assert!(det.is_empty() && det.model().is_none());
        let b = run(&mut det, &data);
        assert_eq!(a, b);
    }

    proptest! {
        #[test]
        fn prop_scores_finite_and_in_range(
            dim in 1usize..5,
            rows in proptest::collection::vec(prop_oneof![
                -1e6..1e6f64, Just(0.0), Just(f64::MAX), Just(-f64::MAX), Just(5e-324)
            ], 2..400),
            seed in any::<u64>(),
        ) {
            let n = rows.len() / dim;
            prop_assume!(n >= 2);
            let data = &rows[..n * dim];
            let m = IsolationForest::params().n_trees(10).seed(seed).fit(data, dim).unwrap();
            let scores = m.score_batch(data).unwrap();
            for s in scores {
                prop_assert!(s.is_finite() && s > 0.0 && s <= 1.0, "{}", s);
            }
        }

        #[test]
        fn prop_same_seed_same_scores(seed in any::<u64>(), data_seed in 0u64..1000) {
            let data = gaussian(300, 3, data_seed);
            let a = IsolationForest::params().n_trees(5).seed(seed).fit(&data, 3).unwrap();
            let b = IsolationForest::params().n_trees(5).seed(seed).fit(&data, 3).unwrap();
            prop_assert_eq!(a.score_batch(&data).unwrap(), b.score_batch(&data).unwrap());
        }

        #[test]
        fn prop_streaming_detections_in_range(
            xs in proptest::collection::vec(prop_oneof![
                any::<f64>(), -10.0..10.0f64, Just(f64::NAN), Just(1e308)
            ], 0..600),
        ) {
            let mut det = StreamingIsolationForest::params()
                .window(64)
                .min_points(16)
                .refit_every(8)
                .n_trees(5)
                .build(2)
                .unwrap();
            for x in xs.chunks_exact(2) {
                if let Some(d) = det.update(Timestamp::EPOCH, x).unwrap() {
                    prop_assert!((0.0..=1.0).contains(&d.score.value()));
                    prop_assert!(d.deviation > 0.0 && d.deviation <= 1.0);
                }
            }
        }
    }
}
