# deflect inbox — Nederlands. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] wacht op klant
    [queued] in wachtrij
    [offered] aangeboden
    [assigned] toegewezen
    [bot] bij bot
    [relay] doorgestuurd naar WhatsApp van een medewerker
    [closed] gesloten
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Webchat
    [sms] SMS
   *[other] { $channel }
}
role = { $role ->
    [agent] medewerker
    [supervisor] supervisor
    [admin] beheerder
   *[other] { $role }
}
presence = { $presence ->
    [available] beschikbaar
    [away] afwezig
    [offline] offline
   *[other] { $presence }
}
kind = { $kind ->
    [text] tekst
    [image] afbeelding
    [audio] audio
    [video] video
    [document] document
    [sticker] sticker
    [location] locatie
    [contacts] contactkaart
    [interactive] knoppen
    [template] sjabloon
   *[other] { $kind }
}
message-placeholder = [{ kind }]
message-kind = ({ kind })
duration-seconds = { $n } s
duration-minutes = { $n } min
duration-hours = { $n } u
duration-hours-minutes = { $h } u { $m } min
duration-minutes-seconds = { $m } min { $s } s
size-bytes = { $n } B
size-kb = { $n } kB
size-mb = { $n } MB
any = alle
never = nooit

## login, title

page-title = deflect inbox
tab-title = { $n ->
    [0] deflect inbox
   *[other] ({ $n }) deflect inbox
}
login-heading = deflect inbox
login-username = Gebruikersnaam
login-password = Wachtwoord
login-submit = Inloggen

## header

nav-label = Weergaven
nav-mine = Mijn gesprekken
nav-queue = Wachtrij
nav-waiting = Wacht op klant
    .title = Omgeleide oproepen en overdrachten waarvan de klant nog niet heeft geschreven
nav-all = Alle gesprekken
nav-board = Overzicht
nav-settings = Instellingen
nav-reports = Rapportages
nav-count-title = { $conversations ->
    [one] { $conversations } gesprek
   *[other] { $conversations } gesprekken
}, { $unread ->
    [one] { $unread } ongelezen bericht
   *[other] { $unread } ongelezen berichten
}
notify-enable = Meldingen inschakelen
    .title = Toon een bureaubladmelding bij aanbiedingen en berichten van klanten terwijl de inbox op de achtergrond staat
sound-on = Geluid aan
sound-off = Geluid uit
auto-accept = Automatisch aannemen
    .title = Neem elk aangeboden gesprek direct aan, zonder op Aannemen te klikken
auto-accept-on = Aangeboden gesprekken worden direct aangenomen
auto-accept-off = Aangeboden gesprekken wachten tot je ze aanneemt
presence-label = Status
presence-available = Beschikbaar
presence-away = Afwezig
presence-offline = Offline
presence-changed = Status: { presence }
me = { $name } ({ role })
language-label = Taal
language-auto = Taal van de browser
logout = Uitloggen

## side

side-label = Gesprekken
offers-label = Aan jou aangeboden
search-label = Gesprekken zoeken
search-input =
    .placeholder = Zoeken: naam, nummer, referentie, tekst
search-submit = Zoeken
search-clear = Wissen
sort-label = Sorteren
sort-newest = Nieuwste
sort-waiting = Langst wachtend
filter-from = Van
filter-to = Tot en met
filter-status = Status
filter-channel = Kanaal
filter-queue = Wachtrij
filter-agent = Medewerker
filter-label = Label
filter-search = Zoeken
    .placeholder = naam, nummer, referentie, tekst
filter-submit = Filteren
filter-export = CSV exporteren
list-label = Gesprekken
list-more = Meer laden
list-count = { $n ->
    [one] { $n } gesprek
   *[other] { $n } gesprekken
}
list-count-more = { $n }+ gesprekken
list-results = Resultaten voor “{ $q }”: { $n ->
    [one] { $n } gesprek
   *[other] { $n } gesprekken
}
list-results-more = Resultaten voor “{ $q }”: { $n }+ gesprekken

