//! Every rule, called directly: the file as serde reads it, the clock passed in, each
//! problem checked by its field path and message. How problems become `FILE:LINE:COL`
//! lines is `job::parse`'s business, tested end to end in tests/check_rules.rs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Problem, RuleContext, check};
use crate::job::model::JobFile;

const CONTACT: &str =
    "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+31612345678\"\n";
const TEXT_BODY: &str = "[body]\ntype = \"text\"\ntext.text = \"hi\"\n";

/// A fixed clock for the rules that look at it; only the 35-day test depends on it.
const NOW: &str = "2026-11-23T12:00:00Z";

fn job(parts: &[&str]) -> String {
    parts.concat()
}

/// Every problem the rules find in `text` at `now` (Bird's 35 days ahead, UTC for cron).
fn problems_at(text: &str, now: &str) -> Vec<Problem> {
    let file: JobFile =
        toml::from_str(text).unwrap_or_else(|e| panic!("not a job file serde reads: {e}"));
    let ctx = RuleContext {
        now: DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&Utc),
        max_ahead: Duration::from_secs(35 * 24 * 3600),
        timezone: chrono_tz::Tz::UTC,
    };
    check(&file, &ctx)
}

fn problems(text: &str) -> Vec<Problem> {
    problems_at(text, NOW)
}

/// All messages, one per line, for asserting on their wording.
fn messages(text: &str) -> String {
    let found: Vec<String> = problems(text)
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    found.join("\n")
}

/// Asserts a problem at `field` (any field when empty) with a message that says something.
fn assert_rejected_at(text: &str, now: &str, field: &str) {
    let found = problems_at(text, now);
    assert!(
        found
            .iter()
            .any(|p| (field.is_empty() || p.path.to_string() == field)
                && !p.message.trim().is_empty()),
        "no problem at `{field}`; found: {found:?}"
    );
}

fn assert_rejected(text: &str, field: &str) {
    assert_rejected_at(text, NOW, field);
}

#[test]
fn an_empty_contacts_array_is_rejected() {
    assert_rejected(
        &job(&["receiver.contacts = []\n", TEXT_BODY]),
        "receiver.contacts",
    );
}

#[test]
fn an_empty_contact_is_rejected() {
    assert_rejected(
        &job(&["receiver.contacts = [{}]\n", TEXT_BODY]),
        "receiver.contacts[0]",
    );
}

#[test]
fn a_missing_receiver_is_rejected() {
    assert_rejected(&job(&["id = \"a\"\n", TEXT_BODY]), "");
}

#[test]
fn a_phone_number_that_is_not_e164_is_rejected() {
    let text = "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"0612345678\"\n";
    assert_rejected(
        &job(&[text, TEXT_BODY]),
        "receiver.contacts[0].identifierValue",
    );
    let short =
        "[[receiver.contacts]]\nidentifierKey = \"phonenumber\"\nidentifierValue = \"+3161\"\n";
    assert_rejected(
        &job(&[short, TEXT_BODY]),
        "receiver.contacts[0].identifierValue",
    );
}

#[test]
fn body_and_template_together_are_rejected() {
    let text = job(&[CONTACT, TEXT_BODY, "[template]\nprojectId = \"p\"\n"]);
    assert_rejected(&text, "template");
}

#[test]
fn neither_body_nor_template_is_rejected() {
    assert_rejected(CONTACT, "");
}

#[test]
fn a_template_without_project_id_or_name_is_rejected() {
    assert_rejected(
        &job(&[CONTACT, "[template]\nlocale = \"en\"\n"]),
        "template",
    );
}

#[test]
fn empty_template_parameters_are_rejected() {
    let text = job(&[CONTACT, "[template]\nprojectId = \"p\"\nparameters = []\n"]);
    assert_rejected(&text, "template.parameters");
}

#[test]
fn a_template_parameter_whose_value_has_the_wrong_type_is_rejected() {
    let text = job(&[
        CONTACT,
        "[template]\nprojectId = \"p\"\n[[template.parameters]]\ntype = \"number\"\nkey = \"n\"\nvalue = \"x\"\n",
    ]);
    assert_rejected(&text, "template.parameters[0].value");
}

