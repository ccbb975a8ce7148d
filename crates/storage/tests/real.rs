//! `RealStorage` against a temporary directory: the trait's contract on the real file system.

use std::io::ErrorKind;

use storage::{OpenMode, RealStorage, Storage, create_durable, read_all};

#[test]
fn round_trip_through_the_real_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let fs = RealStorage;
    let path = root.join("b.dat");

    let file = create_durable(&fs, &path, b"hello").unwrap();
    assert_eq!(file.len().unwrap(), 5);
    file.write_at(b"world", 10).unwrap();
    assert_eq!(file.len().unwrap(), 15);
    let mut buf = [0xAAu8; 15];
    file.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"hello\0\0\0\0\0world");
    file.sync().unwrap();

    let err = file.read_at(&mut [0u8; 4], 13).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);

    file.set_len(3).unwrap();
    file.sync().unwrap();
    assert_eq!(read_all(&fs, &path).unwrap(), b"hel");

    let err = fs.open(&path, OpenMode::CreateNew).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);

    fs.create_dir_all(&root.join("sub/deeper")).unwrap();
    create_durable(&fs, &root.join("a.dat"), b"a").unwrap();
    assert_eq!(fs.list_dir(root).unwrap(), vec!["a.dat", "b.dat", "sub"]);

    let moved = root.join("sub/c.dat");
    fs.rename(&path, &moved).unwrap();
    fs.sync_dir(root).unwrap();
    fs.sync_dir(&root.join("sub")).unwrap();
    assert!(!fs.exists(&path));
    assert!(fs.exists(&moved));
    assert_eq!(read_all(&fs, &moved).unwrap(), b"hel");

    let canonical = fs.canonicalize(&root.join("sub/deeper/../c.dat")).unwrap();
    assert_eq!(canonical, fs.canonicalize(&moved).unwrap());
    assert!(canonical.is_absolute());

    fs.remove(&moved).unwrap();
    assert!(!fs.exists(&moved));
    assert_eq!(
        fs.open(&moved, OpenMode::Read).err().unwrap().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn read_only_handle_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let fs = RealStorage;
    let path = dir.path().join("r.dat");
    create_durable(&fs, &path, b"x").unwrap();
    let file = fs.open(&path, OpenMode::Read).unwrap();
    assert!(file.write_at(b"y", 0).is_err());
    let rw = fs.open(&path, OpenMode::ReadWrite).unwrap();
    rw.write_at(b"y", 0).unwrap();
    assert_eq!(read_all(&fs, &path).unwrap(), b"y");
}
