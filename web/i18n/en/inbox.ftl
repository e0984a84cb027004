# deflect inbox — English (the reference: every other language has every id of this file,
# with the same variables). A "## file: place" comment names where the group's texts appear;
# web/i18n/MAPPING.md is generated from them.

## shared: values shown in several places (select on the value the API gives)

# at: inbox.js drawList() and renderHead() badges (c.status), inbox.html #filters status options
status = { $status ->
    [pending] waiting for customer
    [queued] queued
    [offered] offered
    [assigned] assigned
    [bot] with bot
    [relay] relayed to an agent's WhatsApp
    [closed] closed
   *[other] { $status }
}
# at: inbox.js drawList() icon title, renderHead() (c.channel), addMessage() meta; inbox.html #filters channel options
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Web chat
    [sms] SMS
   *[other] { $channel }
}
# at: inbox.js start() #me, renderBoard(), renderAdmin() role options
role = { $role ->
    [agent] agent
    [supervisor] supervisor
    [admin] admin
   *[other] { $role }
}
# at: inbox.js renderHead() transfer options, renderBoard(), presence announce
presence = { $presence ->
    [available] available
    [away] away
    [offline] offline
   *[other] { $presence }
}
# A message's or file's kind, as in "[picture]" placeholders.
# at: inbox.js previewText(), onEvent() notify, messageBody(), fillFiles() (m.kind / a.kind)
kind = { $kind ->
    [text] text
    [image] picture
    [audio] audio
    [video] video
    [document] document
    [sticker] sticker
    [location] location
    [contacts] contact card
    [interactive] buttons
    [template] template
   *[other] { $kind }
}
# at: inbox.js previewText(), onEvent() notify: "[" + m.kind + "]"
message-placeholder = [{ kind }]
# A message without text, as "(picture)".
# at: inbox.js messageBody()
message-kind = ({ kind })
# at: inbox.js ago(), span(), renderCall() wait
duration-seconds = { $n } s
# at: inbox.js ago(), span()
duration-minutes = { $n } min
# at: inbox.js ago()
duration-hours = { $n } h
# at: inbox.js span()
duration-hours-minutes = { $h } h { $m } min
# at: inbox-contact.js duration()
duration-minutes-seconds = { $m } min { $s } s
# at: inbox.js bytes()
size-bytes = { $n } B
# at: inbox.js bytes()
size-kb = { $n } KB
# at: inbox.js bytes()
size-mb = { $n } MB
any = any
never = never

## inbox.html: <title>, login form; inbox.js: badge() (tab title)

page-title = deflect inbox
# at: inbox.js badge()
tab-title = { $n ->
    [0] deflect inbox
   *[other] ({ $n }) deflect inbox
}
login-heading = deflect inbox
login-username = Username
login-password = Password
login-submit = Log in

## inbox.html: header (views, attention, presence); inbox.js: start(), showAttention(), scheduleCounts()

nav-label = Views
nav-mine = My conversations
nav-queue = Queue
nav-waiting = Waiting for customer
    .title = Deflected calls and hand-offs whose customer has not written yet
nav-all = All conversations
nav-board = Board
nav-settings = Settings
nav-reports = Reports
# at: inbox.js scheduleCounts(): b.title
nav-count-title = { $conversations ->
    [one] { $conversations } conversation
   *[other] { $conversations } conversations
}, { $unread ->
    [one] { $unread } unread message
   *[other] { $unread } unread messages
}
notify-enable = Enable notifications
    .title = Show a desktop notification for offers and customers' messages while the inbox is in the background
sound-on = Sound on
sound-off = Sound off
auto-accept = Auto-accept
    .title = Take every offer at once, without Accept
auto-accept-on = Offers are accepted at once
auto-accept-off = Offers wait for you to accept
presence-label = Presence
presence-available = Available
presence-away = Away
presence-offline = Offline
# at: inbox.js #presence change: announce
presence-changed = Presence: { presence }
# at: inbox.js start(): #me
me = { $name } ({ role })
language-label = Language
language-auto = Browser's language
logout = Log out

