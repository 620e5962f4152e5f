//! The network: one GRU layer over the window's steps and a linear head on its last state,
//! forward and backward (backpropagation through time) for a batch of windows.
//!
//! The cell is the one of Cho et al. (2014) as PyTorch writes it, with the reset gate applied
//! after the recurrent product:
//!
//! ```text
//! z = σ(x·Wz + bxz + h·Uz + bhz)
//! r = σ(x·Wr + bxr + h·Ur + bhr)
//! n = tanh(x·Wn + bxn + r ⊙ (h·Un + bhn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! and the head is `y = h_T·V + c`. A batch is a matrix (one window per row), so every product
//! is one matrix product through ndarray (which hands it to `matrixmultiply`'s blocked,
//! vectorised kernels); the gates are plain loops.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};
use rand::Rng;

/// The weights of a network, in one flat vector so that the optimiser, the gradient reduction
/// and serde treat them as one block.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Net {
    /// Width of a cell input.
    pub(crate) input: usize,
    /// Hidden units.
    pub(crate) hidden: usize,
    /// Outputs of the head.
    pub(crate) output: usize,
    /// `Wx (input × 3·hidden) | Uh (hidden × 3·hidden) | bx (3·hidden) | bh (3·hidden) |
    /// V (hidden × output) | c (output)`, each matrix row-major, gates in the order z, r, n.
    pub(crate) w: Vec<f64>,
}

/// Where each block of [`Net::w`] starts.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    uh: usize,
    bx: usize,
    bh: usize,
    v: usize,
    c: usize,
    end: usize,
}

fn offsets(input: usize, hidden: usize, output: usize) -> Offsets {
    let g = 3 * hidden;
    let uh = input * g;
    let bx = uh + hidden * g;
    let bh = bx + g;
    let v = bh + g;
    let c = v + hidden * output;
    Offsets {
        uh,
        bx,
        bh,
        v,
        c,
        end: c + output,
    }
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Default)]
pub(crate) struct Tape {
    /// Hidden states `h_0 … h_T` (`b × hidden` each).
    hs: Vec<Array2<f64>>,
    z: Vec<Array2<f64>>,
    r: Vec<Array2<f64>>,
    n: Vec<Array2<f64>>,
    /// `h·Un + bhn`, before the reset gate.
    cn: Vec<Array2<f64>>,
    /// Pre-activations of the gates, input and recurrent parts (scratch).
    a: Array2<f64>,
    c: Array2<f64>,
    /// The head's outputs, `b × output`.
    pub(crate) out: Array2<f64>,
}

/// The scratch of a backward pass, kept between batches to save allocations.
#[derive(Debug, Default)]
pub(crate) struct BackScratch {
    dh: Array2<f64>,
    dh_next: Array2<f64>,
    da: Array2<f64>,
    dc: Array2<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Makes `m` a zeroed `rows × cols` matrix, reusing its allocation when the shape matches.
fn zeroed(m: &mut Array2<f64>, rows: usize, cols: usize) {
    if m.dim() == (rows, cols) {
        m.fill(0.0);
    } else {
        *m = Array2::zeros((rows, cols));
    }
}

impl Net {
    /// The number of weights of a network of these sizes.
    #[cfg(any(test, feature = "serde"))]
    pub(crate) fn len_for(input: usize, hidden: usize, output: usize) -> usize {
        offsets(input, hidden, output).end
    }

    /// A network with weights drawn uniformly in `±1/√hidden` (PyTorch's GRU default), zero
    /// biases, and a head scaled down by 10 so that the first forecasts stay near the baseline.
    pub(crate) fn init<R: Rng>(input: usize, hidden: usize, output: usize, rng: &mut R) -> Net {
        let o = offsets(input, hidden, output);
        let bound = 1.0 / (hidden as f64).sqrt();
        let mut w = vec![0.0; o.end];
        for x in &mut w[..o.bx] {
            *x = rng.gen_range(-bound..bound);
        }
        for x in &mut w[o.v..o.c] {
            *x = rng.gen_range(-bound..bound) * 0.1;
        }
        Net {
            input,
            hidden,
            output,
            w,
        }
    }

    fn offsets(&self) -> Offsets {
        offsets(self.input, self.hidden, self.output)
    }

