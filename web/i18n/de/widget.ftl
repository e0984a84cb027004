# deflect chat widget — Deutsch. Ids and variables as in en/widget.ftl.

## shared

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
message-placeholder = ({ kind })
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB

## button

button-label = Chatten Sie mit uns

## window

chat-title = Chat
chat-close = Chat schließen
messages-label = Nachrichten
message-input = Ihre Nachricht
    .placeholder = Nachricht schreiben…
send = Senden
attach = Bild oder Dokument senden
whatsapp-continue = Auf WhatsApp fortsetzen

## form

form-name = Ihr Name
form-name-optional = Ihr Name (optional)
form-phone = Telefonnummer mit Ländervorwahl
form-phone-optional = Telefonnummer mit Ländervorwahl (optional)
form-start = Chat starten
form-fill-in = { $field ->
    [name] Bitte geben Sie Ihren Namen ein.
    [phone] Bitte geben Sie Ihre Telefonnummer ein.
   *[other] Bitte füllen Sie { $field } aus.
}

## bubbles

sr-you = Sie:
sr-agent = Mitarbeiter:
sr-bot = Assistent:

## status

reconnecting = Verbindung wird wiederhergestellt…
agent-joined = Ein Mitarbeiter ist dem Chat beigetreten.
waiting-for-agent = Warten auf einen Mitarbeiter…
continued-on-whatsapp = Diese Unterhaltung wird auf WhatsApp fortgesetzt.
continued-on-whatsapp-status = Auf WhatsApp fortgesetzt — Sie können dieses Fenster schließen.
agent-typing = Der Mitarbeiter schreibt…
answers-label = Antworten

## end

ended = Die Unterhaltung ist beendet.
new-chat = Neuen Chat starten
rate-label = Bewerten Sie diese Unterhaltung
thanks = Vielen Dank!

## whatsapp

whatsapp-chosen = Setzen Sie diesen Chat auf WhatsApp fort:
whatsapp-no-agent = Gerade ist kein Mitarbeiter frei. Setzen Sie diesen Chat auf WhatsApp fort — Ihre Nachrichten kommen mit:
whatsapp-qr = QR-Code, der WhatsApp mit Ihrer Referenz { $code } öffnet
whatsapp-open = WhatsApp öffnen
whatsapp-reference = Referenz { $code }
whatsapp-announce-closed = Wir haben gerade geschlossen. Sie können auf WhatsApp mit der Referenz { $code } fortfahren.
whatsapp-announce-no-agent = Noch kein Mitarbeiter frei. Sie können auf WhatsApp mit der Referenz { $code } fortfahren.

## call

call-start = Rufen Sie uns an
call-label = Anruf
call-keypad = Tastenfeld
call-mute = Stumm
call-hangup = Auflegen
call-connecting = Verbindung wird aufgebaut…
call-on = Im Gespräch { $time }
call-connected = Der Anruf ist verbunden.
call-ended = Anruf beendet
call-failed = Der Anruf konnte nicht hergestellt werden: { $error }

## files

file-download-failed = Die Datei konnte nicht heruntergeladen werden: { $error }
file-not-loaded = ({ $name } konnte nicht geladen werden)
file-sticker = Sticker
chat-unavailable = Der Chat ist nicht verfügbar: { $error }

## continue

continue-title = Setzen Sie Ihr Gespräch fort
continue-intro = Wir konnten Sie auf WhatsApp nicht erreichen. Ihre Referenz ist { $reference }.
continue-here = Hier fortsetzen
continue-whatsapp = Auf WhatsApp fortsetzen
continue-expired = Dieser Link ist abgelaufen oder ungültig. Antworten Sie auf unsere Nachricht oder rufen Sie uns erneut an.
continue-ended = Dieses Gespräch ist beendet.
continue-unavailable = Diese Seite ist nicht verfügbar; antworten Sie auf unsere Nachricht oder rufen Sie uns erneut an.
continue-later = Diese Seite ist gerade nicht verfügbar; versuchen Sie es in einer Minute erneut.
