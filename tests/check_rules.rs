//! Every local rule, seen the way a user sees it: `msgspool check` on a bad file exits 1 and
//! names the field and its line.

use std::process::Command;

const CONTACT: &str =
    "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n";
const TEXT_BODY: &str = "[body]\ntype = \"text\"\ntext.text = \"hi\"\n";

struct Outcome {
    code: i32,
    stderr: String,
}

fn check(text: &str, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).expect("write job");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .arg("check")
        .args(extra)
        .arg(&path)
        .output()
        .expect("run msgspool");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts exit 1 and an error line `job.toml:LINE:COL: error: FIELD: ...`.
fn assert_rejected(text: &str, field: &str, line: usize) {
    assert_rejected_with(text, &[], field, line);
}

fn assert_rejected_with(text: &str, extra: &[&str], field: &str, line: usize) {
    let out = check(text, extra);
    assert_eq!(out.code, 1, "expected exit 1, stderr: {}", out.stderr);
    let found = out.stderr.lines().any(|l| {
        let Some((place, rest)) = l.split_once(": error: ") else {
            return false;
        };
        // place is PATH:LINE:COL
        let line_ok = place.rsplit(':').nth(1) == Some(line.to_string().as_str());
        let field_ok = field.is_empty() || rest.starts_with(&format!("{field}: "));
        place.contains("job.toml:") && line_ok && field_ok
    });
    assert!(
        found,
        "no error for field `{field}` at line {line}; stderr was:\n{}",
        out.stderr
    );
}

fn job(parts: &[&str]) -> String {
    parts.concat()
}

#[test]
fn a_valid_file_passes_with_exit_zero() {
    let out = check(&job(&[CONTACT, TEXT_BODY]), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty());
}

#[test]
fn a_typo_in_a_top_level_key_names_the_key_and_its_line() {
    assert_rejected(
        &job(&["id = \"x\"\ntgas = [\"a\"]\n", CONTACT, TEXT_BODY]),
        "tgas",
        2,
    );
    let out = check(&job(&["tgas = [\"a\"]\n", CONTACT, TEXT_BODY]), &[]);
    assert!(
        out.stderr.contains("unknown field `tgas`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_typo_in_a_nested_table_names_the_key_and_its_line() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\n[body.text]\ntext = \"hi\"\nactoins = []\n",
    ]);
    assert_rejected(&text, "body.text.actoins", 8);
}

#[test]
fn a_typo_inside_an_array_of_tables_names_the_key() {
    let text = job(&[
        "[[receiver.contacts]]\nidentifierKye = \"phonenumber\"\n",
        TEXT_BODY,
    ]);
    assert_rejected(&text, "receiver.contacts[0].identifierKye", 2);
}

#[test]
fn a_value_of_the_wrong_type_names_the_field() {
    assert_rejected(
        &job(&["validity = \"ten\"\n", CONTACT, TEXT_BODY]),
        "validity",
        1,
    );
}

#[test]
fn an_empty_contacts_array_is_rejected() {
    assert_rejected(
        &job(&["receiver.contacts = []\n", TEXT_BODY]),
        "receiver.contacts",
        1,
    );
}

#[test]
fn an_empty_contact_is_rejected() {
    assert_rejected(
        &job(&["receiver.contacts = [{}]\n", TEXT_BODY]),
        "receiver.contacts[0]",
        1,
    );
}

#[test]
fn a_missing_receiver_is_rejected() {
    assert_rejected(&job(&["id = \"a\"\n", TEXT_BODY]), "", 1);
}

#[test]
fn a_phone_number_that_is_not_e164_is_rejected() {
    let text = "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"0612345678\"\n";
    assert_rejected(
        &job(&[text, TEXT_BODY]),
        "receiver.contacts[0].identifierValue",
        3,
    );
    let short =
        "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+3161\"\n";
    assert_rejected(
        &job(&[short, TEXT_BODY]),
        "receiver.contacts[0].identifierValue",
        3,
    );
}