    /// The cell inputs of step `k` as a `b × input` view of `x`, which holds `b` windows of
    /// `steps × input` values each.
    fn step_view(x: &[f64], b: usize, steps: usize, input: usize, k: usize) -> ArrayView2<'_, f64> {
        let len = (b - 1) * steps * input + input;
        ArrayView2::from_shape(
            (b, input).strides((steps * input, 1)),
            &x[k * input..k * input + len],
        )
        .expect("the step view lies inside the batch")
    }

    /// Runs the network on `b` windows of `steps` cell inputs each (`x` holds
    /// `b × steps × input` values, window-major); the outputs are left in `tape.out`.
    pub(crate) fn forward(&self, x: &[f64], b: usize, steps: usize, tape: &mut Tape) {
        let (hd, o) = (self.hidden, self.offsets());
        let g = 3 * hd;
        let w = &self.w;
        let wx = ArrayView2::from_shape((self.input, g), &w[..o.uh]).expect("sizes agree");
        let uh = ArrayView2::from_shape((hd, g), &w[o.uh..o.bx]).expect("sizes agree");
        let (bx, bh) = (&w[o.bx..o.bh], &w[o.bh..o.v]);
        let v = ArrayView2::from_shape((hd, self.output), &w[o.v..o.c]).expect("sizes agree");
        let cb = &w[o.c..o.end];

        for list in [&mut tape.z, &mut tape.r, &mut tape.n, &mut tape.cn] {
            list.resize_with(steps, || Array2::zeros((0, 0)));
        }
        tape.hs.resize_with(steps + 1, || Array2::zeros((0, 0)));
        zeroed(&mut tape.hs[0], b, hd);
        for k in 0..steps {
            let xk = Self::step_view(x, b, steps, self.input, k);
            zeroed(&mut tape.a, b, g);
            zeroed(&mut tape.c, b, g);
            general_mat_mul(1.0, &xk, &wx, 0.0, &mut tape.a);
            general_mat_mul(1.0, &tape.hs[k], &uh, 0.0, &mut tape.c);
            let (head, tail) = tape.hs.split_at_mut(k + 1);
            let (hp, hn) = (&head[k], &mut tail[0]);
            zeroed(hn, b, hd);
            for m in [
                &mut tape.z[k],
                &mut tape.r[k],
                &mut tape.n[k],
                &mut tape.cn[k],
            ] {
                zeroed(m, b, hd);
            }
            for i in 0..b {
                let (a, c) = (tape.a.row(i), tape.c.row(i));
                for j in 0..hd {
                    let z = sigmoid(a[j] + bx[j] + c[j] + bh[j]);
                    let r = sigmoid(a[hd + j] + bx[hd + j] + c[hd + j] + bh[hd + j]);
                    let cn = c[2 * hd + j] + bh[2 * hd + j];
                    let n = (a[2 * hd + j] + bx[2 * hd + j] + r * cn).tanh();
                    let h = hp[[i, j]];
                    hn[[i, j]] = (1.0 - z) * n + z * h;
                    tape.z[k][[i, j]] = z;
                    tape.r[k][[i, j]] = r;
                    tape.n[k][[i, j]] = n;
                    tape.cn[k][[i, j]] = cn;
                }
            }
        }
        zeroed(&mut tape.out, b, self.output);
        general_mat_mul(1.0, &tape.hs[steps], &v, 0.0, &mut tape.out);
        for mut row in tape.out.rows_mut() {
            for (y, c) in row.iter_mut().zip(cb) {
                *y += c;
            }
        }
    }

