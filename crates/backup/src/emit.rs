//! Writing a backup file from a source of blocks (docs/formats/backup.md, "Writing"), shared
//! by the offline backup (blocks read from the extent files) and the online one (blocks read
//! through the open database's buffer pool).
//!
//! Invariants: `FILE.tmp` is written whole (header, records in increasing order, trailer) and
//! synced before [`publish`] renames it to `FILE` and syncs the directory; every block taken
//! is verified first; block 0 of every area is taken and its high water is the area table's.

use std::io::Write;
use std::path::{Path, PathBuf};

use masterblock::BlockNo;
use storage::{OpenMode, Storage};

use crate::blocks::{self, AreaLayout};
use crate::error::{Error, Result};
use crate::fileio::Sink;
use crate::format::{AreaMark, BackupHeader, Trailer, encode_record};
use crate::write::temp_path;

/// zstd level of `-com`.
const ZSTD_LEVEL: i32 = 3;

/// Where the blocks of a backup come from.
pub(crate) trait BlockSource {
    /// Reads block `no` of the `i`-th area of the header's area table into `buf` (one block;
    /// zeros if it was never written).
    fn read(&mut self, i: usize, no: u32, buf: &mut [u8]) -> Result<()>;
    /// Where the `i`-th area's blocks live (for messages).
    fn layout(&self, i: usize) -> &AreaLayout;
}

/// What writing `FILE.tmp` did.
pub(crate) struct Written {
    /// Blocks in the backup.
    pub blocks: u64,
    /// Bytes of the record stream as stored.
    pub stored_stream_bytes: u64,
    /// Bytes of the record stream before compression.
    pub raw_stream_bytes: u64,
    /// Bytes of the whole file.
    pub file_bytes: u64,
    /// The newest `last_note_seq` of any block taken.
    pub newest_note: u64,
}

/// Writes the backup described by `header` into `FILE.tmp` (a leftover one removed first)
/// and syncs it.
pub(crate) fn write_temp(
    s: &dyn Storage,
    file: &Path,
    header: &BackupHeader,
    source: &mut dyn BlockSource,
    progress: &mut dyn FnMut(&str),
) -> Result<Written> {
    let tmp = temp_path(file);
    if s.exists(&tmp) {
        s.remove(&tmp).map_err(Error::io("remove", &tmp))?;
    }
    let out = s
        .open(&tmp, OpenMode::CreateNew)
        .map_err(Error::io("create", &tmp))?;
    let mut sink = Sink::new(out.clone());
    sink.write_all(&header.encode())
        .map_err(Error::io("write", &tmp))?;
    sink.start_section();
    let (blocks, newest_note) = if header.compressed {
        let mut encoder = zstd::stream::write::Encoder::new(&mut sink, ZSTD_LEVEL)
            .and_then(|mut e| e.include_checksum(true).map(|()| e))
            .map_err(Error::io("compress into", &tmp))?;
        let n = copy_blocks(&mut encoder, source, header, &tmp, progress)?;
        encoder.finish().map_err(Error::io("write", &tmp))?;
        n
    } else {
        copy_blocks(&mut sink, source, header, &tmp, progress)?
    };
    let (stream_crc, stored_stream_bytes) = sink.section();
    let raw_stream_bytes = blocks * header.record_bytes() as u64;
    let trailer = Trailer::encode(
        blocks,
        stored_stream_bytes,
        raw_stream_bytes,
        stream_crc,
        sink.file_crc(),
    );
    sink.write_all(&trailer).map_err(Error::io("write", &tmp))?;
    sink.flush_buf().map_err(Error::io("write", &tmp))?;
    let file_bytes = sink.position();
    out.sync().map_err(Error::io("sync", &tmp))?;
    Ok(Written {
        blocks,
        stored_stream_bytes,
        raw_stream_bytes,
        file_bytes,
        newest_note,
    })
}

/// Renames `FILE.tmp` to `FILE` and syncs the directory: from here on `FILE` is the backup.
pub(crate) fn publish(s: &dyn Storage, file: &Path) -> Result<()> {
    let tmp = temp_path(file);
    s.rename(&tmp, file).map_err(Error::io("rename", &tmp))?;
    let dir = file.parent().unwrap_or(Path::new("/"));
    s.sync_dir(dir)
        .map_err(Error::io("sync the directory", dir))
}

/// Checks block 0 of an area (`buf`) and returns the area's mark (its high water).
pub(crate) fn area_mark(buf: &[u8], layout: &AreaLayout) -> Result<AreaMark> {
    let area = layout.area;
    let damaged = |reason: String| Error::DamagedBlock {
        path: layout.extents[0].path.clone(),
        area,
        block: BlockNo(0),
        reason,
    };
    blocks::verify(buf, area, BlockNo(0)).map_err(damaged)?;
    let high_water =
        blocks::area_high_water(buf).ok_or_else(|| damaged("it is not an area header".into()))?;
    if high_water == 0 || layout.capacity().is_some_and(|c| u64::from(high_water) > c) {
        return Err(damaged(format!(
            "its high water {high_water} is outside the area"
        )));
    }
    Ok(AreaMark { area, high_water })
}

/// Writes the record of every block the backup takes; returns how many and the newest
/// `last_note_seq` among them.
fn copy_blocks(
    out: &mut dyn Write,
    source: &mut dyn BlockSource,
    header: &BackupHeader,
    tmp: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(u64, u64)> {
    let bs = header.block_size as usize;
    let mut buf = vec![0u8; bs];
    let mut record = Vec::with_capacity(header.record_bytes());
    let mut total = 0u64;
    let mut newest = 0u64;
    for (i, mark) in header.areas.iter().enumerate() {
        let area = mark.area;
        let mut taken = 0u64;
        for no in 0..mark.high_water {
            source.read(i, no, &mut buf)?;
            if blocks::is_zero(&buf) {
                continue;
            }
            let last = blocks::last_note_seq(&buf);
            if no != 0 && last < header.since_note_seq.0 {
                continue;
            }
            let block = BlockNo(no);
            blocks::verify(&buf, area, block).map_err(|reason| Error::DamagedBlock {
                path: block_path(source.layout(i), no),
                area,
                block,
                reason,
            })?;
            assert!(
                no != 0 || blocks::area_high_water(&buf) == Some(mark.high_water),
                "block 0 of an area is the one its high water was recorded from"
            );
            record.clear();
            encode_record(&mut record, area, block, &buf);
            out.write_all(&record).map_err(Error::io("write", tmp))?;
            newest = newest.max(last);
            taken += 1;
        }
        progress(&format!(
            "Area {area} \"{}\": {taken} blocks backed up (high water {}).",
            source.layout(i).name,
            mark.high_water
        ));
        total += taken;
    }
    Ok((total, newest))
}

/// The extent file of block `no`.
fn block_path(layout: &AreaLayout, no: u32) -> PathBuf {
    layout
        .locate(u64::from(no))
        .map(|(i, _)| layout.extents[i].path.clone())
        .unwrap_or_default()
}