## inbox.html: #side (search, sort, filters, list); inbox.js: drawList(), fillFilterChoices()

side-label = Conversations
offers-label = Offers to you
search-label = Search conversations
search-input =
    .placeholder = Search: name, number, reference, text
search-submit = Search
search-clear = Clear
sort-label = Sort
sort-newest = Newest
sort-waiting = Longest waiting
filter-from = From
# at: inbox.html #filters: <label>To
filter-to = To
filter-status = Status
filter-channel = Channel
# at: inbox.html #filters: <label>Queue
filter-queue = Queue
# at: inbox.html #filters: <label>Agent
filter-agent = Agent
# at: inbox.html #filters: <label>Label
filter-label = Label
filter-search = Search
    .placeholder = name, number, reference, text
filter-submit = Filter
filter-export = Export CSV
list-label = Conversations
list-more = Load more
# at: inbox.js drawList(): #count
list-count = { $n ->
    [one] { $n } conversation
   *[other] { $n } conversations
}
# at: inbox.js drawList(): #count (nextBefore)
list-count-more = { $n }+ conversations
# at: inbox.js drawList(): #count (search)
list-results = Results for “{ $q }”: { $n ->
    [one] { $n } conversation
   *[other] { $n } conversations
}
# at: inbox.js drawList(): #count (search, nextBefore)
list-results-more = Results for “{ $q }”: { $n }+ conversations

## inbox.js: label(), drawList() (a row), previewText()

visitor = Visitor { $reference }
# at: inbox.js drawList() icon title (site/account), renderHead() muted line
channel-where = { channel } · { $where }
origin-call = From a call
origin-api = From the API
origin-relay = Relayed to an agent's WhatsApp
row-waiting-for-you = waiting for you
    .title = The customer waits for your answer
row-wait =
    .title = The customer has waited this long for an answer
# at: inbox.js drawList(): unread-count title
row-unread =
    .title = { $n } unread
preview-pending = Waiting for the customer's first message
# at: inbox.js previewText()
preview-you = You: { $text }
preview-agent = { $name }: { $text }
# at: inbox.js previewText()
preview-bot = Bot: { $text }
# at: inbox.js previewText()
preview-automatic = Automatic: { $text }

## inbox.js: onEvent() (announcements, notifications, typing)

offer-announce = New conversation offered: { $name }
offer-notify = New conversation offered
customer-waiting-announce = A customer is waiting for your answer: { $name }
customer-typing = The customer is typing…

## inbox.js: drawOffers(), answerOffer() (the offer card)

# at: inbox.js drawOffers(): aria-label
offer-label = Offer: { $name }
offer-title = New conversation: { $name }
offer-countdown =
    .title = Time left to answer the offer
offer-accept = Accept (A)
offer-reject = Reject (X)
offer-accepted = Accepted
offer-rejected = Rejected

## inbox.html: #conv, #composer; inbox.js: open()

messages-label = Messages
# at: inbox.html #back: aria-label (narrow screens)
back-label = Back to the conversations
empty = Choose a conversation.
note-toggle = Internal note
canned-label = Canned answer
buttons-add = Add buttons
template-add = Template…
attach = Attach files
    .title = Attach files (or drop them on the conversation)
chosen-label = Files to send
reply-label = Reply
send = Send
board-label = Board
settings-label = Settings
reports-label = Reports

## inbox.html: #template, #buttons (composer extras)

template-legend = Send an approved WhatsApp template
template-search = Search by name
# at: inbox.html #template: <label>Template
template-choice = Template
template-preview-label = Preview: the exact text the customer receives
template-send = Send template
template-cancel = Cancel
buttons-legend = Buttons under the message (the reply is its text)
buttons-kind = Kind
buttons-kind-button = Reply buttons (up to 3)
buttons-kind-list = List (up to 10 rows)
buttons-kind-link = Link button
buttons-kind-call = WhatsApp call button
buttons-kind-permission = Ask permission to call
# at: inbox.html #buttons: Button 1..3 title
button-title = Button { $n } title
list-button-text = List button text
    .placeholder = Choose
