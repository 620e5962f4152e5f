//! The snapshot format: what a model has learned, as bytes that survive a restart.
//!
//! A snapshot is an envelope around a payload:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `PRSCSNAP` |
//! | 2 | format version, little endian ([`FORMAT_VERSION`]) |
//! | 1 + n | the kind of what is saved (`scaler`, …): its length, then UTF-8 |
//! | 8 | payload length, little endian |
//! | 4 | CRC-32 (ISO-HDLC, as zlib's) of the payload, little endian |
//! | … | the payload |
//!
//! [`open`] checks every field before anything is decoded, so a truncated file, a flipped bit,
//! another program's file or a snapshot of an older format is a clear error
//! ([`Error::CorruptSnapshot`], [`Error::IncompatibleSnapshot`]) and never a half-restored
//! model. The checksum catches accidents (a write cut short, a bad disk), not forgery: a
//! snapshot is trusted input, like a configuration file.
//!
//! Payloads are encoded with [`postcard`](https://docs.rs/postcard) (feature `serde`): compact,
//! and floating-point values are kept bit for bit, so a restored model computes exactly what
//! the saved one would have.

use crate::{Error, Result};

/// The current version of the envelope and of the payloads' layout. A snapshot of another
/// version is refused with [`Error::IncompatibleSnapshot`].
pub const FORMAT_VERSION: u16 = 1;

const MAGIC: &[u8; 8] = b"PRSCSNAP";

/// Puts `payload` in an envelope of `kind` (at most 255 bytes of UTF-8).
///
/// # Errors
///
/// [`Error::InvalidParam`] for a kind longer than 255 bytes.
pub fn seal(kind: &str, payload: &[u8]) -> Result<Vec<u8>> {
    let kind_len = u8::try_from(kind.len()).map_err(|_| Error::InvalidParam {
        name: "kind",
        reason: format!("at most 255 bytes, got {}", kind.len()),
    })?;
    let mut out = Vec::with_capacity(8 + 2 + 1 + kind.len() + 8 + 4 + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind_len);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Checks the envelope of a snapshot of `kind` and returns its payload.
///
/// # Errors
///
/// [`Error::CorruptSnapshot`] for bytes that are not a snapshot, are cut short, are followed by
/// more bytes or fail the checksum; [`Error::IncompatibleSnapshot`] for a snapshot of another
/// format version or of another kind.
pub fn open<'a>(kind: &str, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let corrupt = |why: String| Error::CorruptSnapshot(why);
    let mut r = Reader { bytes, at: 0 };
    let magic = r.take(8, "the magic number")?;
    if magic != MAGIC {
        return Err(corrupt(
            "not a prescient snapshot (wrong magic number)".into(),
        ));
    }
    let version = u16::from_le_bytes(r.array::<2>("the format version")?);
    if version != FORMAT_VERSION {
        return Err(Error::IncompatibleSnapshot(format!(
            "format version {version}, this build reads version {FORMAT_VERSION}"
        )));
    }
    let kind_len = r.array::<1>("the kind")?[0] as usize;
    let found = r.take(kind_len, "the kind")?;
    if found != kind.as_bytes() {
        return Err(Error::IncompatibleSnapshot(format!(
            "a snapshot of `{}`, expected `{kind}`",
            String::from_utf8_lossy(found)
        )));
    }
    let len = u64::from_le_bytes(r.array::<8>("the payload length")?);
    let crc = u32::from_le_bytes(r.array::<4>("the checksum")?);
    let rest = bytes.len() - r.at;
    if len != rest as u64 {
        return Err(corrupt(if len > rest as u64 {
            format!("truncated: the payload has {rest} of its {len} bytes")
        } else {
            format!("{} bytes after the payload", rest as u64 - len)
        }));
    }
    let payload = &bytes[r.at..];
    let actual = crc32(payload);
    if actual != crc {
        return Err(corrupt(format!(
            "checksum mismatch (stored {crc:08x}, computed {actual:08x})"
        )));
    }
    Ok(payload)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        match self.bytes.get(self.at..self.at.saturating_add(n)) {
            Some(s) if s.len() == n => {
                self.at += n;
                Ok(s)
            }
            _ => Err(Error::CorruptSnapshot(format!(
                "truncated in {what} ({} bytes in all)",
                self.bytes.len()
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
}

/// The CRC-32 of zlib, PNG and gzip (ISO-HDLC: polynomial `0xEDB88320` reflected, initial and
/// final XOR `0xFFFFFFFF`), a byte at a time through a table built at compile time.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in bytes {
        c = TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// Encodes `value` as a payload.
///
/// # Errors
///
/// [`Error::Unsupported`] when a part of `value` cannot be encoded (serde's error says which).
#[cfg(feature = "serde")]
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| Error::Unsupported(format!("cannot encode: {e}")))
}

/// Decodes a payload that [`encode`] wrote, all of it.
///
/// # Errors
///
/// [`Error::CorruptSnapshot`] when the bytes do not decode as a `T` or bytes are left over.
#[cfg(feature = "serde")]
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (value, rest) = postcard::take_from_bytes(bytes)
        .map_err(|e| Error::CorruptSnapshot(format!("cannot decode: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::CorruptSnapshot(format!(
            "{} bytes left after decoding",
            rest.len()
        )));
    }
    Ok(value)
}