#[test]
fn empty_images_are_rejected() {
    let text = job(&[CONTACT, "[body]\ntype = \"image\"\nimage.images = []\n"]);
    assert_rejected(&text, "body.image.images");
}

#[test]
fn empty_files_are_rejected() {
    let text = job(&[CONTACT, "[body]\ntype = \"file\"\nfile.files = []\n"]);
    assert_rejected(&text, "body.file.files");
}

#[test]
fn a_body_member_that_does_not_match_the_type_is_rejected() {
    let text = job(&[
        CONTACT,
        TEXT_BODY,
        "image.images = [{ mediaUrl = \"https://x.test/a.jpg\" }]\n",
    ]);
    assert_rejected(&text, "body.image");
}

#[test]
fn a_body_type_of_another_channel_is_rejected_with_the_supported_list() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"html\"\nhtml.html = \"<p>x</p>\"\n",
    ]);
    assert_rejected(&text, "body.type");
    let out = messages(&text);
    assert!(
        out.contains("text, image, file, location, list, carousel"),
        "{out}"
    );
}

#[test]
fn a_whatsapp_feature_the_channels_api_lacks_is_rejected() {
    for kind in ["reaction", "product", "contacts"] {
        let text = job(&[CONTACT, &format!("[body]\ntype = \"{kind}\"\n")]);
        assert_rejected(&text, "body.type");
        assert!(messages(&text).contains("not supported by Bird's Channels API"));
    }
}

#[test]
fn text_longer_than_4096_characters_is_rejected() {
    let long = "x".repeat(4097);
    let text = job(&[
        CONTACT,
        &format!("[body]\ntype = \"text\"\ntext.text = \"{long}\"\n"),
    ]);
    assert_rejected(&text, "body.text.text");
}

#[test]
fn more_than_three_reply_buttons_are_rejected() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\ntext.text = \"pick\"\ntext.actions = [\n",
        "  { type = \"reply\", reply = { text = \"1\" } },\n  { type = \"reply\", reply = { text = \"2\" } },\n",
        "  { type = \"reply\", reply = { text = \"3\" } },\n  { type = \"postback\", postback = { text = \"4\" } },\n]\n",
    ]);
    assert_rejected(&text, "body.text.actions");
}

#[test]
fn an_action_of_another_channel_is_rejected() {
    let text = job(&[
        CONTACT,
        "[body]\ntype = \"text\"\ntext.text = \"pay\"\n[[body.text.actions]]\ntype = \"buy\"\nbuy = { text = \"b\", amountCents = 1, currency = \"EUR\" }\n",
    ]);
    assert_rejected(&text, "body.text.actions[0].type");
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
    assert_rejected(&list_with_sections(11, 0), "body.list.items");
}

#[test]
fn a_list_with_more_than_ten_rows_in_all_is_rejected() {
    assert_eq!(problems(&list_with_sections(2, 5)), []);
    assert_rejected(&list_with_sections(3, 4), "body.list");
}

#[test]
fn a_list_button_label_over_twenty_characters_is_rejected() {
    let mut text = list_with_sections(1, 1);
    text.push_str("[body.list.metadata.button]\nlabel = \"a label that is far too long\"\n");
    assert_rejected(&text, "body.list.metadata.button.label");
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
    );
}

#[test]
fn a_carousel_mixing_images_and_videos_is_rejected() {
    let text = carousel(&[("a", "https://x.test/a.jpg"), ("b", "https://x.test/b.mp4")]);
    assert_rejected(&text, "body.carousel.items[1].mediaUrl");
}

#[test]
fn a_carousel_card_without_a_title_is_rejected() {
    let text = carousel(&[("", "https://x.test/a.jpg"), ("b", "https://x.test/b.jpg")]);
    assert_rejected(&text, "body.carousel.items[0]");
}

