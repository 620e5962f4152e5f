//! What the M4 examples share: reading the long CSV layout and the process's CPU time.
//!
//! (A folder without `main.rs`, so cargo does not take it for an example of its own.)

#![allow(dead_code)] // each example uses a part

/// A series id and its values.
pub(crate) type Series = (String, Vec<f64>);

/// The series of a long CSV (`series_id,t,value` with a header), in file order.
pub(crate) fn read_long(path: &std::path::Path) -> Result<Vec<Series>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: Vec<Series> = Vec::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        let (Some(id), Some(_), Some(v)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("bad line {line:?} in {}", path.display()));
        };
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|e| format!("bad value in {line:?} of {}: {e}", path.display()))?;
        match out.last_mut() {
            Some((last, values)) if last == id => values.push(v),
            _ => out.push((id.to_string(), vec![v])),
        }
    }
    Ok(out)
}

/// User plus system CPU seconds of this process, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Linux counts them in USER_HZ ticks, 100 per second.
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