#[test]
fn body_and_template_together_are_rejected() {
    let text = job(&[CONTACT, TEXT_BODY, "[template]\nprojectId = \"p\"\n"]);
    assert_rejected(&text, "template", 7);
}

#[test]
fn neither_body_nor_template_is_rejected() {
    assert_rejected(CONTACT, "", 1);
}

#[test]
fn a_template_without_project_id_or_name_is_rejected() {
    assert_rejected(
        &job(&[CONTACT, "[template]\nlocale = \"en\"\n"]),
        "template",
        4,
    );
}

#[test]
fn empty_template_parameters_are_rejected() {
    let text = job(&[CONTACT, "[template]\nprojectId = \"p\"\nparameters = []\n"]);
    assert_rejected(&text, "template.parameters", 6);
}

#[test]
fn a_template_parameter_whose_value_has_the_wrong_type_is_rejected() {
    let text = job(&[
        CONTACT,
        "[template]\nprojectId = \"p\"\n[[template.parameters]]\ntype = \"number\"\nkey = \"n\"\nvalue = \"x\"\n",
    ]);
    assert_rejected(&text, "template.parameters[0].value", 9);
}

#[test]
fn empty_images_are_rejected() {
    let text = job(&[CONTACT, "[body]\ntype = \"image\"\nimage.images = []\n"]);
    assert_rejected(&text, "body.image.images", 6);
}

#[test]
fn empty_files_are_rejected() {
    let text = job(&[CONTACT, "[body]\ntype = \"file\"\nfile.files = []\n"]);
    assert_rejected(&text, "body.file.files", 6);
}

#[test]
fn a_body_member_that_does_not_match_the_type_is_rejected() {
    let text = job(&[
        CONTACT,
        TEXT_BODY,
        "image.images = [{ mediaUrl = \"https://x.test/a.jpg\" }]\n",
    ]);
    assert_rejected(&text, "body.image", 7);
}

#[test]
fn a_body_type_of_another_channel_is_rejected_with_the_supported_list() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"html\"\nhtml.html = \"<p>x</p>\"\n",
    ]);
    assert_rejected(&text, "body.type", 5);
    let out = check(&text, &[]);
    assert!(
        out.stderr
            .contains("text, image, file, location, list, carousel"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_whatsapp_feature_the_channels_api_lacks_is_rejected() {
    for kind in ["reaction", "product", "contacts"] {
        let text = job(&[CONTACT, &format!("[body]\ntype = \"{kind}\"\n")]);
        assert_rejected(&text, "body.type", 5);
        assert!(
            check(&text, &[])
                .stderr
                .contains("not supported by Bird's Channels API")
        );
    }
}

#[test]
fn text_longer_than_4096_characters_is_rejected() {
    let long = "x".repeat(4097);
    let text = job(&[
        CONTACT,
        &format!("[body]\ntype = \"text\"\ntext.text = \"{long}\"\n"),
    ]);
    assert_rejected(&text, "body.text.text", 6);
}

#[test]
fn more_than_three_reply_buttons_are_rejected() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\ntext.text = \"pick\"\ntext.actions = [\n",
        "  { type = \"reply\", reply = { text = \"1\" } },\n  { type = \"reply\", reply = { text = \"2\" } },\n",
        "  { type = \"reply\", reply = { text = \"3\" } },\n  { type = \"postback\", postback = { text = \"4\" } },\n]\n",
    ]);
    assert_rejected(&text, "body.text.actions", 7);
}

#[test]
fn an_action_of_another_channel_is_rejected() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\ntext.text = \"pay\"\n[[body.text.actions]]\ntype = \"buy\"\nbuy = { text = \"b\", amountCents = 1, currency = \"EUR\" }\n",
    ]);
    assert_rejected(&text, "body.text.actions[0].type", 8);
}

