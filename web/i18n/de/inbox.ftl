# deflect inbox — Deutsch. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] wartet auf Kunden
    [queued] in Warteschlange
    [offered] angeboten
    [assigned] zugewiesen
    [bot] beim Bot
    [relay] an WhatsApp eines Mitarbeiters weitergeleitet
    [closed] geschlossen
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Webchat
    [sms] SMS
   *[other] { $channel }
}
role = { $role ->
    [agent] Agent
    [supervisor] Supervisor
    [admin] Admin
   *[other] { $role }
}
presence = { $presence ->
    [available] verfügbar
    [away] abwesend
    [offline] offline
   *[other] { $presence }
}
kind = { $kind ->
    [text] Text
    [image] Bild
    [audio] Audio
    [video] Video
    [document] Dokument
    [sticker] Sticker
    [location] Standort
    [contacts] Kontaktkarte
    [interactive] Schaltflächen
    [template] Vorlage
   *[other] { $kind }
}
message-placeholder = [{ kind }]
message-kind = ({ kind })
duration-seconds = { $n } s
duration-minutes = { $n } min
duration-hours = { $n } h
duration-hours-minutes = { $h } h { $m } min
duration-minutes-seconds = { $m } min { $s } s
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB
any = alle
never = nie

## login, title

page-title = deflect Posteingang
tab-title = { $n ->
    [0] deflect Posteingang
   *[other] ({ $n }) deflect Posteingang
}
login-heading = deflect Posteingang
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden

## header

nav-label = Ansichten
nav-mine = Meine Unterhaltungen
nav-queue = Warteschlange
nav-waiting = Warten auf Kunden
    .title = Umgeleitete Anrufe und Übergaben, deren Kunde noch nicht geschrieben hat
nav-all = Alle Unterhaltungen
nav-board = Übersicht
nav-settings = Einstellungen
nav-reports = Berichte
nav-count-title = { $conversations ->
    [one] { $conversations } Unterhaltung
   *[other] { $conversations } Unterhaltungen
}, { $unread ->
    [one] { $unread } ungelesene Nachricht
   *[other] { $unread } ungelesene Nachrichten
}
notify-enable = Benachrichtigungen aktivieren
    .title = Desktop-Benachrichtigungen für Angebote und Kundennachrichten anzeigen, während der Posteingang im Hintergrund ist
sound-on = Ton an
sound-off = Ton aus
auto-accept = Automatisch annehmen
    .title = Jedes Angebot sofort übernehmen, ohne auf Annehmen zu klicken
auto-accept-on = Angebote werden sofort angenommen
auto-accept-off = Angebote warten, bis Sie sie annehmen
presence-label = Status
presence-available = Verfügbar
presence-away = Abwesend
presence-offline = Offline
presence-changed = Status: { presence }
me = { $name } ({ role })
language-label = Sprache
language-auto = Sprache des Browsers
logout = Abmelden

## side

side-label = Unterhaltungen
offers-label = Angebote an Sie
search-label = Unterhaltungen durchsuchen
search-input =
    .placeholder = Suche: Name, Nummer, Referenz, Text
search-submit = Suchen
search-clear = Zurücksetzen
sort-label = Sortieren
sort-newest = Neueste
sort-waiting = Längste Wartezeit
filter-from = Von
filter-to = Bis
filter-status = Status
filter-channel = Kanal
filter-queue = Warteschlange
filter-agent = Agent
filter-label = Label
filter-search = Suche
    .placeholder = Name, Nummer, Referenz, Text
filter-submit = Filtern
filter-export = CSV exportieren
list-label = Unterhaltungen
list-more = Mehr laden
list-count = { $n ->
    [one] { $n } Unterhaltung
   *[other] { $n } Unterhaltungen
}
list-count-more = { $n }+ Unterhaltungen
list-results = Ergebnisse für „{ $q }“: { $n ->
    [one] { $n } Unterhaltung
   *[other] { $n } Unterhaltungen
}
list-results-more = Ergebnisse für „{ $q }“: { $n }+ Unterhaltungen