    /// Accumulates into `grad` (laid out as [`Net::w`]) the gradient of a loss whose gradient
    /// with respect to the outputs of the last [`Net::forward`] on `x` is `d_out` (`b × output`).
    pub(crate) fn backward(
        &self,
        x: &[f64],
        steps: usize,
        tape: &Tape,
        d_out: ArrayView2<'_, f64>,
        grad: &mut [f64],
        sc: &mut BackScratch,
    ) {
        let (hd, o) = (self.hidden, self.offsets());
        let g = 3 * hd;
        let b = d_out.nrows();
        let w = &self.w;
        let uh = ArrayView2::from_shape((hd, g), &w[o.uh..o.bx]).expect("sizes agree");
        let v = ArrayView2::from_shape((hd, self.output), &w[o.v..o.c]).expect("sizes agree");

        let (g_wx, rest) = grad.split_at_mut(o.uh);
        let (g_uh, rest) = rest.split_at_mut(o.bx - o.uh);
        let (g_bx, rest) = rest.split_at_mut(g);
        let (g_bh, rest) = rest.split_at_mut(g);
        let (g_v, g_c) = rest.split_at_mut(o.c - o.v);
        let mut g_wx = ArrayViewMut2::from_shape((self.input, g), g_wx).expect("sizes agree");
        let mut g_uh = ArrayViewMut2::from_shape((hd, g), g_uh).expect("sizes agree");
        let mut g_v = ArrayViewMut2::from_shape((hd, self.output), g_v).expect("sizes agree");

        // Head.
        general_mat_mul(1.0, &tape.hs[steps].t(), &d_out, 1.0, &mut g_v);
        for row in d_out.rows() {
            for (gc, d) in g_c.iter_mut().zip(row) {
                *gc += d;
            }
        }
        zeroed(&mut sc.dh, b, hd);
        general_mat_mul(1.0, &d_out, &v.t(), 0.0, &mut sc.dh);

        // Through time.
        zeroed(&mut sc.da, b, g);
        zeroed(&mut sc.dc, b, g);
        zeroed(&mut sc.dh_next, b, hd);
        for k in (0..steps).rev() {
            let (z, r, n, cn, hp) = (&tape.z[k], &tape.r[k], &tape.n[k], &tape.cn[k], &tape.hs[k]);
            for i in 0..b {
                let mut da = sc.da.row_mut(i);
                let mut dc = sc.dc.row_mut(i);
                for j in 0..hd {
                    let gh = sc.dh[[i, j]];
                    let (z, r, n, cn, h) =
                        (z[[i, j]], r[[i, j]], n[[i, j]], cn[[i, j]], hp[[i, j]]);
                    let dz = gh * (h - n);
                    let dn = gh * (1.0 - z);
                    let dan = dn * (1.0 - n * n);
                    da[2 * hd + j] = dan;
                    dc[2 * hd + j] = dan * r;
                    let dar = dan * cn * r * (1.0 - r);
                    da[hd + j] = dar;
                    dc[hd + j] = dar;
                    let daz = dz * z * (1.0 - z);
                    da[j] = daz;
                    dc[j] = daz;
                    sc.dh_next[[i, j]] = gh * z;
                }
            }
            let xk = Self::step_view(x, b, steps, self.input, k);
            general_mat_mul(1.0, &xk.t(), &sc.da, 1.0, &mut g_wx);
            general_mat_mul(1.0, &hp.t(), &sc.dc, 1.0, &mut g_uh);
            for i in 0..b {
                for (gb, d) in g_bx.iter_mut().zip(sc.da.row(i)) {
                    *gb += d;
                }
                for (gb, d) in g_bh.iter_mut().zip(sc.dc.row(i)) {
                    *gb += d;
                }
            }
            if k > 0 {
                sc.dh.assign(&sc.dh_next);
                general_mat_mul(1.0, &sc.dc, &uh.t(), 1.0, &mut sc.dh);
            }
        }
    }