/// Implements [`Forecaster::save_state`](crate::Forecaster::save_state) and
/// [`load_state`](crate::Forecaster::load_state) (or a detector's) for a type that is
/// `Serialize + Deserialize`: the state is the whole value, settings included.
///
/// Use it inside the trait's `impl` block, behind the crate's `serde` feature:
/// `#[cfg(feature = "serde")] prescient_core::serde_state!();`
#[cfg(feature = "serde")]
#[macro_export]
macro_rules! serde_state {
    () => {
        fn save_state(&self) -> $crate::Result<Vec<u8>> {
            $crate::snapshot::encode(self)
        }

        fn load_state(&mut self, state: &[u8]) -> $crate::Result<()> {
            *self = $crate::snapshot::decode(state)?;
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_zlib() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_sealed_payload_opens() {
        let s = seal("scaler", b"hello").unwrap_or_default();
        assert_eq!(open("scaler", &s), Ok(&b"hello"[..]));
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_refused() {
        let s = seal("scaler", b"some payload bytes").unwrap_or_default();
        for n in 0..s.len() {
            assert!(matches!(
                open("scaler", &s[..n]),
                Err(Error::CorruptSnapshot(_))
            ));
        }
        for i in 0..s.len() {
            for bit in 0..8 {
                let mut t = s.clone();
                t[i] ^= 1 << bit;
                assert!(open("scaler", &t).is_err(), "byte {i} bit {bit}");
            }
        }
        let mut longer = s.clone();
        longer.push(0);
        assert!(matches!(
            open("scaler", &longer),
            Err(Error::CorruptSnapshot(_))
        ));
    }

    #[test]
    fn another_version_or_kind_is_incompatible() {
        let mut s = seal("scaler", b"x").unwrap_or_default();
        assert!(matches!(
            open("detector", &s),
            Err(Error::IncompatibleSnapshot(_))
        ));
        s[8] = 0;
        assert!(matches!(
            open("scaler", &s),
            Err(Error::IncompatibleSnapshot(_))
        ));
        assert!(seal(&"k".repeat(256), b"").is_err());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn payloads_keep_floats_bit_for_bit() {
        let v = vec![0.1, -0.0, f64::MIN_POSITIVE / 3.0, 1e308, f64::INFINITY];
        let back: Vec<f64> = decode(&encode(&v).unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let mut bytes = encode(&v).unwrap_or_default();
        bytes.push(1);
        assert!(decode::<Vec<f64>>(&bytes).is_err());
        assert!(decode::<Vec<f64>>(&[0xff]).is_err());
    }
}
