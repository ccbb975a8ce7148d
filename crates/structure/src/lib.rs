//! The structure of an afterimage database: the `.st` structure description ([`StFile`]), the
//! catalogue of areas and extents built from it ([`Catalogue`]), its byte format and its
//! two-slot home in the control area ([`CatalogueFile`]). A catalogue read from disk is
//! checksummed and validated before use; one written is validated first, so a slot never
//! holds a catalogue that would not read back.
//!
//! ```
//! use std::path::Path;
//! use structure::{Catalogue, StFile};
//!
//! let st = StFile::parse("b . f 1024\nd \"Schema Area\" .\nd \"Orders\",64;8 /data/\na /ai/\n")?;
//! let cat = Catalogue::from_st(Path::new("/db/shop.db"), &st, 4096)?;
//! assert_eq!(cat.bi_area().extents[0].path, Path::new("/db/shop.b1"));
//! let orders = cat.data_areas().find(|a| a.name == "Orders").unwrap();
//! assert_eq!(orders.number.0, 7);
//! assert_eq!(orders.extents[0].path, Path::new("/data/shop_7.d1"));
//! assert_eq!(cat.ai_extents()[0].extent.path, Path::new("/ai/shop.a1"));
//! assert_eq!(
//!     cat.to_st().to_string(),
//!     "b /db/shop.b1 f 1024\n\
//!      d \"Schema Area\":6,32;1 /db/shop.d1\n\
//!      d \"Orders\":7,64;8 /data/shop_7.d1\n\
//!      a /ai/shop.a1\n"
//! );
//! # Ok::<(), structure::Error>(())
//! ```

mod catalogue;
mod codec;
mod error;
mod file;
mod names;
mod st;

pub use catalogue::build::{
    default_records_per_block, valid_blocks_per_cluster, valid_records_per_block,
};
pub use catalogue::{
    AI_AREA_PREFIX, AiExtentRef, Area, AreaKind, BI_AREA, BI_AREA_NAME, CONTROL_AREA,
    CONTROL_AREA_NAME, Catalogue, Extent, FIRST_AI_AREA, FIRST_USER_AREA, LAST_USER_AREA,
    SCHEMA_AREA, SCHEMA_AREA_NAME,
};
pub use codec::{CATALOGUE_MAGIC, CATALOGUE_VERSION, ParsedArea, ParsedCatalogue, ParsedExtent};
pub use error::{Error, MESSAGES};
pub use file::CatalogueFile;
pub use names::generated_name;
pub use st::{ExtentSize, LineKind, StFile, StLine};

/// Byte offsets of the two catalogue slots in the control area.
pub const CATALOGUE_SLOT_OFFSETS: [u64; 2] = [8192, 73728];
/// Size of one catalogue slot in bytes.
pub const CATALOGUE_SLOT_BYTES: u64 = 65536;
