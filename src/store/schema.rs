//! The database's schema: numbered migrations in `store/migrations/`, applied in one
//! transaction and recorded in `schema_migrations`, and the settings every connection gets
//! (WAL, a busy timeout, foreign keys).

use std::path::Path;

use chrono::Utc;
use rusqlite::{params, Connection, TransactionBehavior};

use super::{sql, utc_text, StoreError, BUSY_TIMEOUT};

/// The schema, one step per file, in order. A step is never edited once released: a change
/// is a new file.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("migrations/0001_init.sql"),
}];
struct Migration {
    version: u32,
    name: &'static str,
    sql: &'static str,
}

pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // A file system without shared memory (some network mounts) refuses WAL; SQLite then
        // keeps its rollback journal, which is slower but just as safe.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
    }

    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Applies the migrations the database lacks, all in one transaction, recording each.
pub(super) fn migrate(conn: &mut Connection, db: &Path) -> Result<(), StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    // Immediate: of two vivas opening a fresh database together, the second waits and then
    // sees the first one's work instead of applying it again.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(db))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY NOT NULL,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(sql(db))?;
    let current: u32 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(sql(db))?;
    if current > known {
        return Err(StoreError::TooNew {
            path: db.to_owned(),
            found: current,
            known,
        });
    }

    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(migration.sql).map_err(sql(db))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![migration.version, migration.name, utc_text(Utc::now())],
        )
        .map_err(sql(db))?;
    }

    tx.commit().map_err(sql(db))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::open;
    use crate::store::{Store, DB_FILE};
    use chrono::DateTime;

    fn migrations(store: &Store) -> Vec<(u32, String, String)> {
        let mut stmt = store
            .conn
            .prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn migrations_apply_once_and_are_recorded() {
        let (_dir, store) = open();
        let applied = migrations(&store);
        let versions: Vec<u32> = applied.iter().map(|m| m.0).collect();
        let known: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, known);
        assert_eq!(applied[0].1, "init");
        assert!(DateTime::parse_from_rfc3339(&applied[0].2).is_ok());
        for table in ["sessions", "answers", "practice"] {
            let n: i64 = store
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{table}");
        }
    }

    #[test]
    fn reopening_does_not_reapply_migrations_or_lose_data() {
        let (dir, mut store) = open();
        let before = migrations(&store);
        let id = store.create_session(None).unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("home")).unwrap();
        assert_eq!(migrations(&store), before);
        assert_eq!(store.session(&id).unwrap().id, id);
    }

    #[test]
    fn a_database_newer_than_the_code_is_refused_and_kept() {
        let (dir, store) = open();
        store
            .conn
            .execute(
                "INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        drop(store);
        let home = dir.path().join("home");
        let err = Store::open(&home)
            .err()
            .expect("a newer schema must be refused");
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{message}"
        );
        assert!(message.contains("viva.db"), "{message}");
        assert!(message.contains("upgrade viva"), "{message}");
        assert!(home.join(DB_FILE).exists());
    }

    #[test]
    fn wal_mode_and_foreign_keys_are_on() {
        let (_dir, store) = open();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let orphan = store.conn.execute(
            "INSERT INTO answers (session_id, seq, prompt_id, category, try_number, audio_path,
                                  started_at, status)
             VALUES ('nope', 1, 'p', 'c', 1, 'a.wav', 'now', 'recording')",
            [],
        );
        assert!(orphan.is_err());
    }
}
