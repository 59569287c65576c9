//! The native JSON Lines format: one claim or evidence record per line, tagged by `kind`.
