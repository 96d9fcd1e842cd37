"""The rating register (SQLite): runs, history, migration, post-loan monitoring and their workbooks."""