## row

visitor = Besucher { $reference }
channel-where = { channel } · { $where }
origin-call = Aus einem Anruf
origin-api = Über die API
origin-relay = An das WhatsApp eines Mitarbeiters weitergeleitet
row-waiting-for-you = wartet auf Sie
    .title = Der Kunde wartet auf Ihre Antwort
row-wait =
    .title = So lange wartet der Kunde schon auf eine Antwort
row-unread =
    .title = { $n } ungelesen
preview-pending = Wartet auf die erste Nachricht des Kunden
preview-you = Sie: { $text }
preview-agent = { $name }: { $text }
preview-bot = Bot: { $text }
preview-automatic = Automatisch: { $text }

## events

offer-announce = Neue Unterhaltung angeboten: { $name }
offer-notify = Neue Unterhaltung angeboten
customer-waiting-announce = Ein Kunde wartet auf Ihre Antwort: { $name }
customer-typing = Der Kunde schreibt…

## offer card

offer-label = Angebot: { $name }
offer-title = Neue Unterhaltung: { $name }
offer-countdown =
    .title = Verbleibende Zeit, um das Angebot anzunehmen
offer-accept = Annehmen (A)
offer-reject = Ablehnen (X)
offer-accepted = Angenommen
offer-rejected = Abgelehnt

## conversation

messages-label = Nachrichten
back-label = Zurück zu den Unterhaltungen
empty = Wählen Sie eine Unterhaltung.
note-toggle = Interne Notiz
canned-label = Textbaustein
buttons-add = Schaltflächen hinzufügen
template-add = Vorlage…
attach = Dateien anhängen
    .title = Dateien anhängen (oder auf die Unterhaltung ziehen)
chosen-label = Zu sendende Dateien
reply-label = Antwort
send = Senden
board-label = Übersicht
settings-label = Einstellungen
reports-label = Berichte

## composer extras

template-legend = Eine genehmigte WhatsApp-Vorlage senden
template-search = Nach Name suchen
template-choice = Vorlage
template-preview-label = Vorschau: genau der Text, den der Kunde erhält
template-send = Vorlage senden
template-cancel = Abbrechen
buttons-legend = Schaltflächen unter der Nachricht (die Antwort ist ihr Text)
buttons-kind = Art
buttons-kind-button = Antwortschaltflächen (bis zu 3)
buttons-kind-list = Liste (bis zu 10 Zeilen)
buttons-kind-link = Link-Schaltfläche
buttons-kind-call = WhatsApp-Anruf-Schaltfläche
buttons-kind-permission = Um Erlaubnis für Anrufe bitten
button-title = Titel von Schaltfläche { $n }
list-button-text = Text der Listenschaltfläche
    .placeholder = Auswählen
list-section = Abschnittstitel
    .placeholder = Optionen
list-rows = Listenzeilen, eine pro Zeile: Titel, oder Titel | Beschreibung
link-text = Text der Link-Schaltfläche
link-url = Link-URL
call-text = Text der Anruf-Schaltfläche
    .placeholder = Jetzt anrufen
buttons-remove = Schaltflächen entfernen

## message

note-by = Notiz von { $name }
relay-from = { $name } über das eigene WhatsApp (Weiterleitung)
relay-to = An das WhatsApp des Mitarbeiters (Weiterleitung)
sender-customer = Kunde
sender-bot = Bot
sender-automation = Automatisierung
sender-agent = Agent
reply-chosen =
    .title = Antwort-ID: { $id }
reply-chosen-sr = (Antwort-ID { $id })
offered-buttons = Antwortschaltflächen
offered-list-section = Listenabschnitt { $title }
offered-link = Link-Schaltfläche
offered-call = WhatsApp-Anruf-Schaltfläche
offered-permission = Erlaubnis für Anrufe
permission-accepted = Anrufe erlaubt
permission-accepted-until = Anrufe erlaubt bis { $until }
permission-rejected = Anrufe abgelehnt

## delivery

