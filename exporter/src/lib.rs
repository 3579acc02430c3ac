//! Placeholder: shoal-exporter lands here (issue 7).
