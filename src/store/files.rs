//! `VIVA_HOME` and the recordings in it: creating the directory (and proving it writable),
//! the paths the store keeps (relative to `VIVA_HOME`, so it can move) and hands out (never
//! outside it), and repairing the recordings a kill cut short.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{params, OptionalExtension};

use super::sessions::check_session_id;
use super::{sql, Store, StoreError};
use crate::answer_wav::{self, RepairFailed, Repaired};

/// The database file inside `VIVA_HOME`.
pub const DB_FILE: &str = "viva.db";
/// The directory inside `VIVA_HOME` holding one directory of recordings per session.
pub const SESSIONS_DIR: &str = "sessions";

/// Which recording of an answer: the candidate's, or the question viva spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Answer,
    Question,
}

impl Store {
    /// The recording of answer `answer_seq` of a session, or the question as it was spoken
    /// before it, checked to be a file inside `VIVA_HOME` (symbolic links followed), for
    /// serving it to a browser.
    pub fn answer_audio(
        &self,
        session_id: &str,
        answer_seq: u32,
        kind: AudioKind,
    ) -> Result<PathBuf, StoreError> {
        check_session_id(session_id)?;
        let column = match kind {
            AudioKind::Answer => "audio_path",
            AudioKind::Question => "question_audio_path",
        };
        let no_such = || StoreError::NoSuchAnswer {
            session_id: session_id.to_owned(),
            seq: answer_seq,
        };
        let stored: String = self
            .conn
            .query_row(
                &format!("SELECT {column} FROM answers WHERE session_id = ?1 AND seq = ?2"),
                params![session_id, answer_seq],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map_err(sql(&self.db_path))?
            .flatten()
            .ok_or_else(no_such)?;
        let path = self.resolved_path(&stored);
        let outside = || StoreError::OutsideHome {
            path: path.clone(),
            home: self.home.clone(),
        };
        if relative_inside(&path, &self.home).is_none() {
            return Err(outside());
        }
        let real =
            fs::canonicalize(&path).map_err(|_| StoreError::AudioMissing { path: path.clone() })?;
        if !real.starts_with(&self.home) {
            return Err(outside());
        }
        if !real.is_file() {
            return Err(StoreError::AudioMissing { path });
        }
        Ok(real)
    }

    /// Repairs the WAV of every interrupted answer whose header a kill left behind its data
    /// ([`answer_wav::repair`]); a finished recording is never touched. Returns what was
    /// repaired and what could not be, one entry per file.
    pub fn repair_recordings(&self) -> Result<Vec<Result<Repaired, RepairFailed>>, StoreError> {
        let db = &self.db_path;
        let mut stmt = self
            .conn
            .prepare("SELECT audio_path FROM answers WHERE status = 'interrupted' ORDER BY id")
            .map_err(sql(db))?;
        let stored: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .map_err(sql(db))?
            .collect::<Result<_, _>>()
            .map_err(sql(db))?;
        Ok(stored
            .iter()
            .filter_map(|stored| answer_wav::repair(&self.resolved_path(stored)).transpose())
            .collect())
    }

    /// A path as stored: relative to `VIVA_HOME` when inside it (so the directory can move),
    /// absolute otherwise.
    pub(super) fn stored_path(&self, path: &Path) -> Result<String, StoreError> {
        let inside = relative_inside(path, &self.home).or_else(|| {
            // The caller may know VIVA_HOME by a path that is not canonical.
            let parent = fs::canonicalize(path.parent()?).ok()?;
            relative_inside(&parent.join(path.file_name()?), &self.home)
        });
        let text = match &inside {
            Some(relative) => relative.to_str(),
            None => path.to_str(),
        };
        text.map(str::to_owned).ok_or_else(|| StoreError::NotUtf8 {
            path: path.to_owned(),
        })
    }

    pub(super) fn resolved_path(&self, stored: &str) -> PathBuf {
        let path = Path::new(stored);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.home.join(path)
        }
    }
}

