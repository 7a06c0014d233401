//! The Bird access key: where it comes from and how it stays secret.
//!
//! Owns the lookup order: the environment variable `MSGSPOOL_ACCESS_KEY`, then the config's
//! `bird.access_key_file`, then the systemd credential `$CREDENTIALS_DIRECTORY/bird-access-key`.
//! Trusts the environment it is handed (a closure, so tests inject one). Guarantees that the
//! key's text never appears in `Debug`, `Display` or any error: only [`AccessKey::expose`]
//! gives it out, for the `Authorization` header.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// The environment variable read first.
pub const ACCESS_KEY_ENV: &str = "MSGSPOOL_ACCESS_KEY";
/// The systemd credential name (`LoadCredential=bird-access-key:...`) read last.
pub const CREDENTIAL_NAME: &str = "bird-access-key";

/// Bird's access key. Prints as `AccessKey(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(String);

impl AccessKey {
    /// Wraps a key obtained elsewhere (tests, a fake Bird).
    pub fn new(key: impl Into<String>) -> AccessKey {
        AccessKey(key.into())
    }

    /// The key itself, for the `Authorization: AccessKey <key>` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(<redacted>)")
    }
}

impl fmt::Display for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(<redacted>)")
    }
}

/// Finds the access key: `MSGSPOOL_ACCESS_KEY`, then `bird.access_key_file`, then the systemd
/// credential. Surrounding whitespace is trimmed. `Ok(None)` when no source exists; an empty
/// key, a key with control characters, or an unreadable file is an error naming the source.
pub fn load_access_key(
    cfg: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<AccessKey>, ConfigError> {
    if let Some(value) = env(ACCESS_KEY_ENV) {
        return checked(&value, ACCESS_KEY_ENV.to_owned()).map(Some);
    }
    if let Some(path) = &cfg.bird.access_key_file {
        let text = read(path, "bird.access_key_file")?;
        return checked(&text, path.display().to_string()).map(Some);
    }
    let Some(dir) = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(dir).join(CREDENTIAL_NAME);
    match std::fs::read_to_string(&path) {
        // systemd sets the directory when any credential is loaded; ours may not be one.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(unreadable(
            &path,
            "systemd credential bird-access-key",
            error,
        )),
        Ok(text) => checked(&text, path.display().to_string()).map(Some),
    }
}

fn read(path: &Path, what: &'static str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| unreadable(path, what, error))
}

fn unreadable(path: &Path, what: &'static str, error: io::Error) -> ConfigError {
    ConfigError::AccessKeyUnreadable {
        path: path.to_owned(),
        what,
        error,
    }
}

fn checked(raw: &str, origin: String) -> Result<AccessKey, ConfigError> {
    let key = raw.trim();
    let reason = if key.is_empty() {
        "is empty; put the key there, or remove this source to use the next one"
    } else if key.contains(char::is_control) {
        "contains a line break or control character; keep only the key"
    } else {
        return Ok(AccessKey(key.to_owned()));
    };
    Err(ConfigError::AccessKeyInvalid { origin, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "sk_live_0123456789abcdef";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn config_with_key_file(path: Option<PathBuf>) -> Config {
        let mut cfg = Config::builtin();
        cfg.bird.access_key_file = path;
        cfg
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_environment_variable_wins_over_the_file_and_the_credential() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "key", "from-file");
        write(dir.path(), CREDENTIAL_NAME, "from-credential");
        let env = env_of(&[
            (ACCESS_KEY_ENV, " from-env\n"),
            ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
        ]);
        let key = load_access_key(&config_with_key_file(Some(file)), &env)
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "from-env");
    }

    #[test]
    fn the_key_file_wins_over_the_credential_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "key", "from-file\n");
        write(dir.path(), CREDENTIAL_NAME, "from-credential");
        let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
        let key = load_access_key(&config_with_key_file(Some(file)), &env)
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "from-file");
    }

    #[test]
    fn the_systemd_credential_is_used_last() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), CREDENTIAL_NAME, "from-credential\r\n");
        let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
        let key = load_access_key(&config_with_key_file(None), &env)
            .unwrap()
            .unwrap();
        assert_eq!(key.expose(), "from-credential");
    }

    #[test]
    fn no_source_at_all_is_no_key() {
        assert!(
            load_access_key(&Config::builtin(), &env_of(&[]))
                .unwrap()
                .is_none()
        );
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
        assert!(load_access_key(&Config::builtin(), &env).unwrap().is_none());
    }

    #[test]
    fn an_empty_environment_variable_is_an_error_naming_it() {
        let err = load_access_key(&Config::builtin(), &env_of(&[(ACCESS_KEY_ENV, " \n")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("MSGSPOOL_ACCESS_KEY: error: the Bird access key is empty"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_key_file_is_an_error_naming_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "key", "\n");
        let err = load_access_key(&config_with_key_file(Some(file.clone())), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: error:", file.display())),
            "{err}"
        );
        assert!(err.contains("is empty"), "{err}");
    }

    #[test]
    fn a_missing_key_file_is_an_error_with_the_os_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("absent");
        let err = load_access_key(&config_with_key_file(Some(file.clone())), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: error: bird.access_key_file", file.display())),
            "{err}"
        );
        assert!(err.contains("No such file"), "{err}");
    }

    #[test]
    fn an_unreadable_credential_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the credential file should be cannot be read as text.
        std::fs::create_dir(dir.path().join(CREDENTIAL_NAME)).unwrap();
        let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
        let err = load_access_key(&Config::builtin(), &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("systemd credential bird-access-key"), "{err}");
    }

    #[test]
    fn a_key_spanning_two_lines_is_refused_without_showing_it() {
        let env = env_of(&[(ACCESS_KEY_ENV, "sk_live_0123\n456789abcdef")]);
        let err = load_access_key(&Config::builtin(), &env).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("control character"), "{shown}");
        assert!(!shown.contains("sk_live"), "{shown}");
    }

    #[test]
    fn the_key_never_appears_in_debug_or_display() {
        let key = AccessKey::new(SECRET);
        assert_eq!(format!("{key}"), "AccessKey(<redacted>)");
        assert_eq!(format!("{key:?}"), "AccessKey(<redacted>)");
        assert_eq!(format!("{:?}", Some(&key)), "Some(AccessKey(<redacted>))");
        assert_eq!(key.expose(), SECRET);
    }

    #[test]
    fn errors_about_a_key_file_never_contain_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "key", &format!("{SECRET}\u{7}"));
        let err = load_access_key(&config_with_key_file(Some(file)), &env_of(&[])).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(SECRET), "{shown}");
    }
}
