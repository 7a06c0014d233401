//! The fake Bird server checked against Bird's own schemas and with a real HTTP client, so
//! the tests that rely on it can trust what it answers.

#[path = "common/fake_bird.rs"]
mod fake_bird;

use std::time::{Duration, Instant};

use fake_bird::{FakeBird, FakeConfig, Fault, Step};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use serde_json::{Value, json};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("build a reqwest client")
}

fn access_key(fake: &FakeBird) -> String {
    format!("AccessKey {}", fake.config().access_key)
}

fn messages_url(fake: &FakeBird) -> String {
    format!("{}{}", fake.base_url(), fake.messages_path())
}

fn minimal_text() -> Value {
    json!({
        "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
        "body": {"type": "text", "text": {"text": "hello"}},
        "reference": "job-1",
    })
}

async fn post(fake: &FakeBird, body: &Value) -> reqwest::Response {
    client()
        .post(messages_url(fake))
        .header(AUTHORIZATION, access_key(fake))
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("the answer is JSON");
    (status, body)
}

/// Errors from validating `instance` against `bird/<schema>` (optionally at a `$defs` entry).
fn schema_errors(schema: &str, def: Option<&str>, instance: &Value) -> Vec<String> {
    let path = fake_bird::bird_file(schema);
    let text = std::fs::read_to_string(&path).expect("read a Bird schema");
    let mut schema: Value = serde_json::from_str(&text).expect("Bird schema is JSON");
    if let Some(def) = def {
        schema["$ref"] = json!(format!("#/$defs/{def}"));
        schema
            .as_object_mut()
            .expect("schema is an object")
            .remove("anyOf");
    }
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("Bird schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_request_error(body: &Value) {
    let errors = schema_errors("error.schema.json", Some("RequestError"), body);
    assert!(
        errors.is_empty(),
        "{body} is not a RequestError: {errors:?}"
    );
}

fn assert_validation_error(body: &Value) {
    let errors = schema_errors("error.schema.json", Some("ValidationError"), body);
    assert!(
        errors.is_empty(),
        "{body} is not a ValidationError: {errors:?}"
    );
    assert!(
        body["details"].as_object().is_some_and(|d| !d.is_empty()),
        "{body} has no details"
    );
}

#[tokio::test]
async fn a_minimal_text_message_is_accepted_with_a_schema_valid_message() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let (status, message) = answer(post(&fake, &minimal_text()).await).await;

    assert_eq!(status, 202);
    let errors = schema_errors("message-response.schema.json", None, &message);
    assert!(errors.is_empty(), "{message} is not a Message: {errors:?}");
    assert_eq!(message["status"], "accepted");
    assert_eq!(message["reference"], "job-1");
    assert_eq!(message["channelId"], fake.config().channel_id.as_str());
    assert_eq!(message["body"], minimal_text()["body"]);
    assert_eq!(
        message["receiver"]["contacts"][0]["identifierValue"],
        "+31612345678"
    );
    assert!(fake.schema_violations().is_empty());
}

#[tokio::test]
async fn a_template_message_is_accepted_with_a_schema_valid_message() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let request = json!({
        "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+31612345678"}]},
        "template": {
            "projectId": "0c6b1e5a-3f4d-4b2a-9e8f-7a6b5c4d3e2f",
            "version": "latest",
            "locale": "en",
            "parameters": [{"type": "string", "key": "name", "value": "Ada"}],
        },
        "tags": ["Reminder"],
        "validity": 3600,
    });
    let (status, message) = answer(post(&fake, &request).await).await;

    assert_eq!(status, 202);
    let errors = schema_errors("message-response.schema.json", None, &message);
    assert!(errors.is_empty(), "{message} is not a Message: {errors:?}");
    assert_eq!(message["template"], request["template"]);
    assert_eq!(message["tags"], json!(["reminder"]));
    assert!(fake.schema_violations().is_empty());
}

#[tokio::test]
async fn a_message_without_body_or_template_is_rejected_and_recorded_as_a_violation() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let request = json!({"receiver": {}});
    let (status, error) = answer(post(&fake, &request).await).await;

    assert_eq!(status, 422);
    assert_eq!(error["code"], "InvalidPayload");
    assert_validation_error(&error);
    let violations = fake.schema_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].body, request);
    assert_eq!(json!(violations[0].details), error["details"]);
}

#[tokio::test]
async fn an_unknown_field_in_the_body_is_rejected_and_recorded_as_a_violation() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let mut request = minimal_text();
    request["body"]["text"]["colour"] = json!("red");
    let (status, error) = answer(post(&fake, &request).await).await;

    assert_eq!(status, 422);
    assert_validation_error(&error);
    assert_eq!(fake.schema_violations().len(), 1);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_rejected_and_recorded_as_a_violation() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let response = client()
        .post(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .body("receiver = {}")
        .send()
        .await
        .expect("the fake answers");
    let (status, error) = answer(response).await;

    assert_eq!(status, 422);
    assert_validation_error(&error);
    assert_eq!(fake.schema_violations().len(), 1);
    assert_eq!(fake.requests()[0].body, Value::Null);
}