    /// The last hidden state of window `i` of the last forward pass (for tests).
    #[cfg(test)]
    fn last_state(&self, tape: &Tape, i: usize) -> Vec<f64> {
        tape.hs[tape.hs.len() - 1].row(i).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// `0.5·Σ (out − y)²` and the analytic gradient, for `net` on `x` (`b` windows).
    fn loss_and_grad(net: &Net, x: &[f64], y: &Array2<f64>, steps: usize) -> (f64, Vec<f64>) {
        let b = y.nrows();
        let mut tape = Tape::default();
        net.forward(x, b, steps, &mut tape);
        let d = &tape.out - y;
        let loss = 0.5 * d.iter().map(|e| e * e).sum::<f64>();
        let mut grad = vec![0.0; net.w.len()];
        net.backward(
            x,
            steps,
            &tape,
            d.view(),
            &mut grad,
            &mut BackScratch::default(),
        );
        (loss, grad)
    }

    fn loss(net: &Net, x: &[f64], y: &Array2<f64>, steps: usize) -> f64 {
        let mut tape = Tape::default();
        net.forward(x, y.nrows(), steps, &mut tape);
        0.5 * (&tape.out - y).iter().map(|e| e * e).sum::<f64>()
    }

    /// The largest relative difference between `grad` and central finite differences of the
    /// loss, over every weight.
    fn gradient_error(net: &Net, x: &[f64], y: &Array2<f64>, steps: usize, grad: &[f64]) -> f64 {
        let eps = 1e-5;
        let mut worst = 0.0f64;
        for (p, &g) in grad.iter().enumerate() {
            let mut plus = net.clone();
            plus.w[p] += eps;
            let mut minus = net.clone();
            minus.w[p] -= eps;
            let fd = (loss(&plus, x, y, steps) - loss(&minus, x, y, steps)) / (2.0 * eps);
            let err = (fd - g).abs() / (fd.abs() + g.abs()).max(1e-4);
            worst = worst.max(err);
        }
        worst
    }

    /// A small random problem: 3 windows of 4 steps of 5 inputs, 6 hidden units, 3 outputs.
    fn problem() -> (Net, Vec<f64>, Array2<f64>, usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (b, steps, input) = (3, 4, 5);
        let mut net = Net::init(input, 6, 3, &mut rng);
        // Non-zero biases and a full-size head, so that every term of the gradient matters.
        for x in &mut net.w {
            if *x == 0.0 {
                *x = rng.gen_range(-0.5..0.5);
            }
        }
        let o = net.offsets();
        for x in &mut net.w[o.v..o.c] {
            *x *= 10.0;
        }
        let x: Vec<f64> = (0..b * steps * input)
            .map(|_| rng.gen_range(-2.0..2.0))
            .collect();
        let y = Array2::from_shape_fn((b, 3), |_| rng.gen_range(-1.0..1.0));
        (net, x, y, steps)
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (net, x, y, steps) = problem();
        let (_, grad) = loss_and_grad(&net, &x, &y, steps);
        assert!(grad.iter().all(|g| g.is_finite()));
        let err = gradient_error(&net, &x, &y, steps, &grad);
        assert!(err < 1e-5, "relative gradient error {err}");
    }

    #[test]
    fn the_gradient_check_catches_a_wrong_gradient() {
        let (net, x, y, steps) = problem();
        let (_, mut grad) = loss_and_grad(&net, &x, &y, steps);
        // One recurrent weight's gradient off by 1 %: the check must see it.
        let o = net.offsets();
        grad[o.uh + 4] *= 1.01;
        assert!(gradient_error(&net, &x, &y, steps, &grad) > 1e-3);
    }

    #[test]
    fn backward_accumulates() {
        let (net, x, y, steps) = problem();
        let b = y.nrows();
        let mut tape = Tape::default();
        net.forward(&x, b, steps, &mut tape);
        let d = &tape.out - &y;
        let mut grad = vec![0.0; net.w.len()];
        let mut sc = BackScratch::default();
        net.backward(&x, steps, &tape, d.view(), &mut grad, &mut sc);
        let once = grad.clone();
        net.backward(&x, steps, &tape, d.view(), &mut grad, &mut sc);
        for (a, b) in grad.iter().zip(&once) {
            assert!((a - 2.0 * b).abs() <= 1e-12 * b.abs().max(1.0));
        }
    }

    #[test]
    fn windows_of_a_batch_do_not_interact() {
        let (net, x, _, steps) = problem();
        let width = steps * net.input;
        let mut tape = Tape::default();
        net.forward(&x, 3, steps, &mut tape);
        let all = tape.out.clone();
        let last = net.last_state(&tape, 1);
        net.forward(&x[width..2 * width], 1, steps, &mut tape);
        assert_eq!(tape.out.row(0), all.row(1));
        assert_eq!(net.last_state(&tape, 0), last);
    }

    #[test]
    fn sizes_add_up() {
        assert_eq!(
            Net::len_for(24, 32, 48),
            24 * 96 + 32 * 96 + 2 * 96 + 32 * 48 + 48
        );
    }
}
