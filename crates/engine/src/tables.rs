//! The table catalogue: a B+tree rooted at block 1 of the Schema Area mapping a table name to
//! its area and root block (`u32` area, `u32` root, little-endian).
//!
//! Invariants: a transaction reads the catalogue under a shared lock on it and changes it under
//! an exclusive one, both held to its end; a table is used under its own table lock, taken
//! after the catalogue lock.

use btree::{BTree, PutMode, PutOutcome};
use masterblock::{AreaNo, BlockNo};

use crate::db::Shared;
use crate::error::{Error, Result};
use crate::locks::{Mode, Resource};
use crate::store::{ReadStore, TxnStore, tree_error};
use crate::txn::TxnState;

/// The Schema Area.
pub(crate) const SCHEMA_AREA: AreaNo = AreaNo(6);
/// Root block of the table catalogue in the Schema Area.
pub(crate) const CATALOGUE_ROOT: u32 = 1;
const CATALOGUE_NAME: &str = "_catalogue";

/// A table: its name, area and root block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// The table name.
    pub name: String,
    /// The area holding its blocks.
    pub area: AreaNo,
    /// The root block of its B+tree.
    pub root: BlockNo,
}

/// Checks a table name against `[A-Za-z_][A-Za-z0-9_-]*`.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidTableName {
            name: name.to_string(),
        })
    }
}

fn decode(name: &str, value: &[u8]) -> Result<TableInfo> {
    if value.len() != 8 {
        return Err(Error::TreeCorrupt {
            table: CATALOGUE_NAME.into(),
            page: CATALOGUE_ROOT,
            reason: format!("the entry of `{name}` has {} bytes, not 8", value.len()),
        });
    }
    Ok(TableInfo {
        name: name.to_string(),
        area: AreaNo(u32::from_le_bytes(value[..4].try_into().expect("4"))),
        root: BlockNo(u32::from_le_bytes(value[4..].try_into().expect("4"))),
    })
}

fn lookup(db: &Shared, name: &str) -> Result<Option<TableInfo>> {
    let mut store = ReadStore {
        db,
        area: SCHEMA_AREA,
    };
    let value = BTree::get(&mut store, CATALOGUE_ROOT, name.as_bytes())
        .map_err(|e| tree_error(CATALOGUE_NAME, db.block_size, e))?;
    value.map(|v| decode(name, &v)).transpose()
}

/// Finds `name` and locks it in `mode` for the transaction.
pub(crate) fn resolve(db: &Shared, st: &mut TxnState, name: &str, mode: Mode) -> Result<TableInfo> {
    st.lock(db, Resource::Catalogue, Mode::Shared)?;
    let info = match st.tables.iter().find(|t| t.name == name) {
        Some(t) => t.clone(),
        None => {
            validate_name(name)?;
            let t = lookup(db, name)?.ok_or_else(|| Error::NoSuchTable {
                name: name.to_string(),
            })?;
            st.tables.push(t.clone());
            t
        }
    };
    st.lock(db, Resource::Table(name.to_string()), mode)?;
    Ok(info)
}

/// Creates table `name` in `area` (default: the Schema Area).
pub(crate) fn create(
    db: &Shared,
    st: &mut TxnState,
    name: &str,
    area: Option<AreaNo>,
) -> Result<()> {
    validate_name(name)?;
    db.writable()?;
    let area = area.unwrap_or(SCHEMA_AREA);
    if !db.files.has_area(area) {
        return Err(Error::NoSuchArea { area });
    }
    st.lock(db, Resource::Catalogue, Mode::Exclusive)?;
    if lookup(db, name)?.is_some() {
        return Err(Error::TableExists {
            name: name.to_string(),
        });
    }
    st.lock(db, Resource::Table(name.to_string()), Mode::Exclusive)?;
    let mut store = TxnStore { db, st, area };
    let root = btree::PageStore::allocate(&mut store)?;
    BTree::create(&mut store, root).map_err(|e| tree_error(name, db.block_size, e))?;
    let mut value = [0u8; 8];
    value[..4].copy_from_slice(&area.0.to_le_bytes());
    value[4..].copy_from_slice(&root.to_le_bytes());
    let mut cat = TxnStore {
        db,
        st,
        area: SCHEMA_AREA,
    };
    match BTree::put(
        &mut cat,
        CATALOGUE_ROOT,
        name.as_bytes(),
        &value,
        PutMode::Insert,
    )
    .map_err(|e| tree_error(CATALOGUE_NAME, db.block_size, e))?
    {
        PutOutcome::Inserted => {}
        other => panic!("catalogue insert of a checked-absent name gave {other:?}"),
    }
    st.tables.push(TableInfo {
        name: name.to_string(),
        area,
        root: BlockNo(root),
    });
    Ok(())
}

/// Every table, sorted by name.
pub(crate) fn list(db: &Shared, st: &mut TxnState) -> Result<Vec<TableInfo>> {
    st.lock(db, Resource::Catalogue, Mode::Shared)?;
    let mut store = ReadStore {
        db,
        area: SCHEMA_AREA,
    };
    let mut raw = Vec::new();
    BTree::scan(&mut store, CATALOGUE_ROOT, b"", |k, v| {
        raw.push((k.to_vec(), v.to_vec()));
        true
    })
    .map_err(|e| tree_error(CATALOGUE_NAME, db.block_size, e))?;
    raw.into_iter()
        .map(|(k, v)| decode(&String::from_utf8_lossy(&k), &v))
        .collect()
}

/// Formats a new Schema Area's catalogue root in `body` (used when creating a database).
pub(crate) fn format_catalogue_root(body: &mut [u8]) {
    struct One<'a>(&'a mut [u8]);
    impl btree::PageStore for One<'_> {
        type Error = std::convert::Infallible;
        fn body_len(&self) -> usize {
            self.0.len()
        }
        fn read<R>(&mut self, _: u32, f: impl FnOnce(&[u8]) -> R) -> Result<R, Self::Error> {
            Ok(f(self.0))
        }
        fn write<R>(&mut self, _: u32, f: impl FnOnce(&mut [u8]) -> R) -> Result<R, Self::Error> {
            Ok(f(self.0))
        }
        fn allocate(&mut self) -> Result<u32, Self::Error> {
            panic!("creating an empty tree allocates nothing")
        }
        fn free(&mut self, _: u32) -> Result<(), Self::Error> {
            panic!("creating an empty tree frees nothing")
        }
    }
    BTree::create(&mut One(body), CATALOGUE_ROOT).expect("an empty root always formats");
}