#[tokio::test]
async fn a_wrong_access_key_is_answered_401() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let response = client()
        .post(messages_url(&fake))
        .header(AUTHORIZATION, "AccessKey not-the-key")
        .json(&minimal_text())
        .send()
        .await
        .expect("the fake answers");
    let (status, error) = answer(response).await;

    assert_eq!(status, 401);
    assert_request_error(&error);
    assert_eq!(fake.accepted_count(), 0);
}

#[tokio::test]
async fn a_missing_access_key_is_answered_401() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let response = client()
        .post(messages_url(&fake))
        .json(&minimal_text())
        .send()
        .await
        .expect("the fake answers");

    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(fake.requests()[0].authorization, None);
}

#[tokio::test]
async fn an_unknown_channel_is_answered_404_not_found() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let url = format!(
        "{}/workspaces/{}/channels/00000000-0000-4000-8000-000000000000/messages",
        fake.base_url(),
        fake.config().workspace_id
    );
    let response = client()
        .post(url)
        .header(AUTHORIZATION, access_key(&fake))
        .json(&minimal_text())
        .send()
        .await
        .expect("the fake answers");
    let (status, error) = answer(response).await;

    assert_eq!(status, 404);
    assert_eq!(error["code"], "NotFound");
    assert_request_error(&error);
}

#[tokio::test]
async fn an_unknown_route_is_answered_404_not_found() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let response = client()
        .delete(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .send()
        .await
        .expect("the fake answers");
    let (status, error) = answer(response).await;

    assert_eq!(status, 404);
    assert_eq!(error["code"], "NotFound");
}

#[tokio::test]
async fn injected_statuses_carry_birds_error_bodies() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    for (injected, code) in [
        (400, "BadRequest"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "NotFound"),
        (409, "Conflict"),
        (422, "InvalidPayload"),
        (500, "InternalError"),
        (503, "InternalError"),
    ] {
        fake.push_fault(Fault::Status(injected));
        let (status, error) = answer(post(&fake, &minimal_text()).await).await;
        assert_eq!(status, injected);
        assert_eq!(error["code"], code, "for {injected}");
        if injected == 422 {
            assert_validation_error(&error);
        } else {
            assert_request_error(&error);
        }
    }
    assert!(fake.schema_violations().is_empty());
}

#[tokio::test]
async fn faults_are_consumed_in_order_before_normal_answers() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.push_fault(Fault::Status(500));
    fake.push_fault(Fault::TooManyRequests { retry_after: None });
    fake.push_fault(Fault::Status(503));

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post(&fake, &minimal_text()).await.status().as_u16());
    }

    assert_eq!(statuses, [500, 429, 503, 202]);
    assert_eq!(fake.pending_faults(), 0);
    let recorded: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(recorded, [Some(500), Some(429), Some(503), Some(202)]);
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn too_many_requests_carries_retry_after_only_when_given() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.push_fault(Fault::TooManyRequests {
        retry_after: Some(7),
    });
    fake.push_fault(Fault::TooManyRequests { retry_after: None });

    let with = post(&fake, &minimal_text()).await;
    assert_eq!(with.status().as_u16(), 429);
    assert_eq!(
        with.headers().get(RETRY_AFTER).map(|v| v.as_bytes()),
        Some(&b"7"[..])
    );
    let without = post(&fake, &minimal_text()).await;
    assert_eq!(without.status().as_u16(), 429);
    assert_eq!(without.headers().get(RETRY_AFTER), None);
    let (_, error) = answer(without).await;
    assert_request_error(&error);
}

