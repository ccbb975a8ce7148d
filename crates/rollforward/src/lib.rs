//! rollforward (being built).
