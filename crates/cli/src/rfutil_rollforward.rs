//! `rfutil db -C sequence` and `rfutil db -C roll forward ...` (placeholder until the
//! rollforward crate lands; replaced before commit).

use engine::DbPath;

use crate::rfutil::FileArg;
use crate::{Console, Error};

/// Runs `sequence` and the `roll ...` qualifiers.
pub(crate) fn run(
    _console: &mut Console,
    _db: &DbPath,
    words: &[&str],
    _file: Option<FileArg>,
) -> Result<(), Error> {
    Err(Error::Usage(format!(
        "`{}` is not available yet",
        words.join(" ")
    )))
}