#[tokio::test]
async fn a_dropped_connection_gives_the_client_an_error_and_no_answer() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.push_fault(Fault::Drop);
    let client = client();

    let started = Instant::now();
    let dropped = client
        .post(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .json(&minimal_text())
        .send()
        .await;
    let error = dropped.expect_err("a dropped connection is an error");
    assert!(
        !error.is_timeout(),
        "the connection closed, not timed out: {error:?}"
    );
    assert!(started.elapsed() < CLIENT_TIMEOUT);
    assert_eq!(fake.requests()[0].status, None);

    // The same client carries on with a fresh connection.
    let next = client
        .post(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .json(&minimal_text())
        .send()
        .await
        .expect("the next request is answered");
    assert_eq!(next.status().as_u16(), 202);
}

#[tokio::test]
async fn a_slow_fault_delays_the_answer_by_at_least_its_time() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.push_fault(Fault::Slow(Duration::from_millis(300)));

    let started = Instant::now();
    let status = post(&fake, &minimal_text()).await.status().as_u16();

    assert_eq!(status, 202);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_configured_latency_delays_every_answer() {
    let fake = FakeBird::start(FakeConfig {
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    })
    .await;

    for body in [minimal_text(), json!({"receiver": {}})] {
        let started = Instant::now();
        post(&fake, &body).await;
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}

#[tokio::test]
async fn a_persistent_status_answers_every_request_until_cleared() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.push_fault(Fault::Status(500));
    fake.set_persistent_status(Some(401));

    for _ in 0..3 {
        let (status, error) = answer(post(&fake, &minimal_text()).await).await;
        assert_eq!(status, 401);
        assert_request_error(&error);
    }
    fake.set_persistent_status(None);

    // The queued fault waited its turn.
    assert_eq!(post(&fake, &minimal_text()).await.status().as_u16(), 500);
    assert_eq!(post(&fake, &minimal_text()).await.status().as_u16(), 202);
}

#[tokio::test]
async fn a_known_contact_gets_its_service_window() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.set_contact("contact-1", Some("2026-11-24T10:00:00Z".to_owned()));
    fake.set_contact("contact-2", None);
    let cfg = fake.config();

    for (contact, window) in [
        ("contact-1", json!("2026-11-24T10:00:00Z")),
        ("contact-2", Value::Null),
    ] {
        let url = format!(
            "{}/workspaces/{}/channels/{}/contacts/{contact}?contactIdentifierValue=%2B31612345678",
            fake.base_url(),
            cfg.workspace_id,
            cfg.channel_id
        );
        let response = client()
            .get(url)
            .header(AUTHORIZATION, access_key(&fake))
            .send()
            .await
            .expect("the fake answers");
        let (status, info) = answer(response).await;
        assert_eq!(status, 200);
        assert_eq!(
            info,
            json!({"serviceWindowExpireAt": window, "isPermanentSession": false})
        );
    }
    let recorded = fake.requests();
    assert_eq!(
        recorded[0].query.as_deref(),
        Some("contactIdentifierValue=%2B31612345678")
    );
}

#[tokio::test]
async fn an_unknown_contact_is_answered_404_not_found() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let cfg = fake.config();
    let url = format!(
        "{}/workspaces/{}/channels/{}/contacts/nobody",
        fake.base_url(),
        cfg.workspace_id,
        cfg.channel_id
    );
    let response = client()
        .get(url)
        .header(AUTHORIZATION, access_key(&fake))
        .send()
        .await
        .expect("the fake answers");
    let (status, error) = answer(response).await;

    assert_eq!(status, 404);
    assert_eq!(error["code"], "NotFound");
    assert_request_error(&error);
}

#[tokio::test]
async fn requests_are_recorded_with_arrival_time_method_path_key_and_body() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let before = chrono::Utc::now();
    post(&fake, &minimal_text()).await;
    let after = chrono::Utc::now();

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 1);
    let request = &recorded[0];
    assert!(before <= request.arrived_at && request.arrived_at <= after);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, fake.messages_path());
    assert_eq!(
        request.authorization.as_deref(),
        Some(access_key(&fake).as_str())
    );
    assert_eq!(request.body, minimal_text());
    assert_eq!(request.status, Some(202));
    assert_eq!(request.response["reference"], "job-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_for_sees_many_concurrent_messages_accepted_and_times_out_beyond() {
    const N: usize = 500;
    let fake = FakeBird::start(FakeConfig::default()).await;
    let client = client();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..N {
        let request = client
            .post(messages_url(&fake))
            .header(AUTHORIZATION, access_key(&fake))
            .json(&json!({
                "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
                "body": {"type": "text", "text": {"text": format!("message {i}")}},
            }));
        sends.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
    }

    assert!(fake.wait_for(N, Duration::from_secs(10)).await);
    while let Some(sent) = sends.join_next().await {
        assert_eq!(sent.expect("task").expect("answered"), 202);
    }
    assert_eq!(fake.accepted().len(), N);
    assert!(!fake.wait_for(N + 1, Duration::from_millis(100)).await);
}

#[test]
fn the_blocking_fake_serves_plain_tests_and_stops_when_dropped() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    let url = messages_url(&fake);
    let key = access_key(&fake);
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a client runtime");
    let send = |url: String| {
        let key = key.clone();
        client_runtime.block_on(async move {
            client()
                .post(url)
                .header(AUTHORIZATION, key)
                .json(&minimal_text())
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };

    assert_eq!(send(url.clone()).expect("answered"), 202);
    assert!(fake.wait_for_blocking(1, Duration::from_secs(1)));
    assert!(!fake.wait_for_blocking(2, Duration::from_millis(50)));

    drop(fake);
    let refused = send(url).expect_err("a dropped fake refuses connections");
    assert!(refused.is_connect(), "{refused:?}");
}

#[tokio::test]
async fn a_dropped_fake_refuses_new_connections() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let addr = fake.base_url().trim_start_matches("http://").to_owned();
    drop(fake);

    // The server task stops accepting at its next poll.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::net::TcpStream::connect(&addr).await {
            Err(_) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(_) => panic!("{addr} still accepts after the fake was dropped"),
        }
    }
}

