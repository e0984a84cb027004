# deflect chat widget — Nederlands. Ids and variables as in en/widget.ftl.

## shared

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
message-placeholder = ({ kind })
size-bytes = { $n } B
size-kb = { $n } kB
size-mb = { $n } MB

## button

button-label = Chat met ons

## window

chat-title = Chat
chat-close = Chat sluiten
messages-label = Berichten
message-input = Je bericht
    .placeholder = Typ een bericht…
send = Versturen
attach = Een afbeelding of document versturen
whatsapp-continue = Verder op WhatsApp

## form

form-name = Je naam
form-name-optional = Je naam (optioneel)
form-phone = Telefoonnummer, met landcode
form-phone-optional = Telefoonnummer, met landcode (optioneel)
form-start = Chat starten
form-fill-in = { $field ->
    [name] Vul je naam in.
    [phone] Vul je telefoonnummer in.
   *[other] Vul { $field } in.
}

## bubbles

sr-you = Jij:
sr-agent = Medewerker:
sr-bot = Assistent:

## status

reconnecting = Opnieuw verbinden…
agent-joined = Een medewerker neemt deel aan de chat.
waiting-for-agent = Wachten op een medewerker…
continued-on-whatsapp = Dit gesprek gaat verder op WhatsApp.
continued-on-whatsapp-status = Verder op WhatsApp — je kunt dit venster sluiten.
agent-typing = De medewerker is aan het typen…
answers-label = Antwoorden

## end

ended = Het gesprek is beëindigd.
new-chat = Nieuwe chat starten
rate-label = Beoordeel dit gesprek
thanks = Bedankt!

## whatsapp

whatsapp-chosen = Zet deze chat voort op WhatsApp:
whatsapp-no-agent = Er is nu geen medewerker vrij. Zet deze chat voort op WhatsApp — je berichten gaan mee:
whatsapp-qr = QR-code die WhatsApp opent met je referentie { $code }
whatsapp-open = WhatsApp openen
whatsapp-reference = Referentie { $code }
whatsapp-announce-closed = We zijn nu gesloten. Je kunt verder op WhatsApp met referentie { $code }.
whatsapp-announce-no-agent = Nog geen medewerker beschikbaar. Je kunt verder op WhatsApp met referentie { $code }.

## call

call-start = Bel ons
call-label = Gesprek
call-keypad = Toetsen
call-mute = Dempen
call-hangup = Ophangen
call-connecting = Bellen…
call-on = In gesprek { $time }
call-connected = Het gesprek is verbonden.
call-ended = Gesprek beëindigd
call-failed = Het gesprek kon niet worden opgezet: { $error }

## files

file-download-failed = Het bestand kon niet worden gedownload: { $error }
file-not-loaded = ({ $name } kon niet worden geladen)
file-sticker = Sticker
chat-unavailable = De chat is niet beschikbaar: { $error }

## continue

continue-title = Zet uw gesprek voort
continue-intro = We konden u niet bereiken op WhatsApp. Uw referentie is { $reference }.
continue-here = Hier verdergaan
continue-whatsapp = Verder op WhatsApp
continue-expired = Deze link is verlopen of ongeldig. Beantwoord ons bericht of bel ons opnieuw.
continue-ended = Dit gesprek is beëindigd.
continue-unavailable = Deze pagina is niet beschikbaar; beantwoord ons bericht of bel ons opnieuw.
continue-later = Deze pagina is nu niet beschikbaar; probeer het over een minuut opnieuw.
