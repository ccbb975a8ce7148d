//! Property: for any sequence of writes, truncations, syncs, creates, renames and removes,
//! `SimStorage` reads back the current contents and its `LoseUnsynced` crash image holds
//! exactly the last synced contents under the last synced names.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use storage::{CrashMode, FileRef, OpenMode, SimStorage, Storage, read_all};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Write {
        file: usize,
        offset: u64,
        len: usize,
        byte: u8,
    },
    SetLen {
        file: usize,
        len: u64,
    },
    Sync(usize),
    SyncDir,
    Rename(usize, usize),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..4usize).prop_map(Op::Create),
        4 => (0..8usize, 0..2000u64, 1..700usize, any::<u8>())
            .prop_map(|(file, offset, len, byte)| Op::Write { file, offset, len, byte }),
        1 => (0..8usize, 0..3000u64).prop_map(|(file, len)| Op::SetLen { file, len }),
        2 => (0..8usize).prop_map(Op::Sync),
        1 => Just(Op::SyncDir),
        1 => (0..4usize, 0..4usize).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (0..4usize).prop_map(Op::Remove),
    ]
}

/// One file as the model sees it.
#[derive(Default)]
struct ModelFile {
    current: Vec<u8>,
    synced: Vec<u8>,
}

/// The obvious model: current and synced bytes per file, current and synced names.
#[derive(Default)]
struct Model {
    files: Vec<ModelFile>,
    names: BTreeMap<String, usize>,
    synced_names: BTreeMap<String, usize>,
}

fn path(name: &str) -> PathBuf {
    Path::new("/d").join(name)
}

fn expect_contents(
    sim: &SimStorage,
    names: &BTreeMap<String, usize>,
    bytes: impl Fn(usize) -> Vec<u8>,
) {
    let listed = sim.list_dir(Path::new("/d")).unwrap();
    assert_eq!(listed, names.keys().cloned().collect::<Vec<_>>());
    for (name, &id) in names {
        assert_eq!(
            read_all(sim, &path(name)).unwrap(),
            bytes(id),
            "file {name}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn crash_image_holds_last_synced_state(ops in proptest::collection::vec(op(), 1..60)) {
        let sim = SimStorage::new();
        sim.create_dir_all(Path::new("/d")).unwrap();
        let mut model = Model::default();
        let mut handles: Vec<FileRef> = Vec::new();
        for op in ops {
            match op {
                Op::Create(n) => {
                    let result = sim.open(&path(NAMES[n]), OpenMode::CreateNew);
                    if model.names.contains_key(NAMES[n]) {
                        prop_assert_eq!(result.err().unwrap().kind(), ErrorKind::AlreadyExists);
                    } else {
                        handles.push(result.unwrap());
                        model.files.push(ModelFile::default());
                        model.names.insert(NAMES[n].to_string(), model.files.len() - 1);
                    }
                }
                Op::Write { file, offset, len, byte } if !handles.is_empty() => {
                    let id = file % handles.len();
                    handles[id].write_at(&vec![byte; len], offset).unwrap();
                    let current = &mut model.files[id].current;
                    let end = offset as usize + len;
                    if current.len() < end {
                        current.resize(end, 0);
                    }
                    current[offset as usize..end].fill(byte);
                }
                Op::SetLen { file, len } if !handles.is_empty() => {
                    let id = file % handles.len();
                    handles[id].set_len(len).unwrap();
                    model.files[id].current.resize(len as usize, 0);
                }
                Op::Sync(file) if !handles.is_empty() => {
                    let id = file % handles.len();
                    handles[id].sync().unwrap();
                    model.files[id].synced = model.files[id].current.clone();
                }
                Op::SyncDir => {
                    sim.sync_dir(Path::new("/d")).unwrap();
                    model.synced_names = model.names.clone();
                }
                Op::Rename(a, b) => {
                    let result = sim.rename(&path(NAMES[a]), &path(NAMES[b]));
                    match model.names.remove(NAMES[a]) {
                        Some(id) => {
                            result.unwrap();
                            model.names.insert(NAMES[b].to_string(), id);
                        }
                        None => prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound),
                    }
                }
                Op::Remove(n) => {
                    let result = sim.remove(&path(NAMES[n]));
                    match model.names.remove(NAMES[n]) {
                        Some(_) => result.unwrap(),
                        None => prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::NotFound),
                    }
                }
                Op::Write { .. } | Op::SetLen { .. } | Op::Sync(_) => {}
            }
        }
        expect_contents(&sim, &model.names, |id| model.files[id].current.clone());
        let image = sim.crash_image(CrashMode::LoseUnsynced);
        expect_contents(&image, &model.synced_names, |id| model.files[id].synced.clone());
    }
}