#[test]
fn dropping_the_blocking_fake_does_not_wait_for_a_slow_answer() {
    let fake = FakeBird::start_blocking(FakeConfig::default());
    fake.push_fault(Fault::Slow(Duration::from_secs(30)));
    let url = messages_url(&fake);
    let key = access_key(&fake);
    let waiting_client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build a client runtime");
        runtime.block_on(async move {
            client()
                .post(url)
                .header(AUTHORIZATION, key)
                .json(&minimal_text())
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    // Let the request reach the fake and start its slow answer.
    let deadline = Instant::now() + Duration::from_secs(2);
    while fake.pending_faults() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(fake.pending_faults(), 0, "the request did not arrive");

    let started = Instant::now();
    drop(fake);
    assert!(started.elapsed() < Duration::from_secs(3));
    let answered = waiting_client.join().expect("client thread");
    assert!(
        answered.is_err(),
        "the slow answer was cut off: {answered:?}"
    );
}

#[tokio::test]
async fn the_listing_pages_through_the_messages_taken_within_the_window() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(1);
    for i in 0..5 {
        let mut body = minimal_text();
        body["reference"] = json!(format!("job-{i}"));
        let response = client()
            .post(messages_url(&fake))
            .header(AUTHORIZATION, access_key(&fake))
            .json(&body)
            .send()
            .await
            .expect("the fake answers");
        assert_eq!(response.status().as_u16(), 202);
    }
    fake.set_list_page_size(2);
    let end = chrono::Utc::now() + chrono::Duration::minutes(1);
    let mut token: Option<String> = None;
    let mut references = Vec::new();
    let mut pages = 0;
    loop {
        let mut query = vec![
            ("direction", "outgoing".to_owned()),
            ("startAt", start.to_rfc3339()),
            ("endAt", end.to_rfc3339()),
            ("limit", "100".to_owned()),
        ];
        if let Some(t) = &token {
            query.push(("pageToken", t.clone()));
        }
        let response = client()
            .get(messages_url(&fake))
            .header(AUTHORIZATION, access_key(&fake))
            .query(&query)
            .send()
            .await
            .expect("the fake answers");
        let (status, page) = answer(response).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for m in page["results"].as_array().expect("results") {
            references.push(m["reference"].as_str().unwrap_or_default().to_owned());
        }
        match page["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(references, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
    // A window that ends before the messages were taken lists none of them.
    let response = client()
        .get(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .query(&[
            ("startAt", (start - chrono::Duration::hours(1)).to_rfc3339()),
            ("endAt", start.to_rfc3339()),
        ])
        .send()
        .await
        .expect("the fake answers");
    let (_, page) = answer(response).await;
    assert_eq!(page["results"], json!([]));
}

#[tokio::test]
async fn a_message_looked_up_by_id_moves_through_its_timeline() {
    let fake = FakeBird::start(FakeConfig::default()).await;
    fake.set_timeline(
        "job-",
        vec![
            Step::to(0, "sent"),
            Step::failed(300, 131026, "undeliverable"),
        ],
    );
    let response = client()
        .post(messages_url(&fake))
        .header(AUTHORIZATION, access_key(&fake))
        .json(&minimal_text())
        .send()
        .await
        .expect("the fake answers");
    let (_, message) = answer(response).await;
    let url = format!(
        "{}/{}",
        messages_url(&fake),
        message["id"].as_str().expect("id")
    );
    let look = || async {
        let response = client()
            .get(&url)
            .header(AUTHORIZATION, access_key(&fake))
            .send()
            .await
            .expect("the fake answers");
        answer(response).await
    };
    let (status, first) = look().await;
    assert_eq!((status, first["status"].as_str()), (200, Some("sent")));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, later) = look().await;
    assert_eq!(later["status"], "delivery_failed");
    assert_eq!(later["failure"]["source"]["name"], "whatsapp");
    assert_eq!(later["failure"]["source"]["code"], 131026);
    assert_eq!(fake.lookups().len(), 2);
    let (status, _) = {
        let response = client()
            .get(format!("{}/no-such-id", messages_url(&fake)))
            .header(AUTHORIZATION, access_key(&fake))
            .send()
            .await
            .expect("the fake answers");
        answer(response).await
    };
    assert_eq!(status, 404);
}