delivery = { $status ->
    [queued] in Warteschlange
    [sent] gesendet
    [delivered] zugestellt
    [read] gelesen
    [failed] fehlgeschlagen
   *[other] { $status }
}
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = Nicht zugestellt{ delivery-code }: Die letzte Nachricht des Kunden ist älter als 24 Stunden, daher nimmt WhatsApp jetzt nur eine genehmigte Vorlage an.
failed-window-action = Vorlage senden
failed-unreachable = Nicht zugestellt{ delivery-code }: Diese Nummer ist über WhatsApp nicht erreichbar.
failed-reason = Nicht zugestellt{ delivery-code }: { $reason }.
failed-refused = Nicht zugestellt{ delivery-code }: Der Anbieter hat sie abgelehnt.
queued-rate-limited = WhatsApp bittet um langsameres Senden{ delivery-code }; gleich wird erneut gesendet.
queued-retry-reason = Noch nicht gesendet{ delivery-code }: { $reason }; neuer Versuch folgt.
queued-retry = Noch nicht gesendet{ delivery-code }: Der Anbieter hat sie nicht angenommen; neuer Versuch folgt.

## files

file-downloading = Wird heruntergeladen ({ kind })…
file-downloading-retry = Wird heruntergeladen ({ kind })… (neuer Versuch: { $error })
file-failed = Herunterladen fehlgeschlagen ({ kind }): { $error }
file-failed-unknown = Herunterladen fehlgeschlagen ({ kind }): unbekannter Grund
file-open =
    .title = In voller Größe öffnen
file-sticker = Sticker
file-picture = Bild
map-link = Auf der Karte zeigen
file-remove = { $name } entfernen
    .title = Entfernen

## call

call-heading = Umgeleiteter Anruf
call-caller = Anrufer
call-dialled = Gewählte Nummer
call-callback = Rückrufnummer
call-wait = Wartezeit
call-input = Eingabe
call-input-method = { $method ->
    [caller_number] die Nummer des Anrufs
    [dtmf] Tastatur
    [speech] Sprache
   *[other] { $method }
}
call-time = Anruf
call-transcript = Transkript
call-path = Pfad
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] geöffnet
    [closed] geschlossen
    [confirmed] bestätigt
    [reenter] neu eingegeben
    [failed] fehlgeschlagen
   *[other] { $exit }
}
call-exit-retry = Wiederholung { $n }
call-exit-skipped = { $n ->
    [one] { $n } Schritt ausgelassen
   *[other] { $n } Schritte ausgelassen
}

## head

form-phone = { $phone } (in einem Formular angegeben: { $form })
csat = Bewertet mit { $score }/5
    .title = Kundenzufriedenheit, 1 (schlecht) bis 5 (gut)
csat-comment = Bewertet mit { $score }/5: „{ $comment }“
action-accept = Annehmen
action-reject = Ablehnen
action-claim = Übernehmen
action-call = Anrufen
action-take-over = Vom Bot übernehmen
taken-over = Vom Bot übernommen
transfer-to = Weiterleiten an
transfer-agents = Agenten
transfer-queues = Warteschlangen
transfer-agent = { $name } ({ presence })
transfer-available = Verfügbare Agenten
transfer-away = Abwesende und offline Agenten
transfer-option = { $name } · { presence }
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
transfer-note = Notiz für den nächsten Agenten (optional)
    .placeholder = Notiz (optional)
transfer-confirm = { $back ->
    [you] { $name } ist { presence }: Das Angebot wartet auf diese Person und geht an Sie zurück, wenn es nicht rechtzeitig angenommen wird. Trotzdem weiterleiten?
   *[other] { $name } ist { presence }: Das Angebot wartet auf diese Person und geht an den bisherigen Agenten zurück, wenn es nicht rechtzeitig angenommen wird. Trotzdem weiterleiten?
}
action-transfer = Weiterleiten
transferred = Weitergeleitet
disposition = Abschlussgrund
disposition-choose = Abschlussgrund…
disposition-none = Kein Abschlussgrund
action-close = Abschließen
closed-announce = Abgeschlossen
action-transcript = Verlauf
window-note = Die letzte Nachricht des Kunden ist älter als 24 Stunden (oder es gibt noch keine), daher nimmt WhatsApp nur eine genehmigte Vorlage an, keinen freien Text. Senden Sie eine Vorlage; sobald der Kunde antwortet, können Sie wieder frei schreiben.
window-choose-template = Vorlage auswählen
window-recontact = Vorlage zur erneuten Kontaktaufnahme senden
template-sent = Vorlage gesendet
unreachable-note = Diese Nummer ist über WhatsApp nicht erreichbar (der Anbieter kann nicht zustellen), daher können keine Nachrichten gesendet werden; interne Notizen schon. Erreichen Sie den Kunden auf anderem Weg.

