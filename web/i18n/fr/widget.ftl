# deflect chat widget — Français. Ids and variables as in en/widget.ftl.

## shared

kind = { $kind ->
    [text] texte
    [image] image
    [audio] audio
    [video] vidéo
    [document] document
    [sticker] autocollant
    [location] position
    [contacts] fiche contact
    [interactive] boutons
    [template] modèle
   *[other] { $kind }
}
message-placeholder = ({ kind })
size-bytes = { $n } o
size-kb = { $n } Ko
size-mb = { $n } Mo

## button

button-label = Discutez avec nous

## window

chat-title = Chat
chat-close = Fermer le chat
messages-label = Messages
message-input = Votre message
    .placeholder = Écrivez un message…
send = Envoyer
attach = Envoyer une image ou un document
whatsapp-continue = Continuer sur WhatsApp

## form

form-name = Votre nom
form-name-optional = Votre nom (facultatif)
form-phone = Numéro de téléphone, avec l'indicatif du pays
form-phone-optional = Numéro de téléphone, avec l'indicatif du pays (facultatif)
form-start = Démarrer le chat
form-fill-in = { $field ->
    [name] Veuillez indiquer votre nom.
    [phone] Veuillez indiquer votre numéro de téléphone.
   *[other] Veuillez remplir { $field }.
}

## bubbles

sr-you = Vous :
sr-agent = Conseiller :
sr-bot = Assistant :

## status

reconnecting = Reconnexion…
agent-joined = Un conseiller a rejoint le chat.
waiting-for-agent = En attente d'un conseiller…
continued-on-whatsapp = Cette conversation se poursuit sur WhatsApp.
continued-on-whatsapp-status = Poursuivie sur WhatsApp — vous pouvez fermer cette fenêtre.
agent-typing = Le conseiller est en train d'écrire…
answers-label = Réponses

## end

ended = La conversation est terminée.
new-chat = Démarrer un nouveau chat
rate-label = Évaluez cette conversation
thanks = Merci !

## whatsapp

whatsapp-chosen = Poursuivez ce chat sur WhatsApp :
whatsapp-no-agent = Aucun conseiller n'est disponible pour le moment. Poursuivez ce chat sur WhatsApp — vos messages vous suivent :
whatsapp-qr = QR code qui ouvre WhatsApp avec votre référence { $code }
whatsapp-open = Ouvrir WhatsApp
whatsapp-reference = Référence { $code }
whatsapp-announce-closed = Nous sommes fermés pour le moment. Vous pouvez continuer sur WhatsApp avec la référence { $code }.
whatsapp-announce-no-agent = Pas encore de conseiller. Vous pouvez continuer sur WhatsApp avec la référence { $code }.

## call

call-start = Appelez-nous
call-label = Appel
call-keypad = Clavier
call-mute = Couper le micro
call-hangup = Raccrocher
call-connecting = Appel en cours…
call-on = En communication { $time }
call-connected = L’appel est connecté.
call-ended = Appel terminé
call-failed = L’appel n’a pas pu être passé : { $error }

## files

file-download-failed = Le fichier n'a pas pu être téléchargé : { $error }
file-not-loaded = ({ $name } n'a pas pu être chargé)
file-sticker = Autocollant
chat-unavailable = Le chat n'est pas disponible : { $error }

## continue

continue-title = Poursuivez votre conversation
continue-intro = Nous n'avons pas pu vous joindre sur WhatsApp. Votre référence est { $reference }.
continue-here = Continuer ici
continue-whatsapp = Continuer sur WhatsApp
continue-expired = Ce lien a expiré ou n'est pas valide. Répondez à notre message ou rappelez-nous.
continue-ended = Cette conversation est terminée.
continue-unavailable = Cette page n'est pas disponible ; répondez à notre message ou rappelez-nous.
continue-later = Cette page n'est pas disponible pour le moment ; réessayez dans une minute.
