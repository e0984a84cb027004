# deflect inbox — Nederlands. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] wacht op klant
    [queued] in wachtrij
    [offered] aangeboden
    [assigned] toegewezen
    [bot] bij bot
    [closed] gesloten
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Webchat
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
duration-seconds = { $n } s
duration-minutes = { $n } min
duration-hours = { $n } u
duration-hours-minutes = { $h } u { $m } min
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
row-waiting-for-you = wacht op jou
    .title = De klant wacht op je antwoord
row-wait =
    .title = Zo lang wacht de klant al op een antwoord
row-unread =
    .title = { $n } ongelezen
preview-pending = Wacht op het eerste bericht van de klant
preview-you = Jij: { $text }
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
button-title = Titel van knop { $n }
list-button-text = Tekst van de lijstknop
    .placeholder = Kies
list-section = Titel van de sectie
    .placeholder = Opties
list-rows = Lijstregels, één per regel: titel, of titel | omschrijving
link-text = Tekst van de linkknop
link-url = Link-URL
buttons-remove = Knoppen verwijderen

## message

note-by = Notitie van { $name }
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

## head

form-phone = { $phone } (ingevuld in een formulier: { $form })
csat = Beoordeeld met { $score }/5
    .title = Klanttevredenheid, 1 (slecht) tot 5 (goed)
csat-comment = Beoordeeld met { $score }/5: “{ $comment }”
action-accept = Aannemen
action-reject = Weigeren
action-claim = Oppakken
action-take-over = Overnemen van bot
taken-over = Overgenomen van de bot
transfer-to = Doorverbinden naar
transfer-agents = Medewerkers
transfer-queues = Wachtrijen
transfer-agent = { $name } ({ presence })
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
admin-edit-question = Bewerken: { $question }
admin-delete-question = Verwijderen: { $question }

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
