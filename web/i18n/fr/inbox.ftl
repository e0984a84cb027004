# deflect inbox — Français. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] en attente du client
    [queued] en file
    [offered] proposée
    [assigned] attribuée
    [bot] avec le bot
    [relay] relayée sur le WhatsApp d'un agent
    [closed] clôturée
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Chat web
    [sms] SMS
   *[other] { $channel }
}
role = { $role ->
    [agent] agent
    [supervisor] superviseur
    [admin] administrateur
   *[other] { $role }
}
presence = { $presence ->
    [available] disponible
    [away] absent
    [offline] hors ligne
   *[other] { $presence }
}
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
message-placeholder = [{ kind }]
message-kind = ({ kind })
duration-seconds = { $n } s
duration-minutes = { $n } min
duration-hours = { $n } h
duration-hours-minutes = { $h } h { $m } min
duration-minutes-seconds = { $m } min { $s } s
size-bytes = { $n } o
size-kb = { $n } Ko
size-mb = { $n } Mo
any = tous
never = jamais

## login, title

page-title = Boîte de réception deflect
tab-title = { $n ->
    [0] Boîte de réception deflect
   *[other] ({ $n }) Boîte de réception deflect
}
login-heading = Boîte de réception deflect
login-username = Nom d'utilisateur
login-password = Mot de passe
login-submit = Se connecter

## header

nav-label = Vues
nav-mine = Mes conversations
nav-queue = File d'attente
nav-waiting = En attente du client
    .title = Appels déviés et transferts dont le client n'a pas encore écrit
nav-all = Toutes les conversations
nav-board = Tableau de bord
nav-settings = Paramètres
nav-reports = Rapports
nav-count-title = { $conversations ->
    [one] { $conversations } conversation
   *[other] { $conversations } conversations
}, { $unread ->
    [one] { $unread } message non lu
   *[other] { $unread } messages non lus
}
notify-enable = Activer les notifications
    .title = Afficher une notification de bureau pour les propositions et les messages des clients lorsque la boîte de réception est en arrière-plan
sound-on = Son activé
sound-off = Son coupé
auto-accept = Acceptation automatique
    .title = Accepter chaque proposition immédiatement, sans cliquer sur Accepter
auto-accept-on = Les propositions sont acceptées immédiatement
auto-accept-off = Les propositions attendent que vous les acceptiez
presence-label = Statut
presence-available = Disponible
presence-away = Absent
presence-offline = Hors ligne
presence-changed = Statut : { presence }
me = { $name } ({ role })
language-label = Langue
language-auto = Langue du navigateur
logout = Se déconnecter

## side

side-label = Conversations
offers-label = Propositions pour vous
search-label = Rechercher des conversations
search-input =
    .placeholder = Rechercher : nom, numéro, référence, texte
search-submit = Rechercher
search-clear = Effacer
sort-label = Trier
sort-newest = Plus récentes
sort-waiting = Attente la plus longue
filter-from = Du
filter-to = Au
filter-status = Statut
filter-channel = Canal
filter-queue = File
filter-agent = Agent
filter-label = Étiquette
filter-search = Recherche
    .placeholder = nom, numéro, référence, texte
filter-submit = Filtrer
filter-export = Exporter en CSV
list-label = Conversations
list-more = Charger plus
list-count = { $n ->
    [one] { $n } conversation
   *[other] { $n } conversations
}
list-count-more = { $n }+ conversations
list-results = Résultats pour « { $q } » : { $n ->
    [one] { $n } conversation
   *[other] { $n } conversations
}
list-results-more = Résultats pour « { $q } » : { $n }+ conversations

## row

visitor = Visiteur { $reference }
channel-where = { channel } · { $where }
origin-call = Depuis un appel
origin-api = Depuis l'API
origin-relay = Relayée sur le WhatsApp d'un agent
row-waiting-for-you = vous attend
    .title = Le client attend votre réponse
row-wait =
    .title = Durée pendant laquelle le client attend une réponse
row-unread =
    .title = { $n ->
        [one] { $n } non lu
       *[other] { $n } non lus
    }
preview-pending = En attente du premier message du client
preview-you = Vous : { $text }
preview-agent = { $name } : { $text }
preview-bot = Bot : { $text }
preview-automatic = Automatique : { $text }

