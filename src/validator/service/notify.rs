//! Notices: handing them to the sinks, and the scan for tokens that expire soon.

use core::time::Duration;

use crate::clock::{TimeSource, UnixTime};
use crate::validator::error::ValidatorError;
use crate::validator::lifecycle::CustomerRef;
use crate::validator::notify::{Notice, NoticeKind, expiring_within};
use crate::validator::record::TokenId;
use crate::validator::store::Store;

use super::Validator;

/// How many ids the expiry scan reads from the store at a time.
const SCAN_PAGE: usize = 256;

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Whether any notice sink listens (so that nothing is loaded for nobody).
    pub(super) fn notices_wanted(&self) -> bool {
        !self.notice_sinks.is_empty()
    }

    /// Hands a notice about `id` to every sink, naming the actor of this request.
    pub(super) fn send_notice(
        &self,
        kind: NoticeKind,
        id: &TokenId,
        owner: Option<CustomerRef>,
        now: UnixTime,
        complete: impl FnOnce(Notice) -> Notice,
    ) {
        if !self.notices_wanted() {
            return;
        }
        let notice = complete(
            Notice::new(kind, id.clone(), now)
                .with_owner(owner)
                .with_actor(crate::validator::audit::current_actor()),
        );
        for sink in &self.notice_sinks {
            sink.notify(&notice);
        }
    }

    /// Finds every token in service whose validity period ends within `ahead` of now
    /// and sends each an [`NoticeKind::ExpiringSoon`] notice; returns how many. Run it
    /// periodically: each run finds the same tokens again until their period has
    /// ended ([`Notice::once_key`] names the expiry, for an outbox to keep it once).
    ///
    /// The store is read a page of ids at a time; a record that fails its MAC is
    /// skipped (its period cannot be trusted), as is one deleted meanwhile.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub fn notify_expiring(&self, ahead: Duration) -> Result<usize, ValidatorError> {
        let now = self.clock.now();
        let mut after: Option<TokenId> = None;
        let mut found = 0;
        loop {
            let ids = self.store.list_page(after.as_ref(), SCAN_PAGE)?;
            let exhausted = ids.len() < SCAN_PAGE;
            for id in ids {
                if let Some(record) = self.store.load(&id)?
                    && self.keyring.check_record(&record).is_ok()
                    && let Some(end) =
                        expiring_within(record.state.status, record.state.validity, now, ahead)
                {
                    found += 1;
                    self.send_notice(NoticeKind::ExpiringSoon, &id, record.owner, now, |notice| {
                        notice.with_expires_at(end)
                    });
                }
                after = Some(id);
            }
            if exhausted {
                return Ok(found);
            }
        }
    }
}