## templates

templates-loading = Vorlagen werden geladen…
templates-stale = Der letzte Abruf bei WhatsApp ist fehlgeschlagen ({ $error }); dies ist die Liste vom { $time }.
templates-stale-never = Der letzte Abruf bei WhatsApp ist fehlgeschlagen ({ $error }); bisher wurde keine Liste abgerufen.
templates-count = { $n ->
    [one] { $n } Vorlage.
   *[other] { $n } Vorlagen.
}
templates-none = Keine genehmigte Vorlage passt (die Liste des Kontos kommt von WhatsApp; ein Supervisor kann sie aktualisieren).
template-header = Kopfzeile { $placeholder }
template-header-media = URL für Kopfzeilen-{ $format } (https)
template-parameter = Parameter { $placeholder }
template-button-url = URL-Variable der Schaltfläche „{ $text }“
template-choose-first = Wählen Sie zuerst eine Vorlage.

## composer errors

note-no-buttons = Eine interne Notiz kann keine Schaltflächen haben: Entfernen Sie sie oder deaktivieren Sie Interne Notiz.
note-no-files = Eine interne Notiz kann keine Dateien enthalten: Entfernen Sie sie oder deaktivieren Sie Interne Notiz.
buttons-no-files = Eine Nachricht mit Schaltflächen kann keine Dateien enthalten: Senden Sie zuerst die Dateien oder entfernen Sie die Schaltflächen.

## board

board-queues = Warteschlangen
board-queue = Warteschlange
board-waiting = Wartend
board-oldest = Längste Wartezeit
board-offered = Angeboten
board-with-agents = Bei Agenten
board-awaiting-reply = Wartet auf Antwort
board-agents = Agenten
board-agent = Agent
board-role = Rolle
board-presence = Status
board-load = Auslastung
board-agent-queues = Warteschlangen
board-updated = Aktualisiert { $time }

## admin

admin-canned = Textbausteine
admin-title = Titel
admin-account = Konto
admin-text = Text
admin-canned-text = Text ({ $placeholders })
admin-all = alle
admin-delete = Löschen
admin-add = Hinzufügen
admin-agents = Agenten
admin-username = Benutzername
admin-name = Name
admin-role = Rolle
admin-queues = Warteschlangen
admin-accounts = Konten
admin-whatsapp-accounts = WhatsApp-Konten
admin-role-of = Rolle von { $username }
admin-queues-of = Warteschlangen von { $username }
admin-accounts-of = Konten von { $username }
admin-save-queues = Warteschlangen und Konten speichern
admin-no-account = Kein Konto: sieht keine WhatsApp-Unterhaltungen
admin-enable = Aktivieren
admin-disable = Deaktivieren
admin-password = Passwort (mind. 8 Zeichen)
admin-add-agent = Agent hinzufügen
admin-tick-account = Wählen Sie mindestens ein WhatsApp-Konto: Ein Agent ohne Konto sieht keine Unterhaltungen.
admin-tokens = API-Tokens
admin-acts-as = Handelt als
admin-created = Erstellt
admin-last-used = Zuletzt verwendet
admin-revoked = widerrufen
admin-revoke = Widerrufen
admin-create-token = Token erstellen
admin-new-token = Neues Token (wird nur einmal angezeigt; senden Sie es als Authorization: Bearer …): { $secret }
admin-reset-password = Passwort zurücksetzen
admin-set-password = Passwort festlegen
admin-new-password = Neues Passwort für { $username }
admin-password-changed = Passwort von { $username } geändert