## row

visitor = Bezoeker { $reference }
channel-where = { channel } · { $where }
origin-call = Vanuit een oproep
origin-api = Vanuit de API
origin-relay = Doorgestuurd naar de WhatsApp van een medewerker
row-waiting-for-you = wacht op jou
    .title = De klant wacht op je antwoord
row-wait =
    .title = Zo lang wacht de klant al op een antwoord
row-unread =
    .title = { $n } ongelezen
preview-pending = Wacht op het eerste bericht van de klant
preview-you = Jij: { $text }
preview-agent = { $name }: { $text }
preview-bot = Bot: { $text }
preview-automatic = Automatisch: { $text }

## events

offer-announce = Nieuw gesprek aangeboden: { $name }
offer-notify = Nieuw gesprek aangeboden
customer-waiting-announce = Een klant wacht op je antwoord: { $name }
customer-typing = De klant is aan het typen…

## offer card

offer-label = Aanbod: { $name }
offer-title = Nieuw gesprek: { $name }
offer-countdown =
    .title = Resterende tijd om het aanbod te beantwoorden
offer-accept = Aannemen (A)
offer-reject = Weigeren (X)
offer-accepted = Aangenomen
offer-rejected = Geweigerd

## conversation

messages-label = Berichten
back-label = Terug naar de gesprekken
empty = Kies een gesprek.
note-toggle = Interne notitie
canned-label = Standaardantwoord
buttons-add = Knoppen toevoegen
template-add = Sjabloon…
attach = Bestanden bijvoegen
    .title = Bestanden bijvoegen (of sleep ze naar het gesprek)
chosen-label = Te verzenden bestanden
reply-label = Antwoord
send = Verzenden
board-label = Overzicht
settings-label = Instellingen
reports-label = Rapportages

## composer extras

template-legend = Een goedgekeurd WhatsApp-sjabloon versturen
template-search = Zoeken op naam
template-choice = Sjabloon
template-preview-label = Voorbeeld: precies de tekst die de klant ontvangt
template-send = Sjabloon versturen
template-cancel = Annuleren
buttons-legend = Knoppen onder het bericht (het antwoord is de tekst van de knop)
buttons-kind = Soort
buttons-kind-button = Antwoordknoppen (maximaal 3)
buttons-kind-list = Lijst (maximaal 10 regels)
buttons-kind-link = Linkknop
buttons-kind-call = WhatsApp-belknop
buttons-kind-permission = Toestemming vragen om te bellen
button-title = Titel van knop { $n }
list-button-text = Tekst van de lijstknop
    .placeholder = Kies
list-section = Titel van de sectie
    .placeholder = Opties
list-rows = Lijstregels, één per regel: titel, of titel | omschrijving
link-text = Tekst van de linkknop
link-url = Link-URL
call-text = Tekst van de belknop
    .placeholder = Nu bellen
buttons-remove = Knoppen verwijderen

## message

note-by = Notitie van { $name }
relay-from = { $name } via eigen WhatsApp (doorsturen)
relay-to = Naar de WhatsApp van de medewerker (doorsturen)
sender-customer = Klant
sender-bot = Bot
sender-automation = Automatisering
sender-agent = Medewerker
reply-chosen =
    .title = Antwoord-id: { $id }
reply-chosen-sr = (antwoord-id { $id })
offered-buttons = Antwoordknoppen
offered-list-section = Lijstsectie { $title }
offered-link = Linkknop
offered-call = WhatsApp-belknop
offered-permission = Toestemming om te bellen
permission-accepted = Bellen toegestaan
permission-accepted-until = Bellen toegestaan tot { $until }
permission-rejected = Bellen geweigerd

## delivery