list-section = Section title
    .placeholder = Options
list-rows = List rows, one per line: title, or title | description
link-text = Link button text
link-url = Link URL
call-text = Call button text
    .placeholder = Call Now
buttons-remove = Remove buttons

## inbox.js: addMessage(), messageBody() (a message)

note-by = Note by { $name }
relay-from = { $name } on their WhatsApp (relay)
relay-to = To the agent's WhatsApp (relay)
sender-customer = Customer
sender-bot = Bot
sender-automation = Automation
sender-agent = Agent
reply-chosen =
    .title = Reply id: { $id }
# at: inbox.js messageBody(): sr span
reply-chosen-sr = (reply id { $id })
offered-buttons = Reply buttons
offered-list-section = List section { $title }
offered-link = Link button
offered-call = WhatsApp call button
offered-permission = Permission to call
# at: inbox.js messageBody(): the customer's call_permission_reply
permission-accepted = Calls allowed
# at: inbox.js messageBody(): until is the date and time it ends
permission-accepted-until = Calls allowed until { $until }
permission-rejected = Calls refused

## inbox.js: showStatus() (delivery ticks and failures). Pass code as a string, or "none".

# at: inbox.js showStatus(): st.textContent
delivery = { $status ->
    [queued] queued
    [sent] sent
    [delivered] delivered
    [read] read
    [failed] failed
   *[other] { $status }
}
# at: inbox.js showStatus(): code (inlined into failed-*/queued-*)
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = Not delivered{ delivery-code }: the customer's last message is more than 24 hours old, so WhatsApp takes only an approved template now.
failed-window-action = Send a template
failed-unreachable = Not delivered{ delivery-code }: this number is not reachable on WhatsApp.
failed-reason = Not delivered{ delivery-code }: { $reason }.
failed-refused = Not delivered{ delivery-code }: the provider refused it.
queued-rate-limited = WhatsApp asked to slow down{ delivery-code }; sending again shortly.
queued-retry-reason = Not sent yet{ delivery-code }: { $reason }; trying again.
# at: inbox.js showStatus()
queued-retry = Not sent yet{ delivery-code }: the provider did not take it; trying again.

## inbox.js: fillFiles(), mapLink(), renderChosen() (files)

file-downloading = Downloading the { kind }…
file-downloading-retry = Downloading the { kind }… (trying again: { $error })
file-failed = The { kind } could not be downloaded: { $error }
# at: inbox.js fillFiles()
file-failed-unknown = The { kind } could not be downloaded: unknown reason
file-open =
    .title = Open full size
file-sticker = Sticker
file-picture = Picture
map-link = Show on the map
file-remove = Remove { $name }
    .title = Remove

## inbox.js: renderCall() (the deflected call)

call-heading = Deflected call
call-caller = Caller
call-dialled = Number dialled
call-callback = Callback number
call-wait = Wait
call-input = Input
# at: inbox.js renderCall(): call.input_method
call-input-method = { $method ->
    [caller_number] the number they called from
    [dtmf] keypad
    [speech] speech
   *[other] { $method }
}
call-time = Call
call-transcript = Transcript
# at: inbox-contact.js call(): the IVR steps the caller went through
call-path = Path
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] open
    [closed] closed
    [confirmed] confirmed
    [reenter] entered again
    [failed] failed
   *[other] { $exit }
}
call-exit-retry = retry { $n }
call-exit-skipped = { $n ->
    [one] { $n } step left out
   *[other] { $n } steps left out
}

## inbox.js: renderHead() (conversation header and actions)

form-phone = { $phone } (typed in a form: { $form })
csat = Rated { $score }/5
    .title = Customer satisfaction, 1 (bad) to 5 (good)
