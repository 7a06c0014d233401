//! Job-file bytes → parse → rules → plan → payload: nothing may panic, and every error
//! names FILE:LINE:COL. Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run job_file`.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use msgspool::config::Config;
use msgspool::job::{self, JobContext};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = Config::builtin();
    let now: DateTime<Utc> = DateTime::from_timestamp(1_796_126_400, 0).unwrap_or_default();
    let ctx = JobContext { config: &config, now };
    match job::parse("fuzz.toml", "fuzz", text, &ctx) {
        Ok(job) => {
            let planned = msgspool::spool::plan_job(&job, "fuzz.toml", now, &config);
            for send in &planned.sends {
                assert!(msgspool::bounds::is_storable(send.expires));
                assert!(msgspool::bounds::is_storable(send.due));
                let _: serde_json::Value = serde_json::from_str(&send.payload).expect("payload is JSON");
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.len() <= job::diagnostic::MAX_SHOWN + 1);
            for d in &errors.0 {
                assert!(d.line >= 1 && d.col >= 1);
                assert!(d.to_string().starts_with(&format!("fuzz.toml:{}:{}: ", d.line, d.col)));
            }
        }
    }
});
