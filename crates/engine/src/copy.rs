//! Copying the extents of a clean database under a new identity (`prodb dst src`).
//!
//! Invariants: data blocks are copied byte for byte (they name their area and block, not the
//! database); every header is rewritten with the new database id; the BI and AI extents of the
//! copy start empty (the source is clean, so its BI holds nothing that is not in its blocks).

use masterblock::{DbId, ExtentKind};
use storage::{OpenMode, Storage};
use structure::{AreaKind, Catalogue};

use crate::create::{
    clear_leftover, create_ai_extent, extent_kind, header_for, initial_bytes, sync_dirs,
    write_extent,
};
use crate::error::{Error, Result};
use crate::extent::open_extent;

const CHUNK_BYTES: u64 = 1 << 20;

/// Copies every extent of `src` to the path of the same extent in `dst`.
pub(crate) fn copy_extents(
    s: &dyn Storage,
    src: &Catalogue,
    dst: &Catalogue,
    db_id: DbId,
    block_size: u32,
) -> Result<()> {
    let mut paths = Vec::new();
    for (sa, da) in src.areas.iter().zip(&dst.areas) {
        assert_eq!(
            sa.number, da.number,
            "the copy's catalogue mirrors the source"
        );
        if sa.kind == AreaKind::Control {
            continue;
        }
        let kind = extent_kind(sa.kind).expect("not the control area");
        for (se, de) in sa.extents.iter().zip(&da.extents) {
            clear_leftover(s, &de.path, (kind, da.number, de.number), None)?;
            let now = masterblock::now_micros();
            let header = header_for(kind, db_id, da.number, de, block_size, now);
            let fixed_len = de.fixed.then_some(de.size_kib * 1024);
            if kind == ExtentKind::Ai {
                create_ai_extent(s, da, de, db_id, block_size)?;
                paths.push(de.path.clone());
                continue;
            }
            if kind != ExtentKind::Data {
                let bytes = initial_bytes(&header, false, block_size, now);
                write_extent(s, &de.path, &bytes, fixed_len)?;
                paths.push(de.path.clone());
                continue;
            }
            let from = open_extent(s, &se.path, false)?;
            let len = from.len().map_err(Error::io("inspect", &se.path))?;
            let to = s
                .open(&de.path, OpenMode::CreateNew)
                .map_err(Error::io("create", &de.path))?;
            let mut at = 0u64;
            let mut buf = Vec::new();
            while at < len {
                let n = CHUNK_BYTES.min(len - at) as usize;
                buf.resize(n, 0);
                from.read_at(&mut buf, at)
                    .map_err(Error::io("read", &se.path))?;
                if at == 0 {
                    buf[..64].copy_from_slice(&header.encode());
                }
                to.write_at(&buf, at)
                    .map_err(Error::io("write", &de.path))?;
                at += n as u64;
            }
            to.sync().map_err(Error::io("sync", &de.path))?;
            paths.push(de.path.clone());
        }
    }
    sync_dirs(s, paths.iter().map(|p| p.as_path()))
}
