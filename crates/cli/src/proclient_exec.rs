//! `proclient db exec FILE|-`: a script of statements, grouped into transactions by
//! `begin` / `commit` / `rollback`; a statement outside them is its own transaction.

use std::io::Read;
use std::time::Duration;

use engine::DbPath;
use workload::{Session, Transaction};

use crate::error::on_workload;
use crate::proclient::escape;
use crate::{Console, Error, say};

/// One parsed script line.
#[derive(Debug, PartialEq, Eq)]
enum Statement<'a> {
    Begin,
    Commit,
    Rollback,
    Sleep(Duration),
    Insert(&'a str, &'a str, &'a str),
    Update(&'a str, &'a str, &'a str),
    Delete(&'a str, &'a str),
    Get(&'a str, &'a str),
}

/// Splits off the first whitespace-separated word.
fn word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], &text[end..]))
}

fn parse(line: &str, number: usize) -> Result<Option<Statement<'_>>, Error> {
    let bad = |message: String| Error::Script {
        line: number,
        message,
    };
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (verb, rest) = word(trimmed).expect("non-empty line has a word");
    let args = |n: usize| -> Result<Vec<&str>, Error> {
        let mut out = Vec::new();
        let mut rest = rest;
        for _ in 0..n {
            let (w, r) = word(rest).ok_or_else(|| bad(format!("`{verb}` needs {n} operands")))?;
            out.push(w);
            rest = r;
        }
        if !rest.trim().is_empty() {
            return Err(bad(format!("`{verb}` takes {n} operands")));
        }
        Ok(out)
    };
    // The value is the rest of the line after table and key, so it may contain spaces.
    let with_value = || -> Result<(&str, &str, &str), Error> {
        let (table, r) =
            word(rest).ok_or_else(|| bad(format!("`{verb}` needs TABLE KEY VALUE")))?;
        let (key, r) = word(r).ok_or_else(|| bad(format!("`{verb}` needs TABLE KEY VALUE")))?;
        let value = r.trim();
        if value.is_empty() {
            return Err(bad(format!("`{verb}` needs TABLE KEY VALUE")));
        }
        Ok((table, key, value))
    };
    let statement = match verb.to_lowercase().as_str() {
        "begin" => {
            args(0)?;
            Statement::Begin
        }
        "commit" => {
            args(0)?;
            Statement::Commit
        }
        "rollback" => {
            args(0)?;
            Statement::Rollback
        }
        "sleep" => {
            let a = args(1)?;
            let seconds: f64 = a[0]
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| bad(format!("`sleep {}`: not a number of seconds", a[0])))?;
            Statement::Sleep(Duration::from_secs_f64(seconds))
        }
        "insert" => {
            let (t, k, v) = with_value()?;
            Statement::Insert(t, k, v)
        }
        "update" => {
            let (t, k, v) = with_value()?;
            Statement::Update(t, k, v)
        }
        "delete" => {
            let a = args(2)?;
            Statement::Delete(a[0], a[1])
        }
        "get" => {
            let a = args(2)?;
            Statement::Get(a[0], a[1])
        }
        other => return Err(bad(format!("unknown statement `{other}`"))),
    };
    Ok(Some(statement))
}

fn read_script(file: &str) -> Result<String, Error> {
    let mut text = String::new();
    if file == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| Error::ReadFile {
                path: "standard input".into(),
                source,
            })?;
        return Ok(text);
    }
    let storage = crate::real_storage();
    let path = std::path::absolute(file).unwrap_or_else(|_| file.into());
    let bytes = storage::read_all(storage.as_ref(), &path).map_err(|source| Error::ReadFile {
        path: path.clone(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| Error::ReadFile {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Runs the script. Every statement is checked before anything runs, so a script with a
/// syntax error changes nothing.
pub(crate) fn exec<S: Session + ?Sized>(
    console: &mut Console,
    db: &S,
    path: &DbPath,
    file: &str,
) -> Result<(), Error> {
    let text = read_script(file)?;
    let mut statements = Vec::new();
    let mut depth: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if let Some(s) = parse(line, number)? {
            match (&s, depth) {
                (Statement::Begin, Some(at)) => {
                    return Err(Error::Script {
                        line: number,
                        message: format!("`begin` inside the transaction begun at line {at}"),
                    });
                }
                (Statement::Begin, None) => depth = Some(number),
                (Statement::Commit | Statement::Rollback, None) => {
                    return Err(Error::Script {
                        line: number,
                        message: "`commit`/`rollback` without `begin`".into(),
                    });
                }
                (Statement::Commit | Statement::Rollback, Some(_)) => depth = None,
                _ => {}
            }
            statements.push((number, s));
        }
    }
    let eng = on_workload(path);
    let mut open: Option<(usize, S::Txn<'_>)> = None;
    for (number, statement) in statements {
        match statement {
            Statement::Begin => open = Some((number, db.begin().map_err(&eng)?)),
            Statement::Commit => {
                let (_, tx) = open.take().expect("validated: commit follows begin");
                tx.commit().map_err(&eng)?;
            }
            Statement::Rollback => {
                let (_, tx) = open.take().expect("validated: rollback follows begin");
                tx.rollback().map_err(&eng)?;
            }
            Statement::Sleep(d) => std::thread::sleep(d),
            other => {
                let mut own = None;
                let tx = match open.as_mut() {
                    Some((_, tx)) => tx,
                    None => own.insert(db.begin().map_err(&eng)?),
                };
                run_record(console, tx, &other).map_err(|e| at_line(e, number))?;
                if let Some(tx) = own {
                    tx.commit().map_err(&eng)?;
                }
            }
        }
    }
    if let Some((begun_at, tx)) = open {
        tx.rollback().map_err(&eng)?;
        return Err(Error::UnfinishedTransaction { begun_at });
    }
    Ok(())
}

fn at_line(err: workload::Error, line: usize) -> Error {
    Error::Script {
        line,
        message: format!("{err} ({})", err.msg_number()),
    }
}

fn run_record<T: Transaction + ?Sized>(
    console: &mut Console,
    tx: &mut T,
    s: &Statement<'_>,
) -> Result<(), workload::Error> {
    match *s {
        Statement::Insert(t, k, v) => tx.insert(t, k, v.as_bytes()),
        Statement::Update(t, k, v) => tx.update(t, k, v.as_bytes()),
        Statement::Delete(t, k) => tx.delete(t, k),
        Statement::Get(t, k) => {
            let value = tx.get(t, k)?;
            match value {
                Some(v) => say(console, format!("{t}\t{k}\t{}", escape(&v))),
                None => say(console, format!("{t}\t{k}\t(no record)")),
            }
            Ok(())
        }
        Statement::Begin | Statement::Commit | Statement::Rollback | Statement::Sleep(_) => {
            unreachable!("control statements are handled by exec")
        }
    }
}

#[cfg(test)]
mod tests;
