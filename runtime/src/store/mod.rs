//! TEMPORARY STUB by the lead; the SQLite helper replaces this file.