fn list_with_sections(sections: usize, rows_each: usize) -> String {
    let mut s = job(&[CONTACT, "[body]\ntype = \"list\"\nlist.text = \"choose\"\n"]);
    for i in 0..sections {
        s.push_str(&format!(
            "[[body.list.items]]\ntitle = \"s{i}\"\nactions = [\n"
        ));
        for j in 0..rows_each {
            s.push_str(&format!(
                "  {{ type = \"reply\", reply = {{ text = \"r{i}-{j}\" }} }},\n"
            ));
        }
        s.push_str("]\n");
    }
    s
}

#[test]
fn a_list_with_more_than_ten_sections_is_rejected() {
    assert_rejected(&list_with_sections(11, 0), "body.list.items", 7);
}

#[test]
fn a_list_with_more_than_ten_rows_in_all_is_rejected() {
    assert!(check(&list_with_sections(2, 5), &[]).code == 0);
    assert_rejected(&list_with_sections(3, 4), "body.list", 6);
}

#[test]
fn a_list_button_label_over_twenty_characters_is_rejected() {
    let mut text = list_with_sections(1, 1);
    text.push_str("[body.list.metadata.button]\nlabel = \"a label that is far too long\"\n");
    assert_rejected(&text, "body.list.metadata.button.label", 13);
}

fn carousel(cards: &[(&str, &str)]) -> String {
    let mut s = job(&[CONTACT, "[body]\ntype = \"carousel\"\n"]);
    for (title, url) in cards {
        s.push_str("[[body.carousel.items]]\n");
        if !title.is_empty() {
            s.push_str(&format!("title = \"{title}\"\n"));
        }
        s.push_str(&format!(
            "mediaUrl = \"{url}\"\nactions = [{{ type = \"link\", link = {{ text = \"Buy\", url = \"https://shop.test\" }} }}]\n"
        ));
    }
    s
}

#[test]
fn a_carousel_with_one_card_is_rejected() {
    assert_rejected(
        &carousel(&[("a", "https://x.test/a.jpg")]),
        "body.carousel.items",
        6,
    );
}

#[test]
fn a_carousel_mixing_images_and_videos_is_rejected() {
    let text = carousel(&[("a", "https://x.test/a.jpg"), ("b", "https://x.test/b.mp4")]);
    assert_rejected(&text, "body.carousel.items[1].mediaUrl", 12);
}

#[test]
fn a_carousel_card_without_a_title_is_rejected() {
    let text = carousel(&[("", "https://x.test/a.jpg"), ("b", "https://x.test/b.jpg")]);
    assert_rejected(&text, "body.carousel.items[0]", 6);
}

#[test]
fn a_carousel_card_needs_exactly_one_link_action() {
    let mut text = carousel(&[("a", "https://x.test/a.jpg"), ("b", "https://x.test/b.jpg")]);
    text = text.replacen(
        "actions = [{",
        "actions = [{ type = \"reply\", reply = { text = \"x\" } }, {",
        1,
    );
    assert_rejected(&text, "body.carousel.items[0].actions", 9);
}

#[test]
fn a_location_needs_both_coordinates_in_range() {
    let missing = job(&[
        CONTACT,
        "[body]\ntype = \"location\"\nlocation.coordinates = { latitude = 52.1 }\n",
    ]);
    assert_rejected(&missing, "body.location.coordinates", 6);
    let out_of_range = job(&[
        CONTACT,
        "[body]\ntype = \"location\"\n[body.location.coordinates]\nlatitude = 91.0\nlongitude = 4.9\n",
    ]);
    assert_rejected(&out_of_range, "body.location.coordinates.latitude", 7);
}