delivery = { $status ->
    [queued] in wachtrij
    [sent] verzonden
    [delivered] afgeleverd
    [read] gelezen
    [failed] mislukt
   *[other] { $status }
}
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = Niet afgeleverd{ delivery-code }: het laatste bericht van de klant is meer dan 24 uur oud, dus WhatsApp accepteert nu alleen een goedgekeurd sjabloon.
failed-window-action = Een sjabloon versturen
failed-unreachable = Niet afgeleverd{ delivery-code }: dit nummer is niet bereikbaar via WhatsApp.
failed-reason = Niet afgeleverd{ delivery-code }: { $reason }.
failed-refused = Niet afgeleverd{ delivery-code }: de provider heeft het geweigerd.
queued-rate-limited = WhatsApp vroeg om langzamer te verzenden{ delivery-code }; het wordt zo opnieuw verstuurd.
queued-retry-reason = Nog niet verzonden{ delivery-code }: { $reason }; wordt opnieuw geprobeerd.
queued-retry = Nog niet verzonden{ delivery-code }: de provider heeft het niet aangenomen; wordt opnieuw geprobeerd.

## files

file-downloading = Bezig met downloaden ({ kind })…
file-downloading-retry = Bezig met downloaden ({ kind })… (nieuwe poging: { $error })
file-failed = Downloaden mislukt ({ kind }): { $error }
file-failed-unknown = Downloaden mislukt ({ kind }): onbekende reden
file-open =
    .title = Op ware grootte openen
file-sticker = Sticker
file-picture = Afbeelding
map-link = Op de kaart tonen
file-remove = { $name } verwijderen
    .title = Verwijderen

## call

call-heading = Omgeleide oproep
call-caller = Beller
call-dialled = Gekozen nummer
call-callback = Terugbelnummer
call-wait = Wachttijd
call-input = Invoer
call-input-method = { $method ->
    [caller_number] het nummer waarmee gebeld werd
    [dtmf] toetsenbord
    [speech] spraak
   *[other] { $method }
}
call-time = Oproep
call-transcript = Transcriptie
call-path = Route
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] open
    [closed] gesloten
    [confirmed] bevestigd
    [reenter] opnieuw ingevoerd
    [failed] mislukt
   *[other] { $exit }
}
call-exit-retry = herhaling { $n }
call-exit-skipped = { $n ->
    [one] { $n } stap weggelaten
   *[other] { $n } stappen weggelaten
}

## head

form-phone = { $phone } (ingevuld in een formulier: { $form })
csat = Beoordeeld met { $score }/5
    .title = Klanttevredenheid, 1 (slecht) tot 5 (goed)
csat-comment = Beoordeeld met { $score }/5: “{ $comment }”
action-accept = Aannemen
action-reject = Weigeren
action-claim = Oppakken
action-call = Bellen
action-take-over = Overnemen van bot
taken-over = Overgenomen van de bot
transfer-to = Doorverbinden naar
transfer-agents = Medewerkers
transfer-queues = Wachtrijen
transfer-agent = { $name } ({ presence })
transfer-available = Beschikbare medewerkers
transfer-away = Afwezige en offline medewerkers
transfer-option = { $name } · { presence }
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
transfer-note = Notitie voor de volgende medewerker (optioneel)
    .placeholder = Notitie (optioneel)
