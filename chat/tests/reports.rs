//! The supervisors' reports against the database's own record, on SQLite and PostgreSQL: a
//! seeded day (transfers, a fallback re-queue, notes, automatic messages, an abandoned
//! conversation, ratings, deflections answered and not) and every report number checked
//! against SQL written here over the base tables (history, messages), not the report facts;
//! the facts themselves set once; and the migration's backfill of existing rows.
//! (Calls by outcome are not reported: the IVR keeps no call records the inbox can read.)

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env, T0, deflection, text};
use deflect_chat::provider::{Inbound, InboundMessage};
use deflect_chat::{ChatError, Histogram, Period, Presence, Report, ReportRow, Viewer};
use sqlx::Row;
use std::collections::BTreeMap;
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

fn tap(id: &str, from: &str, payload: &str) -> Inbound {
    Inbound::Message(Box::new(InboundMessage {
        external_id: id.into(),
        from: from.into(),
        profile_name: Some("Ann".into()),
        timestamp: 0,
        kind: "interactive".into(),
        body: Some("Rating".into()),
        context_id: Some("wamid.SURVEY".into()),
        button_payload: Some(payload.into()),
        interactive: Some(deflect_chat::Interactive::ButtonReply {
            id: payload.into(),
            title: "Rating".into(),
        }),
        media: Vec::new(),
        raw: serde_json::json!({ "id": id }),
    }))
}

async fn received(env: &Env, id: &str, from: &str) -> i64 {
    let items = [text(id, from, "help")];
    env.inbox
        .receive("sandbox", &items)
        .await
        .unwrap()
        .conversations[0]
}

async fn rate(env: &Env, conv: i64, id: &str, from: &str, score: u8) {
    let c = env.inbox.conversation_unchecked(conv).await.unwrap();
    let payload = format!("csat:{}:{score}", c.conversation.reference);
    env.inbox
        .receive("sandbox", &[tap(id, from, &payload)])
        .await
        .unwrap();
}

struct Seeded {
    env: Env,
    sup: Viewer,
    ann: Viewer,
    bob: Viewer,
    /// c1 (Ann's), c2 (taken by Ann, transferred to and closed by Bob), c3 (abandoned after a
    /// fallback to `overflow`), c4 (deflected, answered, waiting), c5 (deflected, unanswered).
    convs: [i64; 5],
}

/// The seeded day; see [`Seeded`].
async fn seed(b: Backend) -> Seeded {
    let mut settings = common::settings(None);
    settings.inbox.automations.csat = true;
    settings.inbox.offer_timeout = Duration::from_secs(120);
    let env = Env::with(b, settings).await;
    let sup = env.supervisor().await;
    let ann = env.agent("ann", &["support"]).await;

    // c1: offered to Ann at once, taken after 20 s, a note (no answer), answered 40 s later,
    // closed 5 minutes after that and rated 3.
    let c1 = received(&env, "m1", "31611111111").await;
    env.advance(20 * S).await;
    env.inbox.accept_offer(ann.agent_id, c1).await.unwrap();
    env.advance(30 * S).await;
    env.inbox
        .add_note(&ann, c1, "checking the order")
        .await
        .unwrap();
    env.advance(10 * S).await;
    env.inbox
        .send_text(&ann, c1, "Found it", None)
        .await
        .unwrap();
    env.advance(300 * S).await;
    env.inbox.close(&ann, c1, Some("resolved")).await.unwrap();
    rate(&env, c1, "r1", "31611111111", 3).await;

    // c2: Ann takes it after 5 s, answers after 15 s, transfers it to Bob, who takes it 10 s
    // later, answers, and closes it 2 minutes later; rated 5.
    env.advance(60 * S).await;
    let c2 = received(&env, "m2", "31622222222").await;
    env.advance(5 * S).await;
    env.inbox.accept_offer(ann.agent_id, c2).await.unwrap();
    env.advance(15 * S).await;
    env.inbox
        .send_text(&ann, c2, "One moment", None)
        .await
        .unwrap();
    let bob = env.agent("bob", &["support", "overflow"]).await;
    env.inbox
        .transfer_to_agent(&ann, c2, bob.agent_id)
        .await
        .unwrap();
    env.advance(10 * S).await;
    env.inbox.accept_offer(bob.agent_id, c2).await.unwrap();
    env.inbox
        .send_text(&bob, c2, "Bob here", None)
        .await
        .unwrap();
    env.advance(120 * S).await;
    env.inbox.close(&bob, c2, Some("resolved")).await.unwrap();
    rate(&env, c2, "r2", "31622222222", 5).await;

    // c3: nobody available: 60 s in support, falls back to overflow (an automatic
    // "all agents are busy" after 120 s there), then the supervisor closes it unanswered.
    for a in [&ann, &bob] {
        env.inbox
            .set_presence(a.agent_id, Presence::Offline)
            .await
            .unwrap();
    }
    let c3 = received(&env, "m3", "31633333333").await;
    env.advance(61 * S).await;
    env.advance(121 * S).await;
    env.inbox.close(&sup, c3, None).await.unwrap();

    // c4: a deflected call the customer answers; it waits in support. c5: one never answered.
    env.inbox
        .deflect(&deflection("call-4", "+31644444444"))
        .await
        .unwrap();
    let c4 = received(&env, "m4", "31644444444").await;
    let mut d5 = deflection("call-5", "+31655555555");
    d5.call.input_method = deflect_chat::InputMethod::Speech;
    let c5 = env.inbox.deflect(&d5).await.unwrap().conversation_id;
    env.advance(30 * S).await;
    Seeded {
        env,
        sup,
        ann,
        bob,
        convs: [c1, c2, c3, c4, c5],
    }
}