csat-comment = Rated { $score }/5: “{ $comment }”
action-accept = Accept
action-reject = Reject
action-claim = Claim
# at: inbox.js renderHead(): calls a WhatsApp customer who allowed calls, from the agent's softphone
action-call = Call
action-take-over = Take over from bot
taken-over = Taken over from the bot
transfer-to = Transfer to
transfer-agents = Agents
transfer-queues = Queues
# at: inbox.js renderHead(): transfer option
transfer-agent = { $name } ({ presence })
# at: inbox.js renderHead(): transfer picker's optgroup
transfer-available = Agents available
# at: inbox.js renderHead(): transfer picker's optgroup
transfer-away = Agents away or offline
# at: inbox.js renderHead(): transfer option
transfer-option = { $name } · { presence }
# at: inbox.js renderHead(): transfer option with the agent's load ("2/5")
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
# at: inbox.js renderHead(): aria-label, placeholder
transfer-note = Note for the next agent (optional)
    .placeholder = Note (optional)
# at: inbox.js renderHead(): confirm() before transferring to an agent who is not available;
# back: "you" when the offer comes back to the agent transferring, else "agent"
transfer-confirm = { $back ->
    [you] { $name } is { presence }: the offer waits for them and comes back to you if they do not accept in time. Transfer anyway?
   *[other] { $name } is { presence }: the offer waits for them and comes back to its agent if they do not accept in time. Transfer anyway?
}
action-transfer = Transfer
transferred = Transferred
disposition = Disposition
disposition-choose = Disposition…
disposition-none = No disposition
action-close = Close
closed-announce = Closed
action-transcript = Transcript
window-note = The customer's last message is more than 24 hours old (or there is none yet), so WhatsApp accepts only an approved template, not free text. Send a template; you can write freely once they answer.
window-choose-template = Choose a template
window-recontact = Send recontact template
template-sent = Template sent
unreachable-note = This number is not reachable on WhatsApp (the provider said it cannot deliver to it), so messages cannot be sent; internal notes still can. Reach the customer another way.

## inbox.js: showTemplates(), listTemplates(), pickTemplate(), send-template (WhatsApp templates)

