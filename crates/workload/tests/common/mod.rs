//! A fresh, empty database for each test: 1 KiB blocks on the in-memory file system.

use std::path::Path;
use std::sync::Arc;

use engine::{Database, DbPath, OpenOptions};
use storage::{SimStorage, StorageRef};
use structure::StFile;

/// The structure of every test database: one BI extent and the schema area.
const ST: &str = "b .\nd \"Schema Area\":6,32 .\n";

/// An open database on its own simulated file system.
pub struct Fresh {
    db: Database,
    storage: StorageRef,
    path: DbPath,
}

impl Fresh {
    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Checks the database's structure, closes it and opens it again.
    pub fn reopen(self) -> Fresh {
        self.db.check().expect("structure check");
        self.db.close().expect("close the database");
        let db = Database::open(self.storage.clone(), &self.path, OpenOptions::default())
            .expect("reopen the database");
        Fresh { db, ..self }
    }
}

/// Creates and opens an empty database with 1 KiB blocks.
pub fn fresh_db() -> Fresh {
    let storage: StorageRef = Arc::new(SimStorage::new());
    let dir = Path::new("/db");
    storage
        .create_dir_all(dir)
        .expect("create the database directory");
    let path = DbPath::new(dir, "wl").expect("database path");
    let st = StFile::parse(ST).expect("parse the structure");
    engine::create_database(&storage, &path, &st, 1024).expect("create the database");
    let db =
        Database::open(storage.clone(), &path, OpenOptions::default()).expect("open the database");
    Fresh { db, storage, path }
}
