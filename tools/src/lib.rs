//! Placeholder: shoal-benchmark lands here (issue 6).
