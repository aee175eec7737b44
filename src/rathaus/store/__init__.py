"""Storage: the database, its tables' base, tenant scoping and migrations."""