#[test]
fn scheduled_for_more_than_35_days_ahead_is_rejected() {
    let text = job(&[
        "scheduledFor = \"2027-01-05T09:00:00+01:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected_with(&text, &["--now", "2026-11-23T12:00:00Z"], "scheduledFor", 1);
    let ok = job(&[
        "scheduledFor = \"2026-12-20T09:00:00+01:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_eq!(check(&ok, &["--now", "2026-11-23T12:00:00Z"]).code, 0);
}

#[test]
fn scheduled_for_without_an_offset_is_rejected() {
    let text = job(&[
        "scheduledFor = \"2026-12-01T09:00:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "scheduledFor", 1);
}

#[test]
fn cap_frequency_without_the_marketing_use_case_is_rejected() {
    let text = job(&["capFrequency = true\n", CONTACT, TEXT_BODY]);
    assert_rejected(&text, "capFrequency", 1);
    let ok = job(&[
        "capFrequency = true\nmeta.extraInformation.useCase = \"marketing\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_eq!(check(&ok, &[]).code, 0);
}

#[test]
fn duplicate_tags_after_lower_casing_are_dropped_with_a_warning() {
    let text = job(&["tags = [\"Orders\", \"orders\"]\n", CONTACT, TEXT_BODY]);
    let out = check(&text, &["--payload"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("job.toml:1:19: warning: tags[1]: tag \"orders\" repeats an earlier tag"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_blank_tag_is_rejected() {
    assert_rejected(
        &job(&["tags = [\"  \"]\n", CONTACT, TEXT_BODY]),
        "tags[0]",
        1,
    );
}

#[test]
fn more_than_ten_tags_are_rejected() {
    let tags: Vec<String> = (0..11).map(|i| format!("\"t{i}\"")).collect();
    let text = job(&[
        &format!("tags = [{}]\n", tags.join(", ")),
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "tags", 1);
}

#[test]
fn top_level_short_links_without_a_domain_are_rejected() {
    assert_rejected(
        &job(&["shortLinks = {}\n", CONTACT, TEXT_BODY]),
        "shortLinks",
        1,
    );
}

#[test]
fn reply_to_needs_an_id_and_a_known_type() {
    assert_rejected(
        &job(&["replyTo = { id = \"m1\" }\n", CONTACT, TEXT_BODY]),
        "replyTo",
        1,
    );
    let bad = job(&[
        "[replyTo]\nid = \"m1\"\ntype = \"email\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&bad, "replyTo.type", 3);
}

#[test]
fn a_negative_validity_is_rejected() {
    assert_rejected(
        &job(&["validity = -1\n", CONTACT, TEXT_BODY]),
        "validity",
        1,
    );
}

#[test]
fn an_invalid_job_id_is_rejected() {
    assert_rejected(&job(&["id = \"has space\"\n", CONTACT, TEXT_BODY]), "id", 1);
}

#[test]
fn cron_and_scheduled_for_together_are_rejected() {
    let text = job(&[
        "scheduledFor = \"2026-12-01T09:00:00Z\"\ncron = \"0 9 * * *\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "cron", 2);
}

#[test]
fn a_bad_cron_pattern_or_time_zone_is_rejected() {
    assert_rejected(
        &job(&["cron = \"61 * * * *\"\n", CONTACT, TEXT_BODY]),
        "cron",
        1,
    );
    let tz = job(&[
        "cron = \"0 9 * * *\"\ntimezone = \"Mars/Olympus\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&tz, "timezone", 2);
}

#[test]
fn an_unknown_channel_is_rejected() {
    assert_rejected(
        &job(&["channel = \"sms\"\n", CONTACT, TEXT_BODY]),
        "channel",
        1,
    );
}

#[test]
fn every_problem_in_a_file_is_reported_not_just_the_first() {
    let text = job(&["tags = [\"a\", \"\"]\nvalidity = -5\n", CONTACT, TEXT_BODY]);
    let out = check(&text, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("tags[1]") && out.stderr.contains("validity"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_keeps_going_past_a_bad_file_and_exits_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.toml");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&good, job(&[CONTACT, TEXT_BODY])).expect("write");
    std::fs::write(&bad, "tgas = 1\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--payload"])
        .arg(&bad)
        .arg(&good)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn a_usage_error_exits_two() {
    let out = Command::new(env!("CARGO_BIN_EXE_msgspool"))
        .args(["check", "--next", "x", "a.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
