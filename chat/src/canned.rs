//! Canned answers: texts agents insert into a reply, global or for one WhatsApp account,
//! with placeholders filled from the conversation.
//!
//! Variables: `{{customer_name}}`, `{{customer_phone}}`, `{{agent_name}}`,
//! `{{reference}}`, rendered by the one renderer of texts ([`deflect_config::render_text`]);
//! an answer with an unknown variable or bad syntax is refused when saved. A value that is
//! not known (a web visitor without a name) becomes empty text. Supervisors and admins manage the answers; agents see the global ones and those of
//! their accounts.

use crate::context::Ctx;
use crate::lifecycle::transition::ensure_visible;
pub use crate::model::PLACEHOLDERS;
use crate::model::{CannedAnswer, ChatError, MAX_TEXT, NewCannedAnswer, Viewer};
use crate::repo;
use deflect_config::{check_text, render_text};

fn manager(viewer: &Viewer) -> Result<(), ChatError> {
    if viewer.role.sees_everything() {
        Ok(())
    } else {
        Err(ChatError::Forbidden(
            "only supervisors and admins manage canned answers".into(),
        ))
    }
}

fn check(ctx: &Ctx, new: &NewCannedAnswer) -> Result<(), ChatError> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(ChatError::Invalid(
            "a canned answer needs a title of 1 to 100 characters".into(),
        ));
    }
    if new.body.trim().is_empty() || new.body.chars().count() > MAX_TEXT {
        return Err(ChatError::Invalid(
            "a canned answer needs a text of 1 to 4096 characters".into(),
        ));
    }
    if let Some(a) = &new.account
        && ctx.account(a).is_none()
    {
        return Err(ChatError::Invalid(format!(
            "unknown WhatsApp account {a:?}"
        )));
    }
    check_text(&new.body, PLACEHOLDERS)
        .map_err(|e| ChatError::Invalid(format!("a canned answer's text: {e}")))?;
    Ok(())
}

/// The answer as stored: trimmed.
fn stored(id: i64, new: &NewCannedAnswer, now: crate::clock::Millis) -> CannedAnswer {
    CannedAnswer {
        id,
        account: new.account.clone(),
        title: new.title.trim().into(),
        body: new.body.trim().into(),
        updated_at: now,
    }
}

/// Creates a canned answer (supervisors and admins).
pub(crate) async fn create(
    ctx: &Ctx,
    viewer: &Viewer,
    new: &NewCannedAnswer,
) -> Result<CannedAnswer, ChatError> {
    manager(viewer)?;
    check(ctx, new)?;
    let now = ctx.now();
    let answer = stored(0, new, now);
    let id = repo::canned::insert(ctx.store(), &answer, viewer.agent_id).await?;
    Ok(CannedAnswer { id, ..answer })
}

/// Replaces a canned answer (supervisors and admins).
pub(crate) async fn update(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    new: &NewCannedAnswer,
) -> Result<CannedAnswer, ChatError> {
    manager(viewer)?;
    check(ctx, new)?;
    let answer = stored(id, new, ctx.now());
    if !repo::canned::update(ctx.store(), &answer).await? {
        return Err(ChatError::NotFound("canned answer"));
    }
    Ok(answer)
}

/// Deletes a canned answer (supervisors and admins).
pub(crate) async fn delete(ctx: &Ctx, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
    manager(viewer)?;
    if !repo::canned::delete(ctx.store(), id).await? {
        return Err(ChatError::NotFound("canned answer"));
    }
    Ok(())
}

/// The canned answers the viewer may use, by title: global ones and those of their
/// accounts; with `account`, only global ones and that account's.
pub(crate) async fn usable(
    ctx: &Ctx,
    viewer: &Viewer,
    account: Option<&str>,
) -> Result<Vec<CannedAnswer>, ChatError> {
    let mut all = repo::canned::all(ctx.store()).await?;
    all.retain(|c| match &c.account {
        None => true,
        Some(a) => account.is_none_or(|x| x == a) && viewer.may_use_account(a),
    });
    Ok(all)
}

/// A canned answer's text with its placeholders filled for conversation `id`.
pub(crate) async fn render(
    ctx: &Ctx,
    viewer: &Viewer,
    canned: i64,
    id: i64,
) -> Result<String, ChatError> {
    let c = repo::conversations::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    ensure_visible(viewer, &c)?;
    let answer = usable(ctx, viewer, c.account.as_deref())
        .await?
        .into_iter()
        .find(|a| a.id == canned)
        .ok_or(ChatError::NotFound("canned answer"))?;
    let agent = repo::agents::get(ctx.store(), viewer.agent_id)
        .await?
        .ok_or(ChatError::NotFound("agent"))?;
    let values = [
        ("customer_name", c.contact_name.as_deref().unwrap_or("")),
        ("customer_phone", c.contact_phone.as_deref().unwrap_or("")),
        ("agent_name", agent.display_name.as_str()),
        ("reference", c.reference.as_str()),
    ];
    render_text(&answer.body, &values)
        .map_err(|e| ChatError::Invalid(format!("canned answer {canned} cannot be rendered: {e}")))
}