fn whole_day(env: &Env) -> Period {
    Period {
        from: T0 - 3_600_000,
        to: env.inbox.now() + 1,
    }
}

/// Per group (queue or agent id as text): the durations and counts, from the base tables.
#[derive(Default, Debug)]
struct Expected {
    conversations_in: i64,
    closed: i64,
    handled: i64,
    abandoned: i64,
    first_response: Vec<i64>,
    handle: Vec<i64>,
    wait: Vec<i64>,
    csat: Vec<i64>,
}

/// What the report of `period` should say per queue (`by_agent` false) or agent, computed
/// from the history (`assignments`), the messages and the conversations' own columns.
async fn expected(env: &Env, period: Period, by_agent: bool) -> BTreeMap<String, Expected> {
    let mut db = env.sql().await;
    let key = if by_agent {
        "CAST(c.agent_id AS TEXT)"
    } else {
        "c.queue"
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {key} AS k, c.agent_id, c.closed_at, c.csat_score, c.csat_at, \
         (SELECT MIN(a.at) FROM assignments a WHERE a.conversation_id = c.id AND a.action = 'queued') AS queued, \
         (SELECT MIN(a.at) FROM assignments a WHERE a.conversation_id = c.id \
            AND a.action IN ('accepted', 'claimed', 'taken over', 'returned')) AS taken, \
         (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id \
            AND m.direction = 'out' AND m.sender = 'agent' AND m.internal = 0) AS answered \
         FROM conversations c"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    let inside = |t: Option<i64>| t.is_some_and(|t| t >= period.from && t < period.to);
    for r in &rows {
        let Some(k) = r.get::<Option<String>, _>("k") else {
            continue;
        };
        let agent: Option<i64> = r.get("agent_id");
        let closed_at: Option<i64> = r.get("closed_at");
        let queued: Option<i64> = r.get("queued");
        let taken: Option<i64> = r.get("taken");
        let answered: Option<i64> = r.get("answered");
        let e = out.entry(k).or_default();
        if by_agent && inside(taken) || !by_agent && inside(queued) {
            e.conversations_in += 1;
        }
        if inside(r.get("csat_at")) {
            e.csat.push(r.get::<Option<i64>, _>("csat_score").unwrap());
        }
        let Some(closed_at) = closed_at.filter(|t| inside(Some(*t))) else {
            continue;
        };
        e.closed += 1;
        e.handled += i64::from(agent.is_some());
        e.abandoned += i64::from(queued.is_some() && answered.is_none());
        if let (Some(q), Some(a)) = (queued, answered) {
            e.first_response.push(a - q);
        }
        if let (Some(t), Some(_)) = (taken, agent) {
            e.handle.push(closed_at - t);
        }
        if let (Some(q), Some(t)) = (queued, taken) {
            e.wait.push(t - q);
        }
    }
    out.retain(|_, e| e.conversations_in + e.closed + e.csat.len() as i64 > 0);
    out
}

fn check_row(row: &ReportRow, e: &Expected, what: &str) {
    let p = |v: &[i64], q: f64| Histogram::of(v.iter().copied()).percentile(q);
    assert_eq!(row.conversations_in, e.conversations_in, "{what}: in");
    assert_eq!(row.conversations_closed, e.closed, "{what}: closed");
    assert_eq!(row.conversations_handled, e.handled, "{what}: handled");
    assert_eq!(row.abandoned, e.abandoned, "{what}: abandoned");
    assert_eq!(
        row.first_response_p50_seconds,
        p(&e.first_response, 0.5),
        "{what}"
    );
    assert_eq!(
        row.first_response_p90_seconds,
        p(&e.first_response, 0.9),
        "{what}"
    );
    assert_eq!(row.handle_time_p50_seconds, p(&e.handle, 0.5), "{what}");
    assert_eq!(row.handle_time_p90_seconds, p(&e.handle, 0.9), "{what}");
    assert_eq!(row.wait_p50_seconds, p(&e.wait, 0.5), "{what}");
    assert_eq!(row.wait_p90_seconds, p(&e.wait, 0.9), "{what}");
    assert_eq!(row.csat_count, e.csat.len() as i64, "{what}: ratings");
    let avg = (!e.csat.is_empty()).then(|| {
        let sum: i64 = e.csat.iter().sum();
        (sum as f64 / e.csat.len() as f64 * 100.0).round() / 100.0
    });
    assert_eq!(row.csat_average, avg, "{what}: csat");
}

fn check_total(report: &Report, expected: &BTreeMap<String, Expected>) {
    let mut all = Expected::default();
    for e in expected.values() {
        all.conversations_in += e.conversations_in;
        all.closed += e.closed;
        all.handled += e.handled;
        all.abandoned += e.abandoned;
        all.first_response.extend(&e.first_response);
        all.handle.extend(&e.handle);
        all.wait.extend(&e.wait);
        all.csat.extend(&e.csat);
    }
    check_row(&report.total, &all, "total");
}

async fn reports_match_the_record_per_queue_and_agent(b: Backend) {
    let s = seed(b).await;
    let period = whole_day(&s.env);

    let queues = s.env.inbox.queue_report(&s.sup, period).await.unwrap();
    let want = expected(&s.env, period, false).await;
    let names: Vec<_> = queues
        .rows
        .iter()
        .map(|r| r.queue.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        ["support", "overflow"],
        "every configured queue, in order"
    );
    for row in &queues.rows {
        let q = row.queue.clone().unwrap();
        match want.get(&q) {
            Some(e) => check_row(row, e, &q),
            None => check_row(row, &Expected::default(), &q),
        }
    }
    check_total(&queues, &want);

    // Written out: support had c1, c2 and c4 come in; c3 counts in overflow, the queue it
    // ended in (closed there, abandoned). c1 waited 20 s, c2 5 s; first responses 60 s and
    // 20 s.
    let support = &queues.rows[0];
    assert_eq!(
        (
            support.conversations_in,
            support.conversations_closed,
            support.conversations_handled
        ),
        (3, 2, 2)
    );
    let overflow = &queues.rows[1];
    assert_eq!(
        (
            overflow.conversations_in,
            overflow.conversations_closed,
            overflow.conversations_handled,
            overflow.abandoned
        ),
        (1, 1, 0, 1)
    );
    // 5 s and 20 s: the median (rank 1 of 2) is the 5 s wait, alone in its bucket.
    assert_eq!(support.wait_p50_seconds, Some(5.0));
    assert_eq!(support.csat_average, Some(4.0));
    assert_eq!(queues.total.conversations_closed, 3);

    let agents = s.env.inbox.agent_report(&s.sup, period).await.unwrap();
    let want = expected(&s.env, period, true).await;
    let ids: Vec<_> = agents.rows.iter().map(|r| r.agent_id.unwrap()).collect();
    assert_eq!(ids, [s.ann.agent_id, s.bob.agent_id], "by name");
    for row in &agents.rows {
        let id = row.agent_id.unwrap().to_string();
        check_row(row, &want[&id], &id);
    }
    check_total(&agents, &want);
    // The handling agent counts it: c2 is Bob's (closed by him), not Ann's who took it first.
    assert_eq!(agents.rows[0].conversations_handled, 1);
    assert_eq!(agents.rows[1].conversations_handled, 1);
    assert_eq!(agents.rows[1].csat_average, Some(5.0));
    assert_eq!(agents.rows[0].display_name.as_deref(), Some("ann"));

    // A period before anything happened: configured queues with zeros, no agents.
    let before = Period {
        from: T0 - 7_200_000,
        to: T0 - 3_600_000,
    };
    let empty = s.env.inbox.queue_report(&s.sup, before).await.unwrap();
    assert!(empty.rows.iter().all(|r| r.conversations_in == 0));
    assert_eq!(empty.total.first_response_p50_seconds, None);
    assert!(
        s.env
            .inbox
            .agent_report(&s.sup, before)
            .await
            .unwrap()
            .rows
            .is_empty()
    );

    // Agents may not see reports; a backwards or too long period is refused.
    assert!(matches!(
        s.env.inbox.queue_report(&s.ann, period).await,
        Err(ChatError::Forbidden(_))
    ));
    let backwards = Period {
        from: period.to,
        to: period.from,
    };
    assert!(matches!(
        s.env.inbox.agent_report(&s.sup, backwards).await,
        Err(ChatError::Invalid(_))
    ));
    let long = Period {
        from: 0,
        to: 401 * 86_400_000,
    };
    assert!(matches!(
        s.env.inbox.deflection_report(&s.sup, long).await,
        Err(ChatError::Invalid(_))
    ));
}

/// Conversation `id`'s report facts: first queued, first taken, first answered, created.
async fn facts(db: &mut sqlx::AnyConnection, id: i64) -> [Option<i64>; 4] {
    let r = sqlx::query(
        "SELECT first_queued_at, first_assigned_at, first_response_at, created_at \
         FROM conversations WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap();
    [r.get(0), r.get(1), r.get(2), Some(r.get(3))]
}

async fn facts_are_set_once_when_they_happen(b: Backend) {
    let s = seed(b).await;
    let [c1, c2, c3, c4, c5] = s.convs;
    let mut db = s.env.sql().await;
    let f1 = facts(&mut db, c1).await;
    let t1 = f1[3].unwrap();
    // Queued on arrival, taken 20 s later, the note is no answer: answered at 60 s.
    assert_eq!(f1[..3], [Some(t1), Some(t1 + 20_000), Some(t1 + 60_000)]);
    // Ann took c2 and answered first; Bob's taking it and answering changed neither.
    let f2 = facts(&mut db, c2).await;
    let t2 = f2[3].unwrap();
    assert_eq!(f2[..3], [Some(t2), Some(t2 + 5_000), Some(t2 + 20_000)]);
    // c3's fallback re-queue kept its first queueing; the automatic message is no answer.
    let f3 = facts(&mut db, c3).await;
    assert_eq!(f3[..3], [f3[3], None, None]);
    // A deflection enters a queue when the customer answers, not when it is made.
    let f4 = facts(&mut db, c4).await;
    assert!(f4[0].unwrap() > f4[3].unwrap() || f4[0] == f4[3]);
    assert_eq!(facts(&mut db, c5).await[..3], [None, None, None]);
}

async fn deflections_and_volume_cover_the_period(b: Backend) {
    let s = seed(b).await;
    let period = whole_day(&s.env);
    let d = s.env.inbox.deflection_report(&s.sup, period).await.unwrap();
    let rows: Vec<_> = d
        .rows
        .iter()
        .map(|r| {
            (
                r.flow.as_deref(),
                r.input_method.as_str(),
                r.deflections,
                r.answered,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (Some("support"), "dtmf", 1, 1),
            (Some("support"), "speech", 1, 0)
        ]
    );
    assert_eq!((d.total.deflections, d.total.answered), (2, 1));

    // Hourly slices from the period's start: all four queued conversations within it, in
    // the slices they entered a queue in (checked against the history).
    let v = s.env.inbox.volume_report(&s.sup, period).await.unwrap();
    assert_eq!(v.slice_seconds, 3600);
    let mut db = s.env.sql().await;
    let firsts: Vec<i64> = sqlx::query(
        "SELECT MIN(at) FROM assignments WHERE action = 'queued' GROUP BY conversation_id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut want = vec![0; v.counts.len()];
    for t in firsts {
        want[usize::try_from((t - period.from) / 3_600_000).unwrap()] += 1;
    }
    assert_eq!(v.counts, want);
    assert_eq!(v.counts.iter().sum::<i64>(), 4);
    let waits = s
        .env
        .inbox
        .queue_report(&s.sup, period)
        .await
        .unwrap()
        .waits
        .unwrap();
    assert_eq!(
        deflect_chat::wait_bands(&waits),
        vec![2, 0, 0, 0, 0, 0, 0, 0]
    );
}

async fn the_migration_backfills_the_facts_of_existing_conversations(b: Backend) {
    use sqlx::Connection;
    let (url, _dir) = common::database(b).await;
    let kind = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let old = tempfile::tempdir().unwrap();
    let dir = format!("{}/migrations/{kind}", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0018" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let create = match b {
        Backend::Sqlite => format!("{}?mode=rwc", url.expose()),
        Backend::Postgres => url.expose().to_string(),
    };
    let mut conn = sqlx::AnyConnection::connect(&create).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    // Conversation 1: queued at 100, offered, accepted at 150, a note at 160, an automatic
    // message at 170, the agent's answer at 200 and 300, closed. Conversation 2: a deflection
    // never answered.
    for q in [
        "INSERT INTO contacts (id, name, phone, created_at) VALUES (1, 'Ann', '+31612345678', 0)",
        "INSERT INTO agents (id, username, display_name, password_hash, role, created_at) \
         VALUES (7, 'ann', 'Ann', 'x', 'agent', 0)",
        "INSERT INTO conversations (id, reference, contact_id, channel, origin, account, status, queue, \
         agent_id, last_activity_at, closed_at, created_at) \
         VALUES (1, 'K7Q2MX', 1, 'whatsapp', 'whatsapp', 'sandbox', 'closed', 'support', 7, 0, 900, 100)",
        "INSERT INTO conversations (id, reference, contact_id, channel, origin, account, status, queue, \
         last_activity_at, created_at) VALUES (2, 'W3B000', 1, 'whatsapp', 'call', 'sandbox', 'pending', 'support', 0, 50)",
        "INSERT INTO assignments (conversation_id, agent_id, queue, action, at) VALUES \
         (1, NULL, 'support', 'queued', 100), (1, 7, 'support', 'offered', 110), \
         (1, 7, 'support', 'accepted', 150), (1, NULL, 'support', 'queued', 400), \
         (1, 7, 'support', 'claimed', 500), (1, 7, 'support', 'closed', 900)",
        "INSERT INTO messages (conversation_id, direction, kind, body, internal, agent_id, channel, status, \
         sender, created_at) VALUES \
         (1, 'in', 'text', 'help', 0, NULL, 'whatsapp', 'received', 'customer', 100), \
         (1, 'out', 'note', 'hm', 1, 7, 'whatsapp', 'sent', 'agent', 160), \
         (1, 'out', 'text', 'busy', 0, NULL, 'whatsapp', 'sent', 'automation', 170), \
         (1, 'out', 'text', 'hi', 0, 7, 'whatsapp', 'sent', 'agent', 200), \
         (1, 'out', 'text', 'bye', 0, 7, 'whatsapp', 'sent', 'agent', 300), \
         (2, 'out', 'template', 'call us', 0, NULL, 'whatsapp', 'sent', 'automation', 50)",
    ] {
        sqlx::query(q).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let store = deflect_chat::Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let mut db = sqlx::AnyConnection::connect(url.expose()).await.unwrap();
    assert_eq!(
        facts(&mut db, 1).await,
        [Some(100), Some(150), Some(200), Some(100)]
    );
    assert_eq!(facts(&mut db, 2).await, [None, None, None, Some(50)]);
}

on_both!(
    the_migration_backfills_the_facts_of_existing_conversations,
    reports_match_the_record_per_queue_and_agent,
    facts_are_set_once_when_they_happen,
    deflections_and_volume_cover_the_period,
);
