//! `msgspool submit --to ... --text ...`: the quick form, a text job built from flags.
//!
//! Owns the one canonical text of such a job, so the file it builds is byte-for-byte the
//! file a person would write by hand in the README's layout (daemon keys, then Bird's top
//! level fields, then the receiver and the body). Trusts nothing in the flags: every value
//! is written as a TOML string (escaped by `toml`) and the result goes through the same
//! rules as any job file, so a bad `--at` or `--tag` is reported like a bad file.

use clap::Args;

#[derive(Debug, Args, Default)]
pub struct QuickArgs {
    /// Quick form: the receiver's phone number (E.164, e.g. +31612345678).
    #[arg(long, value_name = "PHONE", requires = "text")]
    pub to: Option<String>,
    /// Quick form: the message text.
    #[arg(long, requires = "to")]
    pub text: Option<String>,
    /// Quick form: send at this RFC 3339 instant (`scheduledFor`); default: now.
    #[arg(long, value_name = "RFC3339", requires = "to")]
    pub at: Option<String>,
    /// Quick form: the config's channel to send through (optional with one channel).
    #[arg(long, value_name = "NAME", requires = "to")]
    pub channel: Option<String>,
    /// Quick form: a tag (repeat for more, at most 10).
    #[arg(long = "tag", value_name = "TAG", requires = "to")]
    pub tags: Vec<String>,
    /// Quick form: the job id; default: a new unique id.
    #[arg(long, value_name = "ID", requires = "to")]
    pub id: Option<String>,
}

/// One TOML basic string, quoted and escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The job file text for the quick form, with `id` as its job id.
pub fn job_text(args: &QuickArgs, to: &str, text: &str, id: &str) -> String {
    let mut out = format!("id = {}\n", quoted(id));
    if let Some(channel) = &args.channel {
        out.push_str(&format!("channel = {}\n", quoted(channel)));
    }
    if let Some(at) = &args.at {
        out.push_str(&format!("scheduledFor = {}\n", quoted(at)));
    }
    if !args.tags.is_empty() {
        let tags: Vec<String> = args.tags.iter().map(|t| quoted(t)).collect();
        out.push_str(&format!("tags = [{}]\n", tags.join(", ")));
    }
    out.push_str(&format!(
        "\n[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = {}\n\n[body]\ntype = \"text\"\ntext.text = {}\n",
        quoted(to),
        quoted(text)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_newlines_in_the_text_are_escaped_so_the_file_parses_back_to_the_same_text() {
        let args = QuickArgs::default();
        let nasty = "He said \"hi\"\nand left \\ again";
        let text = job_text(&args, "+31612345678", nasty, "q1");
        let value: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(value["body"]["text"]["text"].as_str(), Some(nasty));
        assert_eq!(value["id"].as_str(), Some("q1"));
    }

    #[test]
    fn optional_keys_appear_only_when_given_in_a_fixed_order() {
        let args = QuickArgs {
            at: Some("2026-12-01T09:00:00+01:00".into()),
            channel: Some("whatsapp".into()),
            tags: vec!["a".into(), "b c".into()],
            ..QuickArgs::default()
        };
        let text = job_text(&args, "+31612345678", "x", "q2");
        assert!(text.starts_with(
            "id = \"q2\"\nchannel = \"whatsapp\"\nscheduledFor = \"2026-12-01T09:00:00+01:00\"\ntags = [\"a\", \"b c\"]\n\n[[receiver.contacts]]"
        ));
        let bare = job_text(&QuickArgs::default(), "+31612345678", "x", "q3");
        assert!(
            !bare.contains("channel") && !bare.contains("scheduledFor") && !bare.contains("tags")
        );
    }
}
