//! The `[channels.NAME]` tables and the quiet-hours tables: Bird's channel id, the kind of
//! traffic and each channel's quiet hours, checked like the rest of the config (each
//! refusal points at its value).

use super::*;

impl Checker<'_> {
    pub(super) fn channels(
        &self,
        raw: Option<Spanned<BTreeMap<String, RawChannel>>>,
    ) -> Result<BTreeMap<String, Channel>, ConfigError> {
        let (span, raw) = match raw {
            Some(r) => (Some(r.span()), r.into_inner()),
            None => (None, BTreeMap::new()),
        };
        if raw.is_empty() {
            let msg = "no channel is configured; add a [channels.NAME] table with `id` = the Bird channel id";
            return Err(self.invalid(span, "channels", msg.to_owned()));
        }
        raw.into_iter()
            .map(|(name, ch)| Ok((name.clone(), self.channel(name, ch)?)))
            .collect()
    }

    fn channel(&self, name: String, raw: RawChannel) -> Result<Channel, ConfigError> {
        let key = format!("channels.{}", toml_key(&name));
        if raw.id.get_ref().trim().is_empty() {
            let msg = "is empty; set it to the Bird channel id".to_owned();
            return Err(self.invalid(Some(raw.id.span()), &format!("{key}.id"), msg));
        }
        let kind = match raw.kind {
            None => ChannelKind::Transactional,
            Some(k) => ChannelKind::from_name(k.get_ref()).ok_or_else(|| {
                let msg = format!(
                    "unknown channel kind `{}`; use promotional, conversational, transactional or 2fa",
                    k.get_ref()
                );
                self.invalid(Some(k.span()), &format!("{key}.kind"), msg)
            })?,
        };
        let qh_key = format!("{key}.quiet_hours");
        let quiet_hours = match raw.quiet_hours {
            None => ChannelQuietHours::Inherit,
            Some(q) => match q.get_ref() {
                RawChannelQuietHours::Flag(false) => ChannelQuietHours::Off,
                RawChannelQuietHours::Flag(true) => {
                    let msg = "`true` is not a setting; remove it to use [quiet_hours], write `false` \
                               to turn quiet hours off for this channel, or give {start, end}";
                    return Err(self.invalid(Some(q.span()), &qh_key, msg.to_owned()));
                }
                RawChannelQuietHours::Own(own) => {
                    ChannelQuietHours::Own(self.quiet_hours(own, q.span(), &qh_key)?)
                }
            },
        };
        Ok(Channel {
            name,
            id: raw.id.into_inner(),
            kind,
            quiet_hours,
        })
    }

    pub(super) fn quiet_hours(
        &self,
        raw: &RawQuietHours,
        span: Range<usize>,
        key: &str,
    ) -> Result<QuietHours, ConfigError> {
        let start = self.time_of_day(&raw.start, &format!("{key}.start"))?;
        let end = self.time_of_day(&raw.end, &format!("{key}.end"))?;
        if start == end {
            let msg = "start and end are equal, so the window is empty; give different times \
                       or remove the quiet hours"
                .to_owned();
            return Err(self.invalid(Some(span), key, msg));
        }
        Ok(QuietHours { start, end })
    }

    fn time_of_day(&self, raw: &Spanned<String>, key: &str) -> Result<NaiveTime, ConfigError> {
        NaiveTime::parse_from_str(raw.get_ref(), "%H:%M").map_err(|_| {
            let msg = format!(
                "`{}` is not a time of day; write HH:MM, e.g. 21:00",
                raw.get_ref()
            );
            self.invalid(Some(raw.span()), key, msg)
        })
    }
}
