//! `[webhooks]`: what is refused with its place, and where the signing key comes from.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::config::Config;

const PATH: &str = "/etc/msgspool/config.toml";
const ONE_CHANNEL: &str = "[channels.whatsapp]\nid = \"ch-1\"\n";
const SECRET: &str = "whsec_0123456789abcdef";

fn parse(webhooks: &str) -> Result<Config, ConfigError> {
    Config::parse(
        &format!("{ONE_CHANNEL}[webhooks]\n{webhooks}"),
        Path::new(PATH),
    )
}

fn refusal(webhooks: &str) -> String {
    match parse(webhooks) {
        Ok(cfg) => panic!("expected an error, got {cfg:?}"),
        Err(e) => e.to_string(),
    }
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn hooks(file: Option<PathBuf>) -> WebhooksConfig {
    WebhooksConfig {
        listen: "127.0.0.1:8787".parse().unwrap(),
        public_url: "https://hooks.example.com/bird".to_owned(),
        signing_key_file: file,
    }
}

#[test]
fn the_listener_is_off_unless_listen_is_set() {
    let cfg = Config::parse(ONE_CHANNEL, Path::new(PATH)).unwrap();
    assert_eq!(cfg.webhooks, None);
    assert_eq!(parse("").unwrap().webhooks, None);
}

#[test]
fn a_full_table_is_read() {
    let cfg = parse(
        "listen = \"127.0.0.1:8787\"\npublic_url = \"https://hooks.example.com/bird\"\nsigning_key_file = \"/etc/msgspool/hook.key\"\n",
    )
    .unwrap();
    assert_eq!(
        cfg.webhooks,
        Some(hooks(Some(PathBuf::from("/etc/msgspool/hook.key"))))
    );
}

#[test]
fn listen_without_public_url_a_bad_address_or_url_is_refused_at_its_place() {
    let e = refusal("listen = \"127.0.0.1:8787\"\n");
    assert!(
        e.starts_with(&format!(
            "{PATH}:4:10: error: webhooks.listen: needs [webhooks] public_url"
        )),
        "{e}"
    );
    let e = refusal("listen = \"localhost\"\npublic_url = \"https://h.example/\"\n");
    assert!(
        e.starts_with(&format!(
            "{PATH}:4:10: error: webhooks.listen: not an address"
        )),
        "{e}"
    );
    let e = refusal("listen = \"127.0.0.1:8787\"\npublic_url = \"ftp://h.example/\"\n");
    assert!(
        e.starts_with(&format!("{PATH}:5:14: error: webhooks.public_url:")),
        "{e}"
    );
    assert!(
        refusal("listen = \"127.0.0.1:1\"\npublic_url = \"https://h/\"\nport = 1\n")
            .contains("port")
    );
}

#[test]
fn the_key_file_wins_over_the_credential_and_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    std::fs::write(dir.path().join(SIGNING_KEY_CREDENTIAL), "from-credential").unwrap();
    let env = env_of(&[("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap())]);
    let key = load_signing_key(&hooks(Some(file)), &env).unwrap();
    assert_eq!(key.expose(), SECRET.as_bytes());
    let key = load_signing_key(&hooks(None), &env).unwrap();
    assert_eq!(key.expose(), b"from-credential");
}

#[test]
fn no_key_an_empty_key_or_a_missing_file_is_an_error_that_never_shows_the_key() {
    assert!(matches!(
        load_signing_key(&hooks(None), &env_of(&[])),
        Err(ConfigError::NoSigningKey)
    ));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let e = load_signing_key(&hooks(Some(empty)), &env_of(&[])).unwrap_err();
    assert!(e.to_string().contains("is empty"), "{e}");
    let e = load_signing_key(&hooks(Some(dir.path().join("absent"))), &env_of(&[])).unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot read the webhook signing key"),
        "{e}"
    );
    let two_lines = dir.path().join("two");
    std::fs::write(&two_lines, format!("{SECRET}\n{SECRET}")).unwrap();
    let e = load_signing_key(&hooks(Some(two_lines)), &env_of(&[])).unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        shown.contains("control character") && !shown.contains(SECRET),
        "{shown}"
    );
    assert_eq!(
        format!("{:?}", SigningKey::new(SECRET)),
        "SigningKey(<redacted>)"
    );
}