templates-loading = Loading templates…
templates-stale = The last fetch from WhatsApp failed ({ $error }); this is the list of { $time }.
templates-stale-never = The last fetch from WhatsApp failed ({ $error }); no list was fetched before.
# at: inbox.js listTemplates()
templates-count = { $n ->
    [one] { $n } template.
   *[other] { $n } templates.
}
templates-none = No approved template matches (the account's list is fetched from WhatsApp; a supervisor can refresh it).
template-header = Header { $placeholder }
# at: inbox.js pickTemplate()
template-header-media = Header { $format } URL (https)
template-parameter = Parameter { $placeholder }
template-button-url = Button “{ $text }” URL variable
template-choose-first = Choose a template first.

## inbox.js: composer submit (errors the page writes itself)

note-no-buttons = An internal note cannot have buttons: remove them or untick Internal note.
note-no-files = An internal note cannot carry files: remove them or untick Internal note.
buttons-no-files = A message with buttons cannot carry files: send the files first, or remove the buttons.

## inbox.js: renderBoard() (supervisors' board)

board-queues = Queues
board-queue = Queue
board-waiting = Waiting
board-oldest = Oldest wait
board-offered = Offered
board-with-agents = With agents
board-awaiting-reply = Awaiting reply
board-agents = Agents
board-agent = Agent
board-role = Role
board-presence = Presence
board-load = Load
board-agent-queues = Queues
board-updated = Updated { $time }

## inbox.js: renderAdmin() (settings: canned answers, agents, API tokens)

admin-canned = Canned answers
admin-title = Title
admin-account = Account
admin-text = Text
admin-canned-text = Text ({ $placeholders })
# at: inbox.js renderAdmin(): canned answers' account
admin-all = all
admin-delete = Delete
admin-add = Add
admin-agents = Agents
admin-username = Username
admin-name = Name
# at: inbox.js renderAdmin(): agents table and form
admin-role = Role
admin-queues = Queues
admin-accounts = Accounts
admin-whatsapp-accounts = WhatsApp accounts
admin-role-of = Role of { $username }
admin-queues-of = Queues of { $username }
admin-accounts-of = Accounts of { $username }
admin-save-queues = Save queues and accounts
admin-no-account = No account: sees no WhatsApp conversations
admin-enable = Enable
admin-disable = Disable
admin-password = Password (8+)
admin-add-agent = Add agent
admin-tick-account = Tick at least one WhatsApp account: an agent without one sees no conversations.
admin-tokens = API tokens
admin-acts-as = Acts as
admin-created = Created
admin-last-used = Last used
admin-revoked = revoked
admin-revoke = Revoke
admin-create-token = Create token
admin-new-token = New token (shown once; send it as Authorization: Bearer …): { $secret }
# at: inbox.js resetPassword()
admin-reset-password = Reset password
admin-set-password = Set password
# at: inbox.js resetPassword(): aria-label
admin-new-password = New password for { $username }
# at: inbox.js resetPassword(): announce
admin-password-changed = Password of { $username } changed

## inbox.js: renderLists() (settings: whitelist and FAQ)

admin-every-account = every account
admin-source = Source
admin-source-config = configuration ({ $key })
admin-source-here = added here
admin-whitelist = Whitelist
admin-whitelist-help = Numbers that may open a conversation by writing. An account with no entry (here or for every account) takes everyone; its first entry restricts it to the numbers listed.
admin-whitelist-empty = No entries: every number may write.
admin-pattern = Number or prefix
    .placeholder = +31612345678 or +3120*
# at: inbox.js renderLists(): aria-label
admin-delete-pattern = Delete { $pattern } for { $scope }
admin-whitelist-add = Add to whitelist
admin-faq = FAQ
# at: inbox.js renderLists()
admin-faq-help = Questions the FAQ bot answers (bot = "faq"); a customer's message matching a question well enough gets its answer.
admin-faq-empty = No questions yet.
admin-question = Question
admin-answer = Answer
admin-faq-answer = Answer ({ $placeholders })
admin-language = Language
admin-faq-add = Add question
admin-faq-save = Save question
admin-faq-cancel = Cancel editing
admin-edit = Edit
admin-edit-canned = Edit canned answer: { $title }
admin-edit-question = Edit: { $question }
# at: inbox.js renderLists(): aria-label
admin-delete-question = Delete: { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automations, widget texts and queues
settings-help = Changes count at once, without a restart. Keys the configuration file sets are changed there.
# at: inbox-settings.js part(): the label before the scope picker
settings-change = Change
# at: inbox-settings.js part(): the label before a site's language picker
settings-texts-in = Texts in
# at: inbox-settings.js part(): the language picker's first option
settings-site-language = the site's own language
# at: inbox-settings.js part(): the scope picker's aria-label
settings-what = What to change
# A scope: kind is inbox, account, site, flow or queue; name its name ("" for the inbox).
# at: inbox-settings.js scopeName(): the scope picker's options
settings-scope = { $kind ->
    [inbox] Inbox (every conversation)
    [account] WhatsApp account { $name }
    [site] Widget site { $name }
    [flow] IVR flow { $name }
    [queue] Queue { $name }
   *[other] { $kind } { $name }
}
# at: inbox-settings.js part(): the form's aria-label
settings-of = Settings of { settings-scope }
# at: inbox-settings.js part(): announce
settings-saved = Saved: { settings-scope }
# at: inbox-settings.js part()
settings-last-changed = Last changed { $time }
# Where a key's value comes from.
# at: inbox-settings.js part(): source
settings-source-file = set in the configuration file ({ $key })
settings-source-here = changed here
settings-source-default = default
settings-reset = Reset
# at: inbox-settings.js part(): aria-label (label: the setting's label)
settings-reset-label = Reset { $label }
settings-save = Save
settings-reset-all = Reset all to the configuration
# The settings' labels (AUTOMATIONS, SITE, QUEUE).
setting-welcome-message = Welcome message
setting-whitelist-reply = Reply to numbers not on the whitelist
setting-closed-message = Message outside opening hours
# at: inbox-settings.js AUTOMATIONS
setting-queue-message = Queue position message ({ $placeholders })
setting-reminder-after = Remind the agent after (0s: off)
setting-reminder-message = Reminder to the customer
setting-reoffer-after = Offer to another agent after (0s: off)
setting-inactivity-message = Message when an inactive chat closes
setting-csat = Ask how it went after closing
setting-csat-question = Survey question
setting-csat-follow-up = Follow-up after the score
setting-title = Widget title
setting-greeting = Greeting
setting-site-closed-message = Closed message
setting-escalation-timeout = Offer WhatsApp after
setting-ask-name = Ask for the name
setting-ask-phone = Ask for the phone number
setting-offer-timeout = Offer to an agent for
setting-wait-timeout = Fallback after waiting
setting-fallback = Fallback
setting-fallback-queue = Fallback queue
setting-auto-reply = Auto-reply text
setting-disposition-required = Disposition required when closing
setting-dispositions = Dispositions (comma-separated)
# at: inbox-settings.js QUEUE
setting-sla-warning = Waiting shown late after
# at: inbox-settings.js QUEUE
setting-sla-breach = Waiting shown overdue after
# A select's option (ask_name, ask_phone, fallback), the configuration's value.
# at: inbox-settings.js part(): options
setting-choice = { $value ->
    [required] required
    [optional] optional
    [off] off
    [wait] wait
    [queue] queue
    [auto_reply] auto_reply
    [close] close
   *[other] { $value }
}
# at: inbox-settings.js part(): the fallback queue's empty option
setting-none = none
# A site's text in another language (language: its code, as nl).
# at: inbox-settings.js part()
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Events POSTed as signed JSON (X-Deflect-Signature) to these endpoints; retried with back-off. Endpoints from the configuration file change there.
webhooks-none = No endpoints: no events are sent.
# at: inbox-webhooks.js eventsOf()
webhooks-all-events = all events
# at: inbox-webhooks.js source()
webhooks-source-config = configuration file ({ $key })
webhooks-source-here = added here
webhooks-col-name = Name
webhooks-col-url = URL
webhooks-col-events = Events
webhooks-col-enabled = Enabled
webhooks-col-source = Source
# at: inbox-webhooks.js: the Enabled column (enabled: "yes" or "no")
webhooks-enabled = { $enabled ->
    [yes] yes
   *[other] no
}
webhooks-events = Events (none ticked: all)
webhooks-name = Name (a-z, 0-9, - and _)
# at: inbox-webhooks.js: the form's URL label
webhooks-url = URL
webhooks-secret = Signing secret (16+ characters)
# at: inbox-webhooks.js edit(): after the secret's label, when the endpoint has one
webhooks-secret-kept = set; leave empty to keep it
webhooks-attempts = Attempts
webhooks-timeout = Timeout (seconds)
webhooks-add = Add endpoint
# at: inbox-webhooks.js edit(): the submit button
webhooks-save = Save { $name }
webhooks-cancel = Cancel editing
# at: inbox-webhooks.js: the buttons of an endpoint added here
webhooks-edit = Edit
webhooks-enable = Enable
webhooks-disable = Disable
webhooks-delete = Delete
# at: inbox-webhooks.js: aria-label
webhooks-edit-label = Edit webhook { $name }
# at: inbox-webhooks.js: aria-label
webhooks-enable-label = Enable webhook { $name }
# at: inbox-webhooks.js: aria-label
webhooks-disable-label = Disable webhook { $name }
# at: inbox-webhooks.js: aria-label
webhooks-delete-label = Delete webhook { $name } (deliveries still waiting for it are dropped)

## inbox-keys.js: KEYS, help(), close(), canned suggestions

keys-next = Next conversation
keys-previous = Previous conversation
keys-accept = Accept the offer
keys-reject = Reject the offer
keys-close = Close the conversation
keys-transfer = Transfer: choose whom
keys-note = Internal note on or off
keys-reply = Write a reply
keys-search = Search conversations
keys-help = Show these shortcuts
keys-title = Keyboard shortcuts
keys-key = Key
keys-does = Does
keys-hint = In a text field, hold Alt with the key. In the reply box, type / and a few letters to insert a canned answer; Ctrl+Enter sends.
keys-close-help = Close
note-on = Internal note
note-off = Message to the customer
disposition-first = Choose a disposition, then Close
# at: inbox-keys.js: #canned-suggest aria-label
canned-suggest = Canned answers

## inbox-reports.js: the reports view (supervisors)

reports-heading = Reports
reports-period = Period
reports-today = Today
reports-week = Last 7 days
reports-custom = Custom
# at: inbox-reports.js picker(): the custom period's start
reports-from = From
# at: inbox-reports.js picker(): the custom period's end
reports-to = To
reports-queues = Queues
# at: inbox-reports.js render(): the queue table's first column
reports-queue = Queue
reports-agents = Agents (the agent holding a conversation when it closed counts it)
# at: inbox-reports.js render(): the agent table's first column
reports-agent = Agent
# The queue and agent tables' columns (COLUMNS); p50 is the median, p90 the 90th percentile.
# at: inbox-reports.js COLUMNS
reports-in = In
reports-handled = Handled
# at: inbox-reports.js COLUMNS
reports-closed = Closed
reports-abandoned = Abandoned
reports-first-response = First response p50
reports-handle-time = Handle time p50
reports-wait = Wait p50
# at: inbox-reports.js COLUMNS
reports-p90 = p90
# at: inbox-reports.js COLUMNS
reports-csat = CSAT
# at: inbox-reports.js table(), render(): the totals' row
reports-total = Total
reports-deflections = Deflections by flow and input method
# at: inbox-reports.js render(): the deflection table's columns
reports-flow = Flow
# at: inbox-reports.js render(): the deflection table's columns
reports-input = Input
# at: inbox-reports.js render(): the deflection table's columns
reports-deflections-count = Deflections
reports-answered = Answered
# at: inbox-reports.js render(): a deflection's input method (r.input_method)
reports-input-method = { $method ->
    [dtmf] keypad
    [speech] speech
    [caller_number] caller's number
   *[other] { $method }
}
# at: inbox-reports.js render(): the volume chart's caption and alt text
reports-volume = Conversations in
    .alt = Conversations in over the period, per hour or day
reports-wait-chart = Waiting time until an agent took it
    .alt = Conversations closed in the period by how long they waited for an agent
reports-note = Percentiles are read from time buckets: within 5 s below a minute, 30 s below 10 minutes, 5 minutes below an hour. Calls by outcome are not reported yet.

## inbox-contact.js: the contact panel beside a conversation

# at: inbox-contact.js: the panel's aria-label
contact-label = Contact
# at: inbox-contact.js show(): the toggle while the panel is collapsed
contact-show = Contact ‹
    .title = Show the contact panel
# at: inbox-contact.js show(): the toggle while the panel is open
contact-hide = Contact ›
    .title = Hide the contact panel
contact-failed = The contact could not be loaded: { $error }
contact-nothing = Nothing known.
contact-profile = Profile
# at: inbox-contact.js render()
contact-name = Name
# at: inbox-contact.js render(): whatsapp is "yes" when the phone number is their WhatsApp number
contact-phone = { $whatsapp ->
    [yes] Phone (WhatsApp)
   *[other] Phone
}
contact-form-phone = Typed in a form
# at: inbox-contact.js render(), call()
contact-language = Language
# at: inbox-contact.js render(): a WhatsApp identity
contact-whatsapp = WhatsApp
contact-visitor = Widget visitor
# at: inbox-contact.js render(): a widget identity
contact-visitor-on = on { $site } since { $time }
contact-since = Known since
# at: inbox-contact.js labels(): the section's title and the list's aria-label
contact-labels = Labels
contact-new-label = New label
    .placeholder = add a label
# at: inbox-contact.js labels(): the submit button
contact-add = Add
# at: inbox-contact.js labels(): announce
contact-label-added = Label { $label } added
# at: inbox-contact.js labels(): announce
contact-label-removed = Label { $label } removed
# at: inbox-contact.js labels(): aria-label, title
contact-remove-label = Remove label { $label }
    .title = Remove
contact-no-labels = No labels.
# at: inbox-contact.js previous()
contact-previous = Other conversations
contact-previous-none = None you can see.
contact-attributes = Attributes
# at: inbox-contact.js attributes()
contact-site = Widget site
# at: inbox-contact.js attributes()
contact-page = Page
contact-came-from = Came from
# at: inbox-contact.js call()
contact-call = Call
contact-not-call = Not a deflected call.
# at: inbox-contact.js call()
contact-flow = Flow
# at: inbox-contact.js call()
contact-input = Input
# at: inbox-contact.js call(): how the caller gave their number (c.input_method)
contact-input-method = { $method ->
    [dtmf] typed on the keypad
    [speech] said
    [caller_number] the number they called from
   *[other] { $method }
}
# at: inbox-contact.js call(): the transcript's label (method: c.input_method)
contact-transcript = { $method ->
    [speech] Words
   *[other] Digits
}
contact-ivr-time = Time in IVR
# at: inbox-contact.js call()
contact-caller = Caller
# at: inbox-contact.js call()
contact-dialled = Number dialled
# at: inbox-contact.js call()
contact-called = Called

## inbox-phone.js: the softphone (calls the IVR puts through to a queue's agents, and agents' calls to WhatsApp customers)

# at: inbox-phone.js panel(): the panel's accessible name
phone-label = Phone
# at: inbox-phone.js panel(): opens the call's conversation
phone-open = Open conversation
# at: inbox-phone.js panel()
phone-answer = Answer
# at: inbox-phone.js panel(): stops the ringing here; colleagues' phones go on
phone-decline = Decline
# at: inbox-phone.js panel(): the agent's microphone off
phone-mute = Mute
# at: inbox-phone.js panel(): neither side hears the other
phone-hold = Hold
# at: inbox-phone.js panel()
phone-hangup = Hang up
# at: inbox-phone.js panel(): the keypad's accessible name
phone-keypad = Keypad
# at: inbox-phone.js who(): caller (a number or phone-unknown-caller), the queue, where it came from (a trunk, whatsapp:<account>, widget:<site>)
phone-from = { $caller } · queue { $queue } · { $channel }
# at: inbox-phone.js who()
phone-unknown-caller = Unknown caller
# at: inbox-phone.js draw(): the status while it rings
phone-ringing = Incoming call
# at: inbox-phone.js answer()
phone-connecting = Connecting…
# at: inbox-phone.js onAir(): time as m:ss
phone-on = On call { $time }
# at: inbox-phone.js onAir(): while the agent holds the caller; time as m:ss
phone-held = On hold { $time }
# at: inbox-phone.js onAir(): announced to screen readers
phone-connected = Call connected
# at: inbox-phone.js hangUp()
phone-ended = Call ended
# at: inbox-phone.js answer(): error: the browser's or the gateway's reason
phone-failed = The call could not be answered: { $error }
# at: inbox-phone.js who(): an agent's own call: the customer's number, the channel (whatsapp:<account>)
phone-to = To { $caller } · { $channel }
# at: inbox-phone.js place(): while the customer's phone rings
phone-calling = Calling…
# at: inbox-phone.js place(): error: the browser's or the gateway's reason
phone-call-failed = The call could not be placed: { $error }
# at: inbox-phone.js onCall(): an agent's call ended; reason: the gateway's words (the customer did not answer, …)
phone-ended-why = Call ended: { $reason }