## events

offer-announce = Nouvelle conversation proposée : { $name }
offer-notify = Nouvelle conversation proposée
customer-waiting-announce = Un client attend votre réponse : { $name }
customer-typing = Le client est en train d'écrire…

## offer card

offer-label = Proposition : { $name }
offer-title = Nouvelle conversation : { $name }
offer-countdown =
    .title = Temps restant pour répondre à la proposition
offer-accept = Accepter (A)
offer-reject = Refuser (X)
offer-accepted = Acceptée
offer-rejected = Refusée

## conversation

messages-label = Messages
back-label = Retour aux conversations
empty = Choisissez une conversation.
note-toggle = Note interne
canned-label = Réponse prédéfinie
buttons-add = Ajouter des boutons
template-add = Modèle…
attach = Joindre des fichiers
    .title = Joindre des fichiers (ou les déposer sur la conversation)
chosen-label = Fichiers à envoyer
reply-label = Réponse
send = Envoyer
board-label = Tableau de bord
settings-label = Paramètres
reports-label = Rapports

## composer extras

template-legend = Envoyer un modèle WhatsApp approuvé
template-search = Rechercher par nom
template-choice = Modèle
template-preview-label = Aperçu : le texte exact que reçoit le client
template-send = Envoyer le modèle
template-cancel = Annuler
buttons-legend = Boutons sous le message (la réponse est leur texte)
buttons-kind = Type
buttons-kind-button = Boutons de réponse (jusqu'à 3)
buttons-kind-list = Liste (jusqu'à 10 lignes)
buttons-kind-link = Bouton lien
buttons-kind-call = Bouton d’appel WhatsApp
buttons-kind-permission = Demander l’autorisation d’appeler
button-title = Titre du bouton { $n }
list-button-text = Texte du bouton de liste
    .placeholder = Choisir
list-section = Titre de la section
    .placeholder = Options
list-rows = Lignes de la liste, une par ligne : titre, ou titre | description
link-text = Texte du bouton lien
link-url = URL du lien
call-text = Texte du bouton d’appel
    .placeholder = Appeler
buttons-remove = Retirer les boutons

## message

note-by = Note de { $name }
relay-from = { $name } depuis son WhatsApp (relais)
relay-to = Vers le WhatsApp de l'agent (relais)
sender-customer = Client
sender-bot = Bot
sender-automation = Automatisation
sender-agent = Agent
reply-chosen =
    .title = Id de réponse : { $id }
reply-chosen-sr = (id de réponse { $id })
offered-buttons = Boutons de réponse
offered-list-section = Section de liste { $title }
offered-link = Bouton lien
offered-call = Bouton d’appel WhatsApp
offered-permission = Autorisation d’appeler
permission-accepted = Appels autorisés
permission-accepted-until = Appels autorisés jusqu’au { $until }
permission-rejected = Appels refusés

## delivery

delivery = { $status ->
    [queued] en file
    [sent] envoyé
    [delivered] distribué
    [read] lu
    [failed] échec
   *[other] { $status }
}
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = Non distribué{ delivery-code } : le dernier message du client date de plus de 24 heures, WhatsApp n'accepte donc plus qu'un modèle approuvé.
failed-window-action = Envoyer un modèle
failed-unreachable = Non distribué{ delivery-code } : ce numéro n'est pas joignable sur WhatsApp.
failed-reason = Non distribué{ delivery-code } : { $reason }.
failed-refused = Non distribué{ delivery-code } : le fournisseur l'a refusé.
queued-rate-limited = WhatsApp a demandé de ralentir{ delivery-code } ; nouvel envoi sous peu.
queued-retry-reason = Pas encore envoyé{ delivery-code } : { $reason } ; nouvelle tentative.
queued-retry = Pas encore envoyé{ delivery-code } : le fournisseur ne l'a pas accepté ; nouvelle tentative.

## files

file-downloading = Téléchargement ({ kind })…
file-downloading-retry = Téléchargement ({ kind })… (nouvelle tentative : { $error })
file-failed = Échec du téléchargement ({ kind }) : { $error }
file-failed-unknown = Échec du téléchargement ({ kind }) : raison inconnue
file-open =
    .title = Ouvrir en taille réelle
file-sticker = Autocollant
file-picture = Image
map-link = Voir sur la carte
file-remove = Retirer { $name }
    .title = Retirer

## call

call-heading = Appel dévié
call-caller = Appelant
call-dialled = Numéro composé
call-callback = Numéro de rappel
call-wait = Attente
call-input = Saisie
call-input-method = { $method ->
    [caller_number] le numéro de l'appel
    [dtmf] clavier
    [speech] voix
   *[other] { $method }
}
call-time = Appel
call-transcript = Transcription
call-path = Parcours
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] ouvert
    [closed] fermé
    [confirmed] confirmé
    [reenter] saisi à nouveau
    [failed] échec
   *[other] { $exit }
}
call-exit-retry = nouvel essai { $n }
call-exit-skipped = { $n ->
    [one] { $n } étape omise
   *[other] { $n } étapes omises
}