transfer-confirm = { $back ->
    [you] { $name } is { presence }: het aanbod wacht op deze medewerker en komt bij jou terug als het niet op tijd wordt geaccepteerd. Toch doorverbinden?
   *[other] { $name } is { presence }: het aanbod wacht op deze medewerker en komt terug bij de medewerker van het gesprek als het niet op tijd wordt geaccepteerd. Toch doorverbinden?
}
action-transfer = Doorverbinden
transferred = Doorverbonden
disposition = Afhandelcode
disposition-choose = Afhandelcode…
disposition-none = Geen afhandelcode
action-close = Afsluiten
closed-announce = Afgesloten
action-transcript = Gespreksverslag
window-note = Het laatste bericht van de klant is meer dan 24 uur oud (of er is er nog geen), dus WhatsApp accepteert alleen een goedgekeurd sjabloon, geen vrije tekst. Verstuur een sjabloon; zodra de klant antwoordt, kun je weer vrij schrijven.
window-choose-template = Kies een sjabloon
window-recontact = Hercontact-sjabloon versturen
template-sent = Sjabloon verstuurd
unreachable-note = Dit nummer is niet bereikbaar via WhatsApp (de provider kan er niet naar afleveren), dus berichten kunnen niet worden verstuurd; interne notities wel. Neem op een andere manier contact op met de klant.

## templates

templates-loading = Sjablonen laden…
templates-stale = Het laatste ophalen bij WhatsApp is mislukt ({ $error }); dit is de lijst van { $time }.
templates-stale-never = Het laatste ophalen bij WhatsApp is mislukt ({ $error }); er is nog nooit een lijst opgehaald.
templates-count = { $n ->
    [one] { $n } sjabloon.
   *[other] { $n } sjablonen.
}
templates-none = Geen goedgekeurd sjabloon gevonden (de lijst van het account komt van WhatsApp; een supervisor kan hem vernieuwen).
template-header = Koptekst { $placeholder }
template-header-media = URL van de koptekst-{ $format } (https)
template-parameter = Parameter { $placeholder }
template-button-url = URL-variabele van knop “{ $text }”
template-choose-first = Kies eerst een sjabloon.

## composer errors

note-no-buttons = Een interne notitie kan geen knoppen hebben: verwijder ze of zet Interne notitie uit.
note-no-files = Een interne notitie kan geen bestanden bevatten: verwijder ze of zet Interne notitie uit.
buttons-no-files = Een bericht met knoppen kan geen bestanden bevatten: verstuur eerst de bestanden, of verwijder de knoppen.

## board

board-queues = Wachtrijen
board-queue = Wachtrij
board-waiting = Wachtend
board-oldest = Langste wachttijd
board-offered = Aangeboden
board-with-agents = Bij medewerkers
board-awaiting-reply = Wacht op antwoord
board-agents = Medewerkers
board-agent = Medewerker
board-role = Rol
board-presence = Status
board-load = Belasting
board-agent-queues = Wachtrijen
board-updated = Bijgewerkt { $time }

## admin

admin-canned = Standaardantwoorden
admin-title = Titel
admin-account = Account
admin-text = Tekst
admin-canned-text = Tekst ({ $placeholders })
admin-all = alle
admin-delete = Verwijderen
admin-add = Toevoegen
admin-agents = Medewerkers
admin-username = Gebruikersnaam
admin-name = Naam
admin-role = Rol
admin-queues = Wachtrijen
admin-accounts = Accounts
admin-whatsapp-accounts = WhatsApp-accounts
admin-role-of = Rol van { $username }
admin-queues-of = Wachtrijen van { $username }
admin-accounts-of = Accounts van { $username }
admin-save-queues = Wachtrijen en accounts opslaan
admin-no-account = Geen account: ziet geen WhatsApp-gesprekken
admin-enable = Inschakelen
admin-disable = Uitschakelen
admin-password = Wachtwoord (8+)
admin-add-agent = Medewerker toevoegen
admin-tick-account = Vink minstens één WhatsApp-account aan: een medewerker zonder account ziet geen gesprekken.
admin-tokens = API-tokens
admin-acts-as = Handelt als
admin-created = Aangemaakt
admin-last-used = Laatst gebruikt
admin-revoked = ingetrokken
admin-revoke = Intrekken
admin-create-token = Token aanmaken
admin-new-token = Nieuw token (wordt één keer getoond; stuur het mee als Authorization: Bearer …): { $secret }
admin-reset-password = Wachtwoord opnieuw instellen
admin-set-password = Wachtwoord instellen
admin-new-password = Nieuw wachtwoord voor { $username }
admin-password-changed = Wachtwoord van { $username } gewijzigd

