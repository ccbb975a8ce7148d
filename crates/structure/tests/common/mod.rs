//! Catalogues shared by the integration tests.

#![allow(dead_code)]

use std::path::Path;

use masterblock::DbId;
use structure::{Catalogue, StFile};

/// The database id of every test catalogue.
pub const DB_ID: DbId = DbId([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);

/// The structure of the fixture catalogue.
pub const FIXTURE_ST: &str = "\
b . f 1024
b .
d \"Schema Area\":6,64 . f 1024
d .
d \"Customer Data\":7,32;8 /data/ f 2048
d \"Customer Data\":7,32;8 /data/
d \"Index\":12,1;64 idx/ v 4096
a /ai/ f 1024
a /ai/ v 2048
a /ai/
";

/// The fixture catalogue: control area `/db/fixture.db`, 4 KiB blocks.
pub fn fixture() -> Catalogue {
    Catalogue::from_st(
        Path::new("/db/fixture.db"),
        &StFile::parse(FIXTURE_ST).unwrap(),
        4096,
    )
    .unwrap()
}

/// A small catalogue: one BI and one schema extent.
pub fn small() -> Catalogue {
    Catalogue::from_st(
        Path::new("/db/small.db"),
        &StFile::parse("b .\nd .\n").unwrap(),
        4096,
    )
    .unwrap()
}