/// `path` relative to `home`, if it lies inside it by plain names only (no `..`).
fn relative_inside(path: &Path, home: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix(home).ok()?;
    let plain = relative.components().count() > 0
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| relative.to_owned())
}

/// Creates `home` and any missing parents; returns the directories it created, outermost
/// first, so a failure later can remove exactly those. On failure here, removes them itself.
pub(super) fn create_dirs(home: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut missing = Vec::new();
    let mut next = Some(home);
    while let Some(dir) = next {
        if dir.as_os_str().is_empty() || dir.exists() {
            break;
        }
        missing.push(dir.to_owned());
        next = dir.parent();
    }

    let mut created = Vec::new();
    for dir in missing.into_iter().rev() {
        match fs::create_dir(&dir) {
            Ok(()) => created.push(dir),
            // Another process made it first; it is not ours to remove.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(source) => {
                for dir in created.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(StoreError::HomeNotWritable {
                    path: home.to_owned(),
                    source,
                });
            }
        }
    }

    Ok(created)
}

/// Proves `home` is a directory this process can create files in, by doing it. Permission
/// bits alone would mislead: root writes through them.
pub(super) fn check_writable(home: &Path) -> io::Result<()> {
    // Unique per call, so two threads opening the same home do not remove each other's probe.
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    let probe = home.join(format!(".viva-write-check-{}-{n}", std::process::id()));
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{new_answer, open, owner_died};

    #[test]
    fn a_missing_home_and_its_parents_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/b/viva");
        Store::open(&home).unwrap();
        assert!(home.join(DB_FILE).is_file());
    }

    #[test]
    fn an_unwritable_home_is_refused_and_nothing_is_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes through permission bits; a path under a regular file fails for anyone.
        let home = if fs::File::create(locked.join("probe")).is_ok() {
            fs::remove_file(locked.join("probe")).unwrap();
            fs::write(dir.path().join("file"), "not a directory").unwrap();
            dir.path().join("file/viva/home")
        } else {
            locked.join("viva/home")
        };
        let err = Store::open(&home)
            .err()
            .expect("an unwritable home must be refused");
        let message = err.to_string();
        assert!(
            matches!(err, StoreError::HomeNotWritable { .. }),
            "{message}"
        );
        assert!(message.contains(&home.display().to_string()), "{message}");
        assert!(
            message.contains("set VIVA_HOME to a writable directory"),
            "{message}"
        );
        assert_eq!(fs::read_dir(&locked).unwrap().count(), 0);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert!(left == ["locked"] || left == ["file", "locked"], "{left:?}");
        if dir.path().join("file").exists() {
            assert!(dir.path().join("file").is_file());
        }
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn an_existing_unwritable_directory_is_refused_without_a_database() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o555)).unwrap();
        if fs::File::create(home.join("probe")).is_ok() {
            // Running as root: permission bits cannot make this case; the test above covers it.
            fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let err = Store::open(&home).err().expect("must be refused");
        assert!(matches!(err, StoreError::HomeNotWritable { .. }), "{err}");
        assert_eq!(fs::read_dir(&home).unwrap().count(), 0);
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A 16 kHz mono WAV of `n` samples whose header claims only the first `claimed`.
    fn lagging_wav(path: &Path, n: usize, claimed: u32) -> Vec<i16> {
        let samples: Vec<i16> = (0..n).map(|i| (i as i16).wrapping_mul(37)).collect();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for &s in &samples {
            writer.write_sample(s).unwrap();
        }
        writer.finalize().unwrap();
        let mut bytes = fs::read(path).unwrap();
        bytes[4..8].copy_from_slice(&(36 + 2 * claimed).to_le_bytes());
        bytes[40..44].copy_from_slice(&(2 * claimed).to_le_bytes());
        fs::write(path, bytes).unwrap();
        samples
    }

    #[test]
    fn recovery_repairs_interrupted_recordings_and_leaves_others_alone() {
        let (_dir, mut store) = open();
        let dead = store.create_session(None).unwrap();
        let ours = store.create_session(None).unwrap();
        store
            .start_answer(new_answer(&store, &dead, "q", 1))
            .unwrap();
        store
            .start_answer(new_answer(&store, &ours, "q", 1))
            .unwrap();
        let killed = store.session_dir(&dead).join("q-1.wav");
        let written = lagging_wav(&killed, 8000, 0);
        // The live session's recording is still being written: its header is not ours to fix.
        let live = store.session_dir(&ours).join("q-1.wav");
        lagging_wav(&live, 8000, 100);
        let live_bytes = fs::read(&live).unwrap();
        owner_died(&store, &dead);

        let said = store.recover().unwrap();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].contains(&dead), "{said:?}");
        assert!(
            said[1].contains("q-1.wav") && said[1].contains("0.00 s readable before, 0.50 s now"),
            "{said:?}"
        );
        let kept: Vec<i16> = hound::WavReader::open(&killed)
            .unwrap()
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, written);
        assert_eq!(fs::read(&live).unwrap(), live_bytes);
        // The next start finds nothing left to repair.
        assert!(store.recover().unwrap().is_empty());
    }

    #[test]
    fn answer_audio_is_served_only_from_inside_viva_home() {
        let (dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let inside = store
            .start_answer(new_answer(&store, &session, "p", 1))
            .unwrap();
        let _ = inside;
        let missing = store
            .answer_audio(&session, 1, AudioKind::Answer)
            .unwrap_err();
        assert!(
            matches!(missing, StoreError::AudioMissing { .. }),
            "{missing}"
        );
        let wav = store.session_dir(&session).join("p-1.wav");
        fs::write(&wav, b"RIFF").unwrap();
        assert_eq!(
            store.answer_audio(&session, 1, AudioKind::Answer).unwrap(),
            wav
        );

        let outside_file = dir.path().join("elsewhere.wav");
        fs::write(&outside_file, b"RIFF").unwrap();
        let mut new = new_answer(&store, &session, "q", 1);
        new.audio_path = outside_file;
        store.start_answer(new).unwrap();
        assert!(matches!(
            store.answer_audio(&session, 2, AudioKind::Answer),
            Err(StoreError::OutsideHome { .. })
        ));

        // A link inside the session directory pointing out of it is refused too.
        let link = store.session_dir(&session).join("link.wav");
        std::os::unix::fs::symlink(dir.path().join("elsewhere.wav"), &link).unwrap();
        let mut new = new_answer(&store, &session, "r", 1);
        new.audio_path = link;
        store.start_answer(new).unwrap();
        assert!(matches!(
            store.answer_audio(&session, 3, AudioKind::Answer),
            Err(StoreError::OutsideHome { .. })
        ));
        assert!(matches!(
            store.answer_audio(&session, 9, AudioKind::Answer),
            Err(StoreError::NoSuchAnswer { seq: 9, .. })
        ));
        // Answers recorded with no spoken question have no question audio to serve.
        assert!(matches!(
            store.answer_audio(&session, 1, AudioKind::Question),
            Err(StoreError::NoSuchAnswer { seq: 1, .. })
        ));
    }

    #[test]
    fn question_audio_is_served_from_inside_viva_home() {
        let (_dir, mut store) = open();
        let session = store.create_session(None).unwrap();
        let question = store.session_dir(&session).join("question-001.wav");
        fs::write(&question, b"RIFF").unwrap();
        let mut new = new_answer(&store, &session, "p", 1);
        new.question_audio_path = Some(question.clone());
        store.start_answer(new).unwrap();
        assert_eq!(
            store
                .answer_audio(&session, 1, AudioKind::Question)
                .unwrap(),
            question.canonicalize().unwrap()
        );
    }
}