## lists

admin-every-account = jedes Konto
admin-source = Quelle
admin-source-config = Konfiguration ({ $key })
admin-source-here = hier hinzugefügt
admin-whitelist = Erlaubte Nummern
admin-whitelist-help = Nummern, die durch Schreiben eine Unterhaltung beginnen dürfen. Ein Konto ohne Eintrag (hier oder für jedes Konto) nimmt alle an; sein erster Eintrag beschränkt es auf die aufgeführten Nummern.
admin-whitelist-empty = Keine Einträge: Jede Nummer darf schreiben.
admin-pattern = Nummer oder Präfix
    .placeholder = +491701234567 oder +4930*
admin-delete-pattern = { $pattern } für { $scope } löschen
admin-whitelist-add = Zu erlaubten Nummern hinzufügen
admin-faq = FAQ
admin-faq-help = Fragen, die der FAQ-Bot beantwortet (bot = "faq"); eine Kundennachricht, die gut genug zu einer Frage passt, erhält deren Antwort.
admin-faq-empty = Noch keine Fragen.
admin-question = Frage
admin-answer = Antwort
admin-faq-answer = Antwort ({ $placeholders })
admin-language = Sprache
admin-faq-add = Frage hinzufügen
admin-faq-save = Frage speichern
admin-faq-cancel = Bearbeiten abbrechen
admin-edit = Bearbeiten
admin-edit-canned = Textbaustein bearbeiten: { $title }
admin-edit-question = Bearbeiten: { $question }
admin-delete-question = Löschen: { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automatisierungen, Widget-Texte und Warteschlangen
settings-help = Änderungen gelten sofort, ohne Neustart. Schlüssel, die die Konfigurationsdatei festlegt, werden dort geändert.
settings-change = Ändern
settings-texts-in = Texte in
settings-site-language = der eigenen Sprache der Website
settings-what = Zu ändernder Bereich
settings-scope = { $kind ->
    [inbox] Posteingang (jede Unterhaltung)
    [account] WhatsApp-Konto { $name }
    [site] Widget-Website { $name }
    [flow] IVR-Ablauf { $name }
    [queue] Warteschlange { $name }
   *[other] { $kind } { $name }
}
settings-of = Einstellungen für { settings-scope }
settings-saved = Gespeichert: { settings-scope }
settings-last-changed = Zuletzt geändert { $time }
settings-source-file = in der Konfigurationsdatei festgelegt ({ $key })
settings-source-here = hier geändert
settings-source-default = Standard
settings-reset = Zurücksetzen
settings-reset-label = { $label } zurücksetzen
settings-save = Speichern
settings-reset-all = Alles auf die Konfiguration zurücksetzen
setting-welcome-message = Begrüßungsnachricht
setting-whitelist-reply = Antwort an Nummern, die nicht erlaubt sind
setting-closed-message = Nachricht außerhalb der Öffnungszeiten
setting-queue-message = Nachricht zur Position in der Warteschlange ({ $placeholders })
setting-reminder-after = Agenten erinnern nach (0s: aus)
setting-reminder-message = Erinnerung an den Kunden
setting-reoffer-after = Einem anderen Agenten anbieten nach (0s: aus)
setting-inactivity-message = Nachricht, wenn ein inaktiver Chat geschlossen wird
setting-csat = Nach dem Schließen nach der Zufriedenheit fragen
setting-csat-question = Umfragefrage
setting-csat-follow-up = Antwort nach der Bewertung
setting-title = Titel des Widgets
setting-greeting = Begrüßung
setting-site-closed-message = Nachricht bei geschlossen
setting-escalation-timeout = WhatsApp anbieten nach
setting-ask-name = Nach dem Namen fragen
setting-ask-phone = Nach der Telefonnummer fragen
setting-offer-timeout = Einem Agenten anbieten für
setting-wait-timeout = Ausweichlösung nach Wartezeit
setting-fallback = Ausweichlösung
setting-fallback-queue = Ausweich-Warteschlange
setting-auto-reply = Text der automatischen Antwort
setting-disposition-required = Abschlussgrund beim Schließen erforderlich
setting-dispositions = Abschlussgründe (durch Kommas getrennt)
setting-sla-warning = Wartezeit als verspätet angezeigt nach
setting-sla-breach = Wartezeit als überfällig angezeigt nach
setting-choice = { $value ->
    [required] erforderlich
    [optional] optional
    [off] aus
    [wait] weiter warten
    [queue] andere Warteschlange
    [auto_reply] automatische Antwort
    [close] schließen
   *[other] { $value }
}
setting-none = keine
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Ereignisse werden als signiertes JSON (X-Deflect-Signature) per POST an diese Endpunkte gesendet; bei Fehlern mit wachsendem Abstand wiederholt. Endpunkte aus der Konfigurationsdatei werden dort geändert.
webhooks-none = Keine Endpunkte: Es werden keine Ereignisse gesendet.
webhooks-all-events = alle Ereignisse
webhooks-source-config = Konfigurationsdatei ({ $key })
webhooks-source-here = hier hinzugefügt
webhooks-col-name = Name
webhooks-col-url = URL
webhooks-col-events = Ereignisse
webhooks-col-enabled = Aktiv
webhooks-col-source = Quelle
webhooks-enabled = { $enabled ->
    [yes] ja
   *[other] nein
}
webhooks-events = Ereignisse (nichts angekreuzt: alle)
webhooks-name = Name (a-z, 0-9, - und _)
webhooks-url = URL
webhooks-secret = Signaturschlüssel (mindestens 16 Zeichen)
webhooks-secret-kept = festgelegt; leer lassen, um ihn zu behalten
webhooks-attempts = Versuche
webhooks-timeout = Zeitlimit (Sekunden)
webhooks-add = Endpunkt hinzufügen
webhooks-save = { $name } speichern
webhooks-cancel = Bearbeiten abbrechen
webhooks-edit = Bearbeiten
webhooks-enable = Aktivieren
webhooks-disable = Deaktivieren
webhooks-delete = Löschen
webhooks-edit-label = Webhook { $name } bearbeiten
webhooks-enable-label = Webhook { $name } aktivieren
webhooks-disable-label = Webhook { $name } deaktivieren
webhooks-delete-label = Webhook { $name } löschen (noch wartende Zustellungen entfallen)

## keys

keys-next = Nächste Unterhaltung
keys-previous = Vorherige Unterhaltung
keys-accept = Angebot annehmen
keys-reject = Angebot ablehnen
keys-close = Unterhaltung abschließen
keys-transfer = Weiterleiten: Ziel wählen
keys-note = Interne Notiz ein oder aus
keys-reply = Antwort schreiben
keys-search = Unterhaltungen durchsuchen
keys-help = Diese Tastenkürzel anzeigen
keys-title = Tastenkürzel
keys-key = Taste
keys-does = Funktion
keys-hint = Halten Sie in einem Textfeld Alt zusammen mit der Taste. Tippen Sie im Antwortfeld / und einige Buchstaben, um einen Textbaustein einzufügen; Strg+Enter sendet.
keys-close-help = Schließen
note-on = Interne Notiz
note-off = Nachricht an den Kunden
disposition-first = Wählen Sie einen Abschlussgrund, dann Abschließen
canned-suggest = Textbausteine

## inbox-reports.js: the reports view (supervisors)

reports-heading = Berichte
reports-period = Zeitraum
reports-today = Heute
reports-week = Letzte 7 Tage
reports-custom = Benutzerdefiniert
reports-from = Von
reports-to = Bis
reports-queues = Warteschlangen
reports-queue = Warteschlange
reports-agents = Agenten (gezählt für den Agenten, der die Unterhaltung beim Schließen hatte)
reports-agent = Agent
reports-in = Eingegangen
reports-handled = Bearbeitet
reports-closed = Geschlossen
reports-abandoned = Abgebrochen
reports-first-response = Erste Antwort p50
reports-handle-time = Bearbeitungszeit p50
reports-wait = Wartezeit p50
reports-p90 = p90
reports-csat = Kundenzufriedenheit
reports-total = Gesamt
reports-deflections = Umgeleitete Anrufe nach Ablauf und Eingabeart
reports-flow = Ablauf
reports-input = Eingabe
reports-deflections-count = Umgeleitet
reports-answered = Beantwortet
reports-input-method = { $method ->
    [dtmf] Tastatur
    [speech] Sprache
    [caller_number] Nummer des Anrufers
   *[other] { $method }
}
reports-volume = Eingegangene Unterhaltungen
    .alt = Eingegangene Unterhaltungen im Zeitraum, pro Stunde oder Tag
reports-wait-chart = Wartezeit, bis ein Agent übernahm
    .alt = Im Zeitraum geschlossene Unterhaltungen nach ihrer Wartezeit auf einen Agenten
reports-note = Perzentile werden aus Zeitintervallen gelesen: auf 5 s genau unter einer Minute, auf 30 s unter 10 Minuten, auf 5 Minuten unter einer Stunde. Anrufe nach Ergebnis werden noch nicht ausgewertet.

## inbox-contact.js: the contact panel beside a conversation

contact-label = Kontakt
contact-show = Kontakt ‹
    .title = Kontaktbereich einblenden
contact-hide = Kontakt ›
    .title = Kontaktbereich ausblenden
contact-failed = Der Kontakt konnte nicht geladen werden: { $error }
contact-nothing = Nichts bekannt.
contact-profile = Profil
contact-name = Name
contact-phone = { $whatsapp ->
    [yes] Telefon (WhatsApp)
   *[other] Telefon
}
contact-form-phone = In einem Formular angegeben
contact-language = Sprache
contact-whatsapp = WhatsApp
contact-visitor = Widget-Besucher
contact-visitor-on = auf { $site } seit { $time }
contact-since = Bekannt seit
contact-labels = Labels
contact-new-label = Neues Label
    .placeholder = Label hinzufügen
contact-add = Hinzufügen
contact-label-added = Label { $label } hinzugefügt
contact-label-removed = Label { $label } entfernt
contact-remove-label = Label { $label } entfernen
    .title = Entfernen
contact-no-labels = Keine Labels.
contact-previous = Andere Unterhaltungen
contact-previous-none = Keine, die Sie sehen können.
contact-attributes = Attribute
contact-site = Widget-Website
contact-page = Seite
contact-came-from = Kam von
contact-call = Anruf
contact-not-call = Kein umgeleiteter Anruf.
contact-flow = Ablauf
contact-input = Eingabe
contact-input-method = { $method ->
    [dtmf] über die Tastatur eingegeben
    [speech] gesprochen
    [caller_number] die Nummer, von der angerufen wurde
   *[other] { $method }
}
contact-transcript = { $method ->
    [speech] Worte
   *[other] Ziffern
}
contact-ivr-time = Zeit im IVR
contact-caller = Anrufer
contact-dialled = Gewählte Nummer
contact-called = Anrufzeit

phone-label = Telefon
phone-open = Unterhaltung öffnen
phone-answer = Annehmen
phone-decline = Ablehnen
phone-mute = Stumm
phone-hold = Halten
phone-hangup = Auflegen
phone-keypad = Tastatur
phone-from = { $caller } · Warteschlange { $queue } · { $channel }
phone-unknown-caller = Unbekannter Anrufer
phone-ringing = Eingehender Anruf
phone-connecting = Verbinden…
phone-on = Im Gespräch { $time }
phone-held = Gehalten { $time }
phone-connected = Anruf verbunden
phone-ended = Anruf beendet
phone-failed = Der Anruf konnte nicht angenommen werden: { $error }
phone-to = An { $caller } · { $channel }
phone-calling = Wird angerufen…
phone-call-failed = Der Anruf konnte nicht aufgebaut werden: { $error }
phone-ended-why = Anruf beendet: { $reason }
