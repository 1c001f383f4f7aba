//! Writing apk v3 packages.
