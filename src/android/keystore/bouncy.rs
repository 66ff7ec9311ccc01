//! Bouncy Castle keystores, recognised only to name them: BKS (versions 1 and 2)
//! keeps its entry list in the clear followed by an HMAC-SHA1; UBER encrypts
//! everything after the salt and iteration count.
//!
//! ```text
//! version u32, salt u32 len + bytes, iterations u32, then
//!   BKS:  entries (type u8 ... ) 0, HMAC (20 bytes)
//!   UBER: Twofish-encrypted entries and digest
//! ```

use super::bytes::Bytes;

/// "BKS (version 2)", "BKS (version 1)" or "UBER".
pub(super) fn describe(data: &[u8]) -> &'static str {
    let version = data
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    match version {
        Some(2) => "BKS (version 2)",
        Some(1) if walk_bks(data).is_some() => "BKS (version 1)",
        Some(1) => "UBER",
        _ => "BKS/UBER",
    }
}

/// Walks a plaintext BKS entry list; `Some` when it ends exactly 20 bytes
/// (the HMAC) before the end of the data, which ciphertext never does by chance.
fn walk_bks(data: &[u8]) -> Option<()> {
    let mut c = Bytes::new(data, 4);
    c.blob()?; // salt
    c.u32()?; // iterations
    loop {
        match c.u8()? {
            0 => break,
            t @ 1..=4 => {
                c.utf()?; // alias
                c.skip(8)?; // date
                for _ in 0..c.u32()? {
                    c.utf()?;
                    c.blob()?;
                }
                match t {
                    1 => {
                        c.utf()?;
                        c.blob()?;
                    }
                    2 => {
                        c.u8()?;
                        c.utf()?;
                        c.utf()?;
                        c.blob()?;
                    }
                    _ => {
                        c.blob()?;
                    }
                }
            }
            _ => return None,
        }
    }
    (c.rest().len() == 20).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_bks_from_uber() {
        let mut bks = vec![0, 0, 0, 1, 0, 0, 0, 8];
        bks.extend([0xaa; 8]);
        bks.extend(1024u32.to_be_bytes());
        bks.push(0);
        bks.extend([0x55; 20]);
        assert_eq!(describe(&bks), "BKS (version 1)");
        let mut uber = bks[..20].to_vec();
        uber.extend([0x9c; 32]);
        assert_eq!(describe(&uber), "UBER");
        bks[3] = 2;
        assert_eq!(describe(&bks), "BKS (version 2)");
    }
}
