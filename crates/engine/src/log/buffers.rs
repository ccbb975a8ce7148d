//! The log's buffers given their memory ahead of use, by a thread that is otherwise idle.
//!
//! Invariant: a buffer is only replaced by a larger one holding the same bytes (the spare holds
//! none outside a flush, which owns it meanwhile and is left alone).

use super::LogManager;
use crate::prefault::touched_vec;

impl LogManager {
    /// Gives the log's two buffers room for `bytes` each, every page of it touched, so that
    /// appends neither grow them nor take the page faults of first use: what roll forward's
    /// log writer does after its first write, while the apply loop goes on appending. A buffer
    /// already that large, and the spare while a flush holds it, are left as they are.
    pub(crate) fn prepare_buffers(&self, bytes: usize) {
        let spare = touched_vec(bytes);
        {
            let mut st = self.state.lock();
            if !st.flushing && st.spare.capacity() < bytes {
                assert!(
                    st.spare.is_empty(),
                    "the spare holds nothing outside a flush"
                );
                st.spare = spare;
            }
        }
        let mut buf = touched_vec(bytes);
        let mut st = self.state.lock();
        if st.buf.capacity() < bytes {
            buf.extend_from_slice(&st.buf);
            st.buf = buf;
        }
    }
}
