//! Accounting of the files that could not be decoded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Files that could not be decoded: counted, the first few named, never fatal.
#[derive(Debug, Default)]
pub struct BadFiles {
    count: AtomicUsize,
    examples: Mutex<Vec<String>>,
}

impl BadFiles {
    /// Records a failure.
    pub fn record(&self, message: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut examples) = self.examples.lock()
            && examples.len() < 10
        {
            examples.push(message);
        }
    }

    /// Failures so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The first few failure messages.
    pub fn examples(&self) -> Vec<String> {
        self.examples.lock().map(|e| e.clone()).unwrap_or_default()
    }
}
