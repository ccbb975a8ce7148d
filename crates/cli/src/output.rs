//! Where a command writes: standard output for results, standard error for messages, and the
//! database's event log for every error that names a database.

use std::io::Write;

use crate::Error;

/// A command's output streams; tests capture them in memory.
pub struct Console {
    /// Results (listings, values, summaries).
    pub out: Box<dyn Write>,
    /// Messages and errors.
    pub err: Box<dyn Write>,
}

impl Console {
    /// A console over the given streams.
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>) -> Self {
        Self { out, err }
    }

    /// Prints an error as `tool: text (number)` and appends it to the database's event log.
    pub fn error(&mut self, tool: &str, err: &Error, db: Option<&engine::DbPath>) {
        let number = err.msg_number();
        let _ = writeln!(self.err, "{tool}: {err} ({number})");
        let _ = self.err.flush();
        if let Some(db) = db {
            engine::log_event_at(
                &crate::real_storage(),
                db,
                &tool.to_uppercase(),
                &err.to_string(),
                Some(number),
            );
        }
    }

    /// Prints an informational message with its number, as the seeds show them.
    pub fn message(&mut self, text: &str, number: u32) {
        let _ = writeln!(self.out, "{text} ({number})");
    }
}