#[test]
fn a_carousel_card_needs_exactly_one_link_action() {
    let mut text = carousel(&[("a", "https://x.test/a.jpg"), ("b", "https://x.test/b.jpg")]);
    text = text.replacen(
        "actions = [{",
        "actions = [{ type = \"reply\", reply = { text = \"x\" } }, {",
        1,
    );
    assert_rejected(&text, "body.carousel.items[0].actions");
}

#[test]
fn a_location_needs_both_coordinates_in_range() {
    let missing = job(&[
        CONTACT,
        "[body]\ntype = \"location\"\nlocation.coordinates = { latitude = 52.1 }\n",
    ]);
    assert_rejected(&missing, "body.location.coordinates");
    let out_of_range = job(&[
        CONTACT,
        "[body]\ntype = \"location\"\n[body.location.coordinates]\nlatitude = 91.0\nlongitude = 4.9\n",
    ]);
    assert_rejected(&out_of_range, "body.location.coordinates.latitude");
}

#[test]
fn scheduled_for_more_than_35_days_ahead_is_rejected() {
    let text = job(&[
        "scheduledFor = \"2027-01-05T09:00:00+01:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected_at(&text, "2026-11-23T12:00:00Z", "scheduledFor");
    let ok = job(&[
        "scheduledFor = \"2026-12-20T09:00:00+01:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_eq!(problems_at(&ok, "2026-11-23T12:00:00Z"), []);
}

#[test]
fn scheduled_for_without_an_offset_is_rejected() {
    let text = job(&[
        "scheduledFor = \"2026-12-01T09:00:00\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "scheduledFor");
}

#[test]
fn cap_frequency_without_the_marketing_use_case_is_rejected() {
    let text = job(&["capFrequency = true\n", CONTACT, TEXT_BODY]);
    assert_rejected(&text, "capFrequency");
    let ok = job(&[
        "capFrequency = true\nmeta.extraInformation.useCase = \"marketing\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_eq!(problems(&ok), []);
}

#[test]
fn a_blank_tag_is_rejected() {
    assert_rejected(&job(&["tags = [\"  \"]\n", CONTACT, TEXT_BODY]), "tags[0]");
}

#[test]
fn more_than_ten_tags_are_rejected() {
    let tags: Vec<String> = (0..11).map(|i| format!("\"t{i}\"")).collect();
    let text = job(&[
        &format!("tags = [{}]\n", tags.join(", ")),
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "tags");
}

#[test]
fn top_level_short_links_without_a_domain_are_rejected() {
    assert_rejected(
        &job(&["shortLinks = {}\n", CONTACT, TEXT_BODY]),
        "shortLinks",
    );
}

#[test]
fn reply_to_needs_an_id_and_a_known_type() {
    assert_rejected(
        &job(&["replyTo = { id = \"m1\" }\n", CONTACT, TEXT_BODY]),
        "replyTo",
    );
    let bad = job(&[
        "[replyTo]\nid = \"m1\"\ntype = \"email\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&bad, "replyTo.type");
}

#[test]
fn a_negative_validity_is_rejected() {
    assert_rejected(&job(&["validity = -1\n", CONTACT, TEXT_BODY]), "validity");
}

#[test]
fn an_invalid_job_id_is_rejected() {
    assert_rejected(&job(&["id = \"has space\"\n", CONTACT, TEXT_BODY]), "id");
}

#[test]
fn cron_and_scheduled_for_together_are_rejected() {
    let text = job(&[
        "scheduledFor = \"2026-12-01T09:00:00Z\"\ncron = \"0 9 * * *\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&text, "cron");
}

#[test]
fn a_bad_cron_pattern_or_time_zone_is_rejected() {
    assert_rejected(
        &job(&["cron = \"61 * * * *\"\n", CONTACT, TEXT_BODY]),
        "cron",
    );
    let tz = job(&[
        "cron = \"0 9 * * *\"\ntimezone = \"Mars/Olympus\"\n",
        CONTACT,
        TEXT_BODY,
    ]);
    assert_rejected(&tz, "timezone");
}