## lists

admin-every-account = elk account
admin-source = Bron
admin-source-config = configuratie ({ $key })
admin-source-here = hier toegevoegd
admin-whitelist = Toegestane nummers
admin-whitelist-help = Nummers die een gesprek mogen beginnen door te schrijven. Een account zonder vermelding (hier of voor elk account) accepteert iedereen; de eerste vermelding beperkt het tot de genoemde nummers.
admin-whitelist-empty = Geen vermeldingen: elk nummer mag schrijven.
admin-pattern = Nummer of prefix
    .placeholder = +31612345678 of +3120*
admin-delete-pattern = { $pattern } verwijderen voor { $scope }
admin-whitelist-add = Toevoegen aan toegestane nummers
admin-faq = Veelgestelde vragen
admin-faq-help = Vragen die de FAQ-bot beantwoordt (bot = "faq"); een bericht van een klant dat goed genoeg bij een vraag past, krijgt het antwoord.
admin-faq-empty = Nog geen vragen.
admin-question = Vraag
admin-answer = Antwoord
admin-faq-answer = Antwoord ({ $placeholders })
admin-language = Taal
admin-faq-add = Vraag toevoegen
admin-faq-save = Vraag opslaan
admin-faq-cancel = Bewerken annuleren
admin-edit = Bewerken
admin-edit-canned = Standaardantwoord bewerken: { $title }
admin-edit-question = Bewerken: { $question }
admin-delete-question = Verwijderen: { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automatiseringen, widgetteksten en wachtrijen
settings-help = Wijzigingen gelden meteen, zonder herstart. Sleutels die het configuratiebestand instelt, wijzig je daar.
settings-change = Wijzigen
settings-texts-in = Teksten in
settings-site-language = de eigen taal van de site
settings-what = Wat je wijzigt
settings-scope = { $kind ->
    [inbox] Inbox (elk gesprek)
    [account] WhatsApp-account { $name }
    [site] Widgetsite { $name }
    [flow] IVR-flow { $name }
    [queue] Wachtrij { $name }
   *[other] { $kind } { $name }
}
settings-of = Instellingen van { settings-scope }
settings-saved = Opgeslagen: { settings-scope }
settings-last-changed = Laatst gewijzigd { $time }
settings-source-file = ingesteld in het configuratiebestand ({ $key })
settings-source-here = hier gewijzigd
settings-source-default = standaard
settings-reset = Terugzetten
settings-reset-label = { $label } terugzetten
settings-save = Opslaan
settings-reset-all = Alles terugzetten naar de configuratie
setting-welcome-message = Welkomstbericht
setting-whitelist-reply = Antwoord aan nummers die niet zijn toegestaan
setting-closed-message = Bericht buiten openingstijden
setting-queue-message = Bericht met de plaats in de wachtrij ({ $placeholders })
setting-reminder-after = Medewerker herinneren na (0s: uit)
setting-reminder-message = Herinnering aan de klant
setting-reoffer-after = Aan een andere medewerker aanbieden na (0s: uit)
setting-inactivity-message = Bericht wanneer een inactieve chat wordt gesloten
setting-csat = Na het sluiten vragen hoe het ging
setting-csat-question = Enquêtevraag
setting-csat-follow-up = Reactie na de score
setting-title = Titel van de widget
setting-greeting = Begroeting
setting-site-closed-message = Bericht bij gesloten
setting-escalation-timeout = WhatsApp aanbieden na
setting-ask-name = Naar de naam vragen
setting-ask-phone = Naar het telefoonnummer vragen
setting-offer-timeout = Aanbieden aan een medewerker gedurende
setting-wait-timeout = Terugvaloptie na wachten
setting-fallback = Terugvaloptie
setting-fallback-queue = Terugvalwachtrij
setting-auto-reply = Tekst van het automatische antwoord
setting-disposition-required = Afhandelcode verplicht bij sluiten
setting-dispositions = Afhandelcodes (gescheiden door komma's)
setting-sla-warning = Wachttijd als laat getoond na
setting-sla-breach = Wachttijd als te laat getoond na
setting-choice = { $value ->
    [required] verplicht
    [optional] optioneel
    [off] uit
    [wait] blijven wachten
    [queue] naar een andere wachtrij
    [auto_reply] automatisch antwoord
    [close] sluiten
   *[other] { $value }
}
setting-none = geen
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Gebeurtenissen worden als ondertekende JSON (X-Deflect-Signature) met POST naar deze endpoints gestuurd; bij een fout met toenemende tussenpozen opnieuw geprobeerd. Endpoints uit het configuratiebestand wijzig je daar.
webhooks-none = Geen endpoints: er worden geen gebeurtenissen verstuurd.
webhooks-all-events = alle gebeurtenissen
webhooks-source-config = configuratiebestand ({ $key })
webhooks-source-here = hier toegevoegd
webhooks-col-name = Naam
webhooks-col-url = URL
webhooks-col-events = Gebeurtenissen
webhooks-col-enabled = Ingeschakeld
webhooks-col-source = Bron
webhooks-enabled = { $enabled ->
    [yes] ja
   *[other] nee
}
webhooks-events = Gebeurtenissen (niets aangevinkt: alle)
webhooks-name = Naam (a-z, 0-9, - en _)
webhooks-url = URL
webhooks-secret = Ondertekeningsgeheim (16+ tekens)
webhooks-secret-kept = ingesteld; laat leeg om het te behouden
webhooks-attempts = Pogingen
webhooks-timeout = Time-out (seconden)
webhooks-add = Endpoint toevoegen
webhooks-save = { $name } opslaan
webhooks-cancel = Bewerken annuleren
webhooks-edit = Bewerken
webhooks-enable = Inschakelen
webhooks-disable = Uitschakelen
webhooks-delete = Verwijderen
webhooks-edit-label = Webhook { $name } bewerken
webhooks-enable-label = Webhook { $name } inschakelen
webhooks-disable-label = Webhook { $name } uitschakelen
webhooks-delete-label = Webhook { $name } verwijderen (leveringen die er nog op wachten, vervallen)

## keys

keys-next = Volgend gesprek
keys-previous = Vorig gesprek
keys-accept = Aanbod aannemen
keys-reject = Aanbod weigeren
keys-close = Gesprek afsluiten
keys-transfer = Doorverbinden: kies naar wie
keys-note = Interne notitie aan of uit
keys-reply = Antwoord schrijven
keys-search = Gesprekken zoeken
keys-help = Deze sneltoetsen tonen
keys-title = Sneltoetsen
keys-key = Toets
keys-does = Functie
keys-hint = Houd in een tekstveld Alt ingedrukt met de toets. Typ in het antwoordveld / en een paar letters om een standaardantwoord in te voegen; Ctrl+Enter verstuurt.
keys-close-help = Sluiten
note-on = Interne notitie
note-off = Bericht aan de klant
disposition-first = Kies een afhandelcode en sluit dan af
canned-suggest = Standaardantwoorden

## inbox-reports.js: the reports view (supervisors)

reports-heading = Rapportages
reports-period = Periode
reports-today = Vandaag
reports-week = Afgelopen 7 dagen
reports-custom = Aangepast
reports-from = Van
reports-to = Tot
reports-queues = Wachtrijen
reports-queue = Wachtrij
reports-agents = Medewerkers (telt mee voor de medewerker die het gesprek had toen het werd gesloten)
reports-agent = Medewerker
reports-in = Binnengekomen
reports-handled = Afgehandeld
reports-closed = Gesloten
reports-abandoned = Afgehaakt
reports-first-response = Eerste reactie p50
reports-handle-time = Afhandeltijd p50
reports-wait = Wachttijd p50
reports-p90 = p90
reports-csat = Klanttevredenheid
reports-total = Totaal
reports-deflections = Omgeleide oproepen per flow en invoermethode
reports-flow = Flow
reports-input = Invoer
reports-deflections-count = Omgeleid
reports-answered = Beantwoord
reports-input-method = { $method ->
    [dtmf] toetsen
    [speech] spraak
    [caller_number] nummer van de beller
   *[other] { $method }
}
reports-volume = Binnengekomen gesprekken
    .alt = Binnengekomen gesprekken in de periode, per uur of per dag
reports-wait-chart = Wachttijd tot een medewerker het gesprek nam
    .alt = Gesprekken die in de periode zijn gesloten, naar hoe lang ze op een medewerker wachtten
reports-note = Percentielen worden afgelezen uit tijdvakken: op 5 s nauwkeurig onder een minuut, op 30 s onder 10 minuten, op 5 minuten onder een uur. Oproepen per uitkomst staan nog niet in de rapportage.

## inbox-contact.js: the contact panel beside a conversation

contact-label = Contact
contact-show = Contact ‹
    .title = Contactpaneel tonen
contact-hide = Contact ›
    .title = Contactpaneel verbergen
contact-failed = Het contact kon niet worden geladen: { $error }
contact-nothing = Niets bekend.
contact-profile = Profiel
contact-name = Naam
contact-phone = { $whatsapp ->
    [yes] Telefoon (WhatsApp)
   *[other] Telefoon
}
contact-form-phone = Ingevuld in een formulier
contact-language = Taal
contact-whatsapp = WhatsApp
contact-visitor = Widgetbezoeker
contact-visitor-on = op { $site } sinds { $time }
contact-since = Bekend sinds
contact-labels = Labels
contact-new-label = Nieuw label
    .placeholder = label toevoegen
contact-add = Toevoegen
contact-label-added = Label { $label } toegevoegd
contact-label-removed = Label { $label } verwijderd
contact-remove-label = Label { $label } verwijderen
    .title = Verwijderen
contact-no-labels = Geen labels.
contact-previous = Andere gesprekken
contact-previous-none = Geen die je kunt zien.
contact-attributes = Kenmerken
contact-site = Widgetsite
contact-page = Pagina
contact-came-from = Kwam van
contact-call = Oproep
contact-not-call = Geen omgeleide oproep.
contact-flow = Flow
contact-input = Invoer
contact-input-method = { $method ->
    [dtmf] ingetoetst
    [speech] ingesproken
    [caller_number] het nummer waarmee gebeld werd
   *[other] { $method }
}
contact-transcript = { $method ->
    [speech] Woorden
   *[other] Cijfers
}
contact-ivr-time = Tijd in het IVR
contact-caller = Beller
contact-dialled = Gekozen nummer
contact-called = Gebeld op

phone-label = Telefoon
phone-open = Gesprek openen
phone-answer = Opnemen
phone-decline = Weigeren
phone-mute = Dempen
phone-hold = In de wacht
phone-hangup = Ophangen
phone-keypad = Toetsen
phone-from = { $caller } · wachtrij { $queue } · { $channel }
phone-unknown-caller = Onbekende beller
phone-ringing = Inkomend gesprek
phone-connecting = Verbinden…
phone-on = In gesprek { $time }
phone-held = In de wacht { $time }
phone-connected = Gesprek verbonden
phone-ended = Gesprek beëindigd
phone-failed = Het gesprek kon niet worden opgenomen: { $error }
phone-to = Naar { $caller } · { $channel }
phone-calling = Bellen…
phone-call-failed = Het gesprek kon niet worden opgezet: { $error }
phone-ended-why = Gesprek beëindigd: { $reason }