## head

form-phone = { $phone } (saisi dans un formulaire : { $form })
csat = Noté { $score }/5
    .title = Satisfaction client, de 1 (mauvaise) à 5 (bonne)
csat-comment = Noté { $score }/5 : « { $comment } »
action-accept = Accepter
action-reject = Refuser
action-claim = Prendre en charge
action-call = Appeler
action-take-over = Reprendre la main sur le bot
taken-over = Reprise en main du bot
transfer-to = Transférer à
transfer-agents = Agents
transfer-queues = Files
transfer-agent = { $name } ({ presence })
transfer-available = Agents disponibles
transfer-away = Agents absents ou hors ligne
transfer-option = { $name } · { presence }
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
transfer-note = Note pour l'agent suivant (facultatif)
    .placeholder = Note (facultatif)
transfer-confirm = { $back ->
    [you] { $name } : { presence }. L'offre l'attend et vous revient si elle n'est pas acceptée à temps. Transférer quand même ?
   *[other] { $name } : { presence }. L'offre l'attend et revient à l'agent de la conversation si elle n'est pas acceptée à temps. Transférer quand même ?
}
action-transfer = Transférer
transferred = Transférée
disposition = Qualification
disposition-choose = Qualification…
disposition-none = Sans qualification
action-close = Clôturer
closed-announce = Clôturée
action-transcript = Transcription
window-note = Le dernier message du client date de plus de 24 heures (ou il n'y en a pas encore), WhatsApp n'accepte donc qu'un modèle approuvé, pas de texte libre. Envoyez un modèle ; vous pourrez écrire librement dès que le client répondra.
window-choose-template = Choisir un modèle
window-recontact = Envoyer le modèle de recontact
template-sent = Modèle envoyé
unreachable-note = Ce numéro n'est pas joignable sur WhatsApp (le fournisseur indique ne pas pouvoir le distribuer) : aucun message ne peut être envoyé, mais les notes internes restent possibles. Contactez le client par un autre moyen.

## templates

templates-loading = Chargement des modèles…
templates-stale = La dernière récupération depuis WhatsApp a échoué ({ $error }) ; voici la liste du { $time }.
templates-stale-never = La dernière récupération depuis WhatsApp a échoué ({ $error }) ; aucune liste n'a encore été récupérée.
templates-count = { $n ->
    [one] { $n } modèle.
   *[other] { $n } modèles.
}
templates-none = Aucun modèle approuvé ne correspond (la liste du compte vient de WhatsApp ; un superviseur peut l'actualiser).
template-header = En-tête { $placeholder }
template-header-media = URL de l'en-tête { $format } (https)
template-parameter = Paramètre { $placeholder }
template-button-url = Variable d'URL du bouton « { $text } »
template-choose-first = Choisissez d'abord un modèle.

## composer errors

note-no-buttons = Une note interne ne peut pas avoir de boutons : retirez-les ou décochez Note interne.
note-no-files = Une note interne ne peut pas contenir de fichiers : retirez-les ou décochez Note interne.
buttons-no-files = Un message avec boutons ne peut pas contenir de fichiers : envoyez d'abord les fichiers, ou retirez les boutons.

## board

board-queues = Files d'attente
board-queue = File
board-waiting = En attente
board-oldest = Attente la plus longue
board-offered = Proposées
board-with-agents = Chez les agents
board-awaiting-reply = En attente de réponse
board-agents = Agents
board-agent = Agent
board-role = Rôle
board-presence = Statut
board-load = Charge
board-agent-queues = Files
board-updated = Mis à jour { $time }

## admin

admin-canned = Réponses prédéfinies
admin-title = Titre
admin-account = Compte
admin-text = Texte
admin-canned-text = Texte ({ $placeholders })
admin-all = tous
admin-delete = Supprimer
admin-add = Ajouter
admin-agents = Agents
admin-username = Nom d'utilisateur
admin-name = Nom
admin-role = Rôle
admin-queues = Files
admin-accounts = Comptes
admin-whatsapp-accounts = Comptes WhatsApp
admin-role-of = Rôle de { $username }
admin-queues-of = Files de { $username }
admin-accounts-of = Comptes de { $username }
admin-save-queues = Enregistrer les files et les comptes
admin-no-account = Aucun compte : ne voit aucune conversation WhatsApp
admin-enable = Activer
admin-disable = Désactiver
admin-password = Mot de passe (8 caractères ou plus)
admin-add-agent = Ajouter un agent
admin-tick-account = Cochez au moins un compte WhatsApp : un agent sans compte ne voit aucune conversation.
admin-tokens = Jetons d'API
admin-acts-as = Agit en tant que
admin-created = Créé
admin-last-used = Dernière utilisation
admin-revoked = révoqué
admin-revoke = Révoquer
admin-create-token = Créer un jeton
admin-new-token = Nouveau jeton (affiché une seule fois ; envoyez-le comme Authorization: Bearer …) : { $secret }
admin-reset-password = Réinitialiser le mot de passe
admin-set-password = Définir le mot de passe
admin-new-password = Nouveau mot de passe pour { $username }
admin-password-changed = Mot de passe de { $username } modifié

## lists

admin-every-account = tous les comptes
admin-source = Source
admin-source-config = configuration ({ $key })
admin-source-here = ajouté ici
admin-whitelist = Liste autorisée
admin-whitelist-help = Numéros autorisés à ouvrir une conversation en écrivant. Un compte sans entrée (ici ou pour tous les comptes) accepte tout le monde ; sa première entrée le limite aux numéros listés.
admin-whitelist-empty = Aucune entrée : tout numéro peut écrire.
admin-pattern = Numéro ou préfixe
    .placeholder = +33612345678 ou +331*
admin-delete-pattern = Supprimer { $pattern } pour { $scope }
admin-whitelist-add = Ajouter à la liste autorisée
admin-faq = FAQ
admin-faq-help = Questions auxquelles répond le bot FAQ (bot = "faq") ; un message client suffisamment proche d'une question reçoit sa réponse.
admin-faq-empty = Pas encore de questions.
admin-question = Question
admin-answer = Réponse
admin-faq-answer = Réponse ({ $placeholders })
admin-language = Langue
admin-faq-add = Ajouter la question
admin-faq-save = Enregistrer la question
admin-faq-cancel = Annuler la modification
admin-edit = Modifier
admin-edit-canned = Modifier la réponse prédéfinie : { $title }
admin-edit-question = Modifier : { $question }
admin-delete-question = Supprimer : { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automatisations, textes du widget et files
settings-help = Les modifications s'appliquent aussitôt, sans redémarrage. Les clés définies par le fichier de configuration se modifient là-bas.
settings-change = Modifier
settings-texts-in = Textes en
settings-site-language = la langue du site
settings-what = Élément à modifier
settings-scope = { $kind ->
    [inbox] Boîte de réception (toutes les conversations)
    [account] Compte WhatsApp { $name }
    [site] Site du widget { $name }
    [flow] Parcours SVI { $name }
    [queue] File { $name }
   *[other] { $kind } { $name }
}
settings-of = Paramètres : { settings-scope }
settings-saved = Enregistré : { settings-scope }
settings-last-changed = Dernière modification : { $time }
settings-source-file = défini dans le fichier de configuration ({ $key })
settings-source-here = modifié ici
settings-source-default = par défaut
settings-reset = Réinitialiser
settings-reset-label = Réinitialiser : { $label }
settings-save = Enregistrer
settings-reset-all = Tout réinitialiser selon la configuration
setting-welcome-message = Message de bienvenue
setting-whitelist-reply = Réponse aux numéros absents de la liste autorisée
setting-closed-message = Message en dehors des heures d'ouverture
setting-queue-message = Message de position dans la file ({ $placeholders })
setting-reminder-after = Relancer l'agent après (0s : désactivé)
setting-reminder-message = Rappel au client
setting-reoffer-after = Proposer à un autre agent après (0s : désactivé)
setting-inactivity-message = Message à la fermeture d'un chat inactif
setting-csat = Demander comment cela s'est passé après la fermeture
setting-csat-question = Question de l'enquête
setting-csat-follow-up = Réponse après la note
setting-title = Titre du widget
setting-greeting = Message d'accueil
setting-site-closed-message = Message de fermeture
setting-escalation-timeout = Proposer WhatsApp après
setting-ask-name = Demander le nom
setting-ask-phone = Demander le numéro de téléphone
setting-offer-timeout = Proposer à un agent pendant
setting-wait-timeout = Solution de repli après attente
setting-fallback = Solution de repli
setting-fallback-queue = File de repli
setting-auto-reply = Texte de la réponse automatique
setting-disposition-required = Qualification obligatoire à la fermeture
setting-dispositions = Qualifications (séparées par des virgules)
setting-sla-warning = Attente signalée en retard après
setting-sla-breach = Attente signalée en dépassement après
setting-choice = { $value ->
    [required] obligatoire
    [optional] facultatif
    [off] désactivé
    [wait] continuer d'attendre
    [queue] autre file
    [auto_reply] réponse automatique
    [close] fermer
   *[other] { $value }
}
setting-none = aucune
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Les événements sont envoyés par POST en JSON signé (X-Deflect-Signature) à ces points de terminaison, avec de nouvelles tentatives de plus en plus espacées. Les points de terminaison du fichier de configuration se modifient là-bas.
webhooks-none = Aucun point de terminaison : aucun événement n'est envoyé.
webhooks-all-events = tous les événements
webhooks-source-config = fichier de configuration ({ $key })
webhooks-source-here = ajouté ici
webhooks-col-name = Nom
webhooks-col-url = URL
webhooks-col-events = Événements
webhooks-col-enabled = Actif
webhooks-col-source = Source
webhooks-enabled = { $enabled ->
    [yes] oui
   *[other] non
}
webhooks-events = Événements (aucun coché : tous)
webhooks-name = Nom (a-z, 0-9, - et _)
webhooks-url = URL
webhooks-secret = Secret de signature (16 caractères ou plus)
webhooks-secret-kept = défini ; laissez vide pour le conserver
webhooks-attempts = Tentatives
webhooks-timeout = Délai d'attente (secondes)
webhooks-add = Ajouter le point de terminaison
webhooks-save = Enregistrer { $name }
webhooks-cancel = Annuler la modification
webhooks-edit = Modifier
webhooks-enable = Activer
webhooks-disable = Désactiver
webhooks-delete = Supprimer
webhooks-edit-label = Modifier le webhook { $name }
webhooks-enable-label = Activer le webhook { $name }
webhooks-disable-label = Désactiver le webhook { $name }
webhooks-delete-label = Supprimer le webhook { $name } (les envois qui l'attendent encore sont abandonnés)

## keys

keys-next = Conversation suivante
keys-previous = Conversation précédente
keys-accept = Accepter la proposition
keys-reject = Refuser la proposition
keys-close = Clôturer la conversation
keys-transfer = Transférer : choisir à qui
keys-note = Activer ou désactiver la note interne
keys-reply = Écrire une réponse
keys-search = Rechercher des conversations
keys-help = Afficher ces raccourcis
keys-title = Raccourcis clavier
keys-key = Touche
keys-does = Action
keys-hint = Dans un champ de texte, maintenez Alt avec la touche. Dans la zone de réponse, tapez / et quelques lettres pour insérer une réponse prédéfinie ; Ctrl+Entrée envoie.
keys-close-help = Fermer
note-on = Note interne
note-off = Message au client
disposition-first = Choisissez une qualification, puis Clôturer
canned-suggest = Réponses prédéfinies

## inbox-reports.js: the reports view (supervisors)

reports-heading = Rapports
reports-period = Période
reports-today = Aujourd'hui
reports-week = 7 derniers jours
reports-custom = Personnalisée
reports-from = Du
reports-to = Au
reports-queues = Files
reports-queue = File
reports-agents = Agents (compté pour l'agent qui avait la conversation à sa fermeture)
reports-agent = Agent
reports-in = Entrantes
reports-handled = Traitées
reports-closed = Fermées
reports-abandoned = Abandonnées
reports-first-response = Première réponse p50
reports-handle-time = Durée de traitement p50
reports-wait = Attente p50
reports-p90 = p90
reports-csat = Satisfaction
reports-total = Total
reports-deflections = Appels déviés par parcours et mode de saisie
reports-flow = Parcours
reports-input = Saisie
reports-deflections-count = Déviés
reports-answered = Répondus
reports-input-method = { $method ->
    [dtmf] clavier
    [speech] voix
    [caller_number] numéro de l'appelant
   *[other] { $method }
}
reports-volume = Conversations entrantes
    .alt = Conversations entrantes sur la période, par heure ou par jour
reports-wait-chart = Temps d'attente avant la prise en charge par un agent
    .alt = Conversations fermées sur la période selon leur temps d'attente d'un agent
reports-note = Les percentiles sont lus dans des tranches de temps : à 5 s près sous une minute, à 30 s près sous 10 minutes, à 5 minutes près sous une heure. Les appels par résultat ne figurent pas encore dans les rapports.

## inbox-contact.js: the contact panel beside a conversation

contact-label = Contact
contact-show = Contact ‹
    .title = Afficher le panneau du contact
contact-hide = Contact ›
    .title = Masquer le panneau du contact
contact-failed = Le contact n'a pas pu être chargé : { $error }
contact-nothing = Aucune information.
contact-profile = Profil
contact-name = Nom
contact-phone = { $whatsapp ->
    [yes] Téléphone (WhatsApp)
   *[other] Téléphone
}
contact-form-phone = Saisi dans un formulaire
contact-language = Langue
contact-whatsapp = WhatsApp
contact-visitor = Visiteur du widget
contact-visitor-on = sur { $site } depuis { $time }
contact-since = Connu depuis
contact-labels = Étiquettes
contact-new-label = Nouvelle étiquette
    .placeholder = ajouter une étiquette
contact-add = Ajouter
contact-label-added = Étiquette { $label } ajoutée
contact-label-removed = Étiquette { $label } retirée
contact-remove-label = Retirer l'étiquette { $label }
    .title = Retirer
contact-no-labels = Aucune étiquette.
contact-previous = Autres conversations
contact-previous-none = Aucune que vous pouvez voir.
contact-attributes = Attributs
contact-site = Site du widget
contact-page = Page
contact-came-from = Provenance
contact-call = Appel
contact-not-call = Pas un appel dévié.
contact-flow = Parcours
contact-input = Saisie
contact-input-method = { $method ->
    [dtmf] tapé sur le clavier
    [speech] dit à voix haute
    [caller_number] le numéro appelant
   *[other] { $method }
}
contact-transcript = { $method ->
    [speech] Mots
   *[other] Chiffres
}
contact-ivr-time = Temps dans le SVI
contact-caller = Appelant
contact-dialled = Numéro composé
contact-called = Heure de l'appel

phone-label = Téléphone
phone-open = Ouvrir la conversation
phone-answer = Répondre
phone-decline = Refuser
phone-mute = Couper le micro
phone-hold = Mettre en attente
phone-hangup = Raccrocher
phone-keypad = Clavier
phone-from = { $caller } · file { $queue } · { $channel }
phone-unknown-caller = Appelant inconnu
phone-ringing = Appel entrant
phone-connecting = Connexion…
phone-on = En ligne { $time }
phone-held = En attente { $time }
phone-connected = Appel connecté
phone-ended = Appel terminé
phone-failed = Impossible de répondre à l'appel : { $error }
phone-to = À { $caller } · { $channel }
phone-calling = Appel en cours…
phone-call-failed = Impossible de passer l'appel : { $error }
phone-ended-why = Appel terminé : { $reason }
