# deflect inbox — Español. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] esperando al cliente
    [queued] en cola
    [offered] ofrecida
    [assigned] asignada
    [bot] con el bot
    [relay] reenviada al WhatsApp de un agente
    [closed] cerrada
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Chat web
    [sms] SMS
   *[other] { $channel }
}
role = { $role ->
    [agent] agente
    [supervisor] supervisor
    [admin] administrador
   *[other] { $role }
}
presence = { $presence ->
    [available] disponible
    [away] ausente
    [offline] desconectado
   *[other] { $presence }
}
kind = { $kind ->
    [text] texto
    [image] imagen
    [audio] audio
    [video] vídeo
    [document] documento
    [sticker] sticker
    [location] ubicación
    [contacts] tarjeta de contacto
    [interactive] botones
    [template] plantilla
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
any = cualquiera
never = nunca

## login, title

page-title = Bandeja de deflect
tab-title = { $n ->
    [0] Bandeja de deflect
   *[other] ({ $n }) Bandeja de deflect
}
login-heading = Bandeja de deflect
login-username = Usuario
login-password = Contraseña
login-submit = Iniciar sesión

## header

nav-label = Vistas
nav-mine = Mis conversaciones
nav-queue = Cola
nav-waiting = Esperando al cliente
    .title = Llamadas desviadas y traspasos cuyo cliente aún no ha escrito
nav-all = Todas las conversaciones
nav-board = Panel
nav-settings = Ajustes
nav-reports = Informes
nav-count-title = { $conversations ->
    [one] { $conversations } conversación
   *[other] { $conversations } conversaciones
}, { $unread ->
    [one] { $unread } mensaje sin leer
   *[other] { $unread } mensajes sin leer
}
notify-enable = Activar notificaciones
    .title = Mostrar una notificación de escritorio para ofertas y mensajes de clientes mientras la bandeja está en segundo plano
sound-on = Sonido activado
sound-off = Sonido desactivado
auto-accept = Aceptar automáticamente
    .title = Aceptar cada oferta al instante, sin pulsar Aceptar
auto-accept-on = Las ofertas se aceptan al instante
auto-accept-off = Las ofertas esperan a que las aceptes
presence-label = Estado
presence-available = Disponible
presence-away = Ausente
presence-offline = Desconectado
presence-changed = Estado: { presence }
me = { $name } ({ role })
language-label = Idioma
language-auto = Idioma del navegador
logout = Cerrar sesión

## side

side-label = Conversaciones
offers-label = Ofertas para ti
search-label = Buscar conversaciones
search-input =
    .placeholder = Buscar: nombre, número, referencia, texto
search-submit = Buscar
search-clear = Borrar
sort-label = Ordenar
sort-newest = Más recientes
sort-waiting = Mayor espera
filter-from = Desde
filter-to = Hasta
filter-status = Estado
filter-channel = Canal
filter-queue = Cola
filter-agent = Agente
filter-label = Etiqueta
filter-search = Buscar
    .placeholder = nombre, número, referencia, texto
filter-submit = Filtrar
filter-export = Exportar CSV
list-label = Conversaciones
list-more = Cargar más
list-count = { $n ->
    [one] { $n } conversación
   *[other] { $n } conversaciones
}
list-count-more = { $n }+ conversaciones
list-results = Resultados para «{ $q }»: { $n ->
    [one] { $n } conversación
   *[other] { $n } conversaciones
}
list-results-more = Resultados para «{ $q }»: { $n }+ conversaciones

## row

visitor = Visitante { $reference }
channel-where = { channel } · { $where }
origin-call = Desde una llamada
origin-api = Desde la API
origin-relay = Reenviada al WhatsApp de un agente
row-waiting-for-you = te espera
    .title = El cliente espera tu respuesta
row-wait =
    .title = Tiempo que el cliente lleva esperando una respuesta
row-unread =
    .title = { $n } sin leer
preview-pending = Esperando el primer mensaje del cliente
preview-you = Tú: { $text }
preview-agent = { $name }: { $text }
preview-bot = Bot: { $text }
preview-automatic = Automático: { $text }

## events

offer-announce = Nueva conversación ofrecida: { $name }
offer-notify = Nueva conversación ofrecida
customer-waiting-announce = Un cliente espera tu respuesta: { $name }
customer-typing = El cliente está escribiendo…

## offer card

offer-label = Oferta: { $name }
offer-title = Nueva conversación: { $name }
offer-countdown =
    .title = Tiempo restante para responder a la oferta
offer-accept = Aceptar (A)
offer-reject = Rechazar (X)
offer-accepted = Aceptada
offer-rejected = Rechazada

## conversation

messages-label = Mensajes
back-label = Volver a las conversaciones
empty = Elige una conversación.
note-toggle = Nota interna
canned-label = Respuesta predefinida
buttons-add = Añadir botones
template-add = Plantilla…
attach = Adjuntar archivos
    .title = Adjuntar archivos (o soltarlos sobre la conversación)
chosen-label = Archivos para enviar
reply-label = Respuesta
send = Enviar
board-label = Panel
settings-label = Ajustes
reports-label = Informes

## composer extras

template-legend = Enviar una plantilla de WhatsApp aprobada
template-search = Buscar por nombre
template-choice = Plantilla
template-preview-label = Vista previa: el texto exacto que recibe el cliente
template-send = Enviar plantilla
template-cancel = Cancelar
buttons-legend = Botones bajo el mensaje (la respuesta es su texto)
buttons-kind = Tipo
buttons-kind-button = Botones de respuesta (hasta 3)
buttons-kind-list = Lista (hasta 10 filas)
buttons-kind-link = Botón de enlace
buttons-kind-call = Botón de llamada de WhatsApp
buttons-kind-permission = Pedir permiso para llamar
button-title = Título del botón { $n }
list-button-text = Texto del botón de la lista
    .placeholder = Elegir
list-section = Título de la sección
    .placeholder = Opciones
list-rows = Filas de la lista, una por línea: título, o título | descripción
link-text = Texto del botón de enlace
link-url = URL del enlace
call-text = Texto del botón de llamada
    .placeholder = Llamar ahora
buttons-remove = Quitar botones

## message

note-by = Nota de { $name }
relay-from = { $name } desde su WhatsApp (reenvío)
relay-to = Al WhatsApp del agente (reenvío)
sender-customer = Cliente
sender-bot = Bot
sender-automation = Automatización
sender-agent = Agente
reply-chosen =
    .title = Id de respuesta: { $id }
reply-chosen-sr = (id de respuesta { $id })
offered-buttons = Botones de respuesta
offered-list-section = Sección de lista { $title }
offered-link = Botón de enlace
offered-call = Botón de llamada de WhatsApp
offered-permission = Permiso para llamar
permission-accepted = Llamadas permitidas
permission-accepted-until = Llamadas permitidas hasta { $until }
permission-rejected = Llamadas rechazadas

## delivery

delivery = { $status ->
    [queued] en cola
    [sent] enviado
    [delivered] entregado
    [read] leído
    [failed] fallido
   *[other] { $status }
}
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = No entregado{ delivery-code }: el último mensaje del cliente tiene más de 24 horas, así que WhatsApp solo admite ahora una plantilla aprobada.
failed-window-action = Enviar una plantilla
failed-unreachable = No entregado{ delivery-code }: este número no está disponible en WhatsApp.
failed-reason = No entregado{ delivery-code }: { $reason }.
failed-refused = No entregado{ delivery-code }: el proveedor lo rechazó.
queued-rate-limited = WhatsApp pidió enviar más despacio{ delivery-code }; se volverá a enviar en breve.
queued-retry-reason = Aún no enviado{ delivery-code }: { $reason }; se reintentará.
queued-retry = Aún no enviado{ delivery-code }: el proveedor no lo aceptó; se reintentará.

## files

file-downloading = Descargando ({ kind })…
file-downloading-retry = Descargando ({ kind })… (reintentando: { $error })
file-failed = No se pudo descargar ({ kind }): { $error }
file-failed-unknown = No se pudo descargar ({ kind }): motivo desconocido
file-open =
    .title = Abrir a tamaño completo
file-sticker = Sticker
file-picture = Imagen
map-link = Ver en el mapa
file-remove = Quitar { $name }
    .title = Quitar

## call

call-heading = Llamada desviada
call-caller = Llamante
call-dialled = Número marcado
call-callback = Número de devolución
call-wait = Espera
call-input = Entrada
call-input-method = { $method ->
    [caller_number] el número desde el que llamó
    [dtmf] teclado
    [speech] voz
   *[other] { $method }
}
call-time = Llamada
call-transcript = Transcripción
call-path = Recorrido
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] abierto
    [closed] cerrado
    [confirmed] confirmado
    [reenter] introducido de nuevo
    [failed] fallido
   *[other] { $exit }
}
call-exit-retry = reintento { $n }
call-exit-skipped = { $n ->
    [one] { $n } paso omitido
   *[other] { $n } pasos omitidos
}

## head

form-phone = { $phone } (escrito en un formulario: { $form })
csat = Valoración { $score }/5
    .title = Satisfacción del cliente, de 1 (mala) a 5 (buena)
csat-comment = Valoración { $score }/5: «{ $comment }»
action-accept = Aceptar
action-reject = Rechazar
action-claim = Atender
action-call = Llamar
action-take-over = Tomar el control del bot
taken-over = Control tomado del bot
transfer-to = Transferir a
transfer-agents = Agentes
transfer-queues = Colas
transfer-agent = { $name } ({ presence })
transfer-available = Agentes disponibles
transfer-away = Agentes ausentes o desconectados
transfer-option = { $name } · { presence }
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
transfer-note = Nota para el siguiente agente (opcional)
    .placeholder = Nota (opcional)
transfer-confirm = { $back ->
    [you] { $name } está { presence }: la oferta le espera y vuelve a ti si no la acepta a tiempo. ¿Transferir de todos modos?
   *[other] { $name } está { presence }: la oferta le espera y vuelve al agente de la conversación si no la acepta a tiempo. ¿Transferir de todos modos?
}
action-transfer = Transferir
transferred = Transferida
disposition = Tipificación
disposition-choose = Tipificación…
disposition-none = Sin tipificación
action-close = Cerrar
closed-announce = Cerrada
action-transcript = Transcripción
window-note = El último mensaje del cliente tiene más de 24 horas (o aún no hay ninguno), así que WhatsApp solo admite una plantilla aprobada, no texto libre. Envía una plantilla; podrás escribir libremente cuando responda.
window-choose-template = Elegir una plantilla
window-recontact = Enviar plantilla de recontacto
template-sent = Plantilla enviada
unreachable-note = Este número no está disponible en WhatsApp (el proveedor indicó que no puede entregarle mensajes), así que no se pueden enviar mensajes; las notas internas sí. Contacta con el cliente por otra vía.

## templates

templates-loading = Cargando plantillas…
templates-stale = La última descarga desde WhatsApp falló ({ $error }); esta es la lista del { $time }.
templates-stale-never = La última descarga desde WhatsApp falló ({ $error }); nunca se ha descargado una lista.
templates-count = { $n ->
    [one] { $n } plantilla.
   *[other] { $n } plantillas.
}
templates-none = Ninguna plantilla aprobada coincide (la lista de la cuenta se obtiene de WhatsApp; un supervisor puede actualizarla).
template-header = Encabezado { $placeholder }
template-header-media = URL de { $format } del encabezado (https)
template-parameter = Parámetro { $placeholder }
template-button-url = Variable de URL del botón «{ $text }»
template-choose-first = Primero elige una plantilla.

## composer errors

note-no-buttons = Una nota interna no puede tener botones: quítalos o desmarca Nota interna.
note-no-files = Una nota interna no puede llevar archivos: quítalos o desmarca Nota interna.
buttons-no-files = Un mensaje con botones no puede llevar archivos: envía primero los archivos o quita los botones.

## board

board-queues = Colas
board-queue = Cola
board-waiting = En espera
board-oldest = Espera más larga
board-offered = Ofrecidas
board-with-agents = Con agentes
board-awaiting-reply = Esperando respuesta
board-agents = Agentes
board-agent = Agente
board-role = Rol
board-presence = Estado
board-load = Carga
board-agent-queues = Colas
board-updated = Actualizado { $time }

## admin

admin-canned = Respuestas predefinidas
admin-title = Título
admin-account = Cuenta
admin-text = Texto
admin-canned-text = Texto ({ $placeholders })
admin-all = todas
admin-delete = Eliminar
admin-add = Añadir
admin-agents = Agentes
admin-username = Usuario
admin-name = Nombre
admin-role = Rol
admin-queues = Colas
admin-accounts = Cuentas
admin-whatsapp-accounts = Cuentas de WhatsApp
admin-role-of = Rol de { $username }
admin-queues-of = Colas de { $username }
admin-accounts-of = Cuentas de { $username }
admin-save-queues = Guardar colas y cuentas
admin-no-account = Sin cuenta: no ve conversaciones de WhatsApp
admin-enable = Activar
admin-disable = Desactivar
admin-password = Contraseña (8+)
admin-add-agent = Añadir agente
admin-tick-account = Marca al menos una cuenta de WhatsApp: un agente sin cuenta no ve conversaciones.
admin-tokens = Tokens de API
admin-acts-as = Actúa como
admin-created = Creado
admin-last-used = Último uso
admin-revoked = revocado
admin-revoke = Revocar
admin-create-token = Crear token
admin-new-token = Nuevo token (se muestra una sola vez; envíalo como Authorization: Bearer …): { $secret }
admin-reset-password = Restablecer contraseña
admin-set-password = Establecer contraseña
admin-new-password = Nueva contraseña para { $username }
admin-password-changed = Contraseña de { $username } cambiada

## lists

admin-every-account = todas las cuentas
admin-source = Origen
admin-source-config = configuración ({ $key })
admin-source-here = añadido aquí
admin-whitelist = Lista de permitidos
admin-whitelist-help = Números que pueden iniciar una conversación escribiendo. Una cuenta sin entradas (aquí o para todas las cuentas) acepta a todos; su primera entrada la limita a los números de la lista.
admin-whitelist-empty = Sin entradas: cualquier número puede escribir.
admin-pattern = Número o prefijo
    .placeholder = +34612345678 o +3491*
admin-delete-pattern = Eliminar { $pattern } de { $scope }
admin-whitelist-add = Añadir a la lista de permitidos
admin-faq = Preguntas frecuentes
admin-faq-help = Preguntas que responde el bot de FAQ (bot = "faq"); un mensaje del cliente que encaje bien con una pregunta recibe su respuesta.
admin-faq-empty = Aún no hay preguntas.
admin-question = Pregunta
admin-answer = Respuesta
admin-faq-answer = Respuesta ({ $placeholders })
admin-language = Idioma
admin-faq-add = Añadir pregunta
admin-faq-save = Guardar pregunta
admin-faq-cancel = Cancelar edición
admin-edit = Editar
admin-edit-canned = Editar respuesta predefinida: { $title }
admin-edit-question = Editar: { $question }
admin-delete-question = Eliminar: { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automatizaciones, textos del widget y colas
settings-help = Los cambios se aplican al momento, sin reiniciar. Las claves que fija el archivo de configuración se cambian allí.
settings-change = Cambiar
settings-texts-in = Textos en
settings-site-language = el idioma propio del sitio
settings-what = Qué cambiar
settings-scope = { $kind ->
    [inbox] Bandeja de entrada (todas las conversaciones)
    [account] Cuenta de WhatsApp { $name }
    [site] Sitio del widget { $name }
    [flow] Flujo IVR { $name }
    [queue] Cola { $name }
   *[other] { $kind } { $name }
}
settings-of = Ajustes de { settings-scope }
settings-saved = Guardado: { settings-scope }
settings-last-changed = Último cambio: { $time }
settings-source-file = fijado en el archivo de configuración ({ $key })
settings-source-here = cambiado aquí
settings-source-default = predeterminado
settings-reset = Restablecer
settings-reset-label = Restablecer { $label }
settings-save = Guardar
settings-reset-all = Restablecer todo a la configuración
setting-welcome-message = Mensaje de bienvenida
setting-whitelist-reply = Respuesta a números que no están en la lista de permitidos
setting-closed-message = Mensaje fuera del horario de atención
setting-queue-message = Mensaje con la posición en la cola ({ $placeholders })
setting-reminder-after = Recordar al agente tras (0s: desactivado)
setting-reminder-message = Recordatorio al cliente
setting-reoffer-after = Ofrecer a otro agente tras (0s: desactivado)
setting-inactivity-message = Mensaje al cerrarse un chat inactivo
setting-csat = Preguntar qué tal fue tras cerrar
setting-csat-question = Pregunta de la encuesta
setting-csat-follow-up = Respuesta tras la puntuación
setting-title = Título del widget
setting-greeting = Saludo
setting-site-closed-message = Mensaje de cerrado
setting-escalation-timeout = Ofrecer WhatsApp tras
setting-ask-name = Pedir el nombre
setting-ask-phone = Pedir el número de teléfono
setting-offer-timeout = Ofrecer a un agente durante
setting-wait-timeout = Alternativa tras esperar
setting-fallback = Alternativa
setting-fallback-queue = Cola alternativa
setting-auto-reply = Texto de la respuesta automática
setting-disposition-required = Tipificación obligatoria al cerrar
setting-dispositions = Tipificaciones (separadas por comas)
setting-sla-warning = Espera marcada como tardía tras
setting-sla-breach = Espera marcada como vencida tras
setting-choice = { $value ->
    [required] obligatorio
    [optional] opcional
    [off] desactivado
    [wait] seguir esperando
    [queue] otra cola
    [auto_reply] respuesta automática
    [close] cerrar
   *[other] { $value }
}
setting-none = ninguna
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Los eventos se envían por POST como JSON firmado (X-Deflect-Signature) a estos endpoints; se reintentan con esperas crecientes. Los endpoints del archivo de configuración se cambian allí.
webhooks-none = No hay endpoints: no se envía ningún evento.
webhooks-all-events = todos los eventos
webhooks-source-config = archivo de configuración ({ $key })
webhooks-source-here = añadido aquí
webhooks-col-name = Nombre
webhooks-col-url = URL
webhooks-col-events = Eventos
webhooks-col-enabled = Activo
webhooks-col-source = Origen
webhooks-enabled = { $enabled ->
    [yes] sí
   *[other] no
}
webhooks-events = Eventos (ninguno marcado: todos)
webhooks-name = Nombre (a-z, 0-9, - y _)
webhooks-url = URL
webhooks-secret = Secreto de firma (16 caracteres o más)
webhooks-secret-kept = definido; déjalo vacío para conservarlo
webhooks-attempts = Intentos
webhooks-timeout = Tiempo de espera (segundos)
webhooks-add = Añadir endpoint
webhooks-save = Guardar { $name }
webhooks-cancel = Cancelar edición
webhooks-edit = Editar
webhooks-enable = Activar
webhooks-disable = Desactivar
webhooks-delete = Eliminar
webhooks-edit-label = Editar el webhook { $name }
webhooks-enable-label = Activar el webhook { $name }
webhooks-disable-label = Desactivar el webhook { $name }
webhooks-delete-label = Eliminar el webhook { $name } (se descartan los envíos que aún lo esperan)

## keys

keys-next = Conversación siguiente
keys-previous = Conversación anterior
keys-accept = Aceptar la oferta
keys-reject = Rechazar la oferta
keys-close = Cerrar la conversación
keys-transfer = Transferir: elegir a quién
keys-note = Activar o desactivar nota interna
keys-reply = Escribir una respuesta
keys-search = Buscar conversaciones
keys-help = Mostrar estos atajos
keys-title = Atajos de teclado
keys-key = Tecla
keys-does = Acción
keys-hint = En un campo de texto, mantén Alt con la tecla. En el cuadro de respuesta, escribe / y unas letras para insertar una respuesta predefinida; Ctrl+Intro envía.
keys-close-help = Cerrar
note-on = Nota interna
note-off = Mensaje al cliente
disposition-first = Elige una tipificación y luego Cerrar
canned-suggest = Respuestas predefinidas

## inbox-reports.js: the reports view (supervisors)

reports-heading = Informes
reports-period = Periodo
reports-today = Hoy
reports-week = Últimos 7 días
reports-custom = Personalizado
reports-from = Desde
reports-to = Hasta
reports-queues = Colas
reports-queue = Cola
reports-agents = Agentes (cuenta para el agente que tenía la conversación cuando se cerró)
reports-agent = Agente
reports-in = Entrantes
reports-handled = Atendidas
reports-closed = Cerradas
reports-abandoned = Abandonadas
reports-first-response = Primera respuesta p50
reports-handle-time = Tiempo de gestión p50
reports-wait = Espera p50
reports-p90 = p90
reports-csat = Satisfacción
reports-total = Total
reports-deflections = Llamadas desviadas por flujo y método de entrada
reports-flow = Flujo
reports-input = Entrada
reports-deflections-count = Desviadas
reports-answered = Respondidas
reports-input-method = { $method ->
    [dtmf] teclado
    [speech] voz
    [caller_number] número del llamante
   *[other] { $method }
}
reports-volume = Conversaciones entrantes
    .alt = Conversaciones entrantes en el periodo, por hora o por día
reports-wait-chart = Tiempo de espera hasta que un agente la tomó
    .alt = Conversaciones cerradas en el periodo según cuánto esperaron a un agente
reports-note = Los percentiles se leen de intervalos de tiempo: con precisión de 5 s por debajo de un minuto, de 30 s por debajo de 10 minutos y de 5 minutos por debajo de una hora. Las llamadas por resultado aún no se incluyen.

## inbox-contact.js: the contact panel beside a conversation

contact-label = Contacto
contact-show = Contacto ‹
    .title = Mostrar el panel de contacto
contact-hide = Contacto ›
    .title = Ocultar el panel de contacto
contact-failed = No se pudo cargar el contacto: { $error }
contact-nothing = Sin datos.
contact-profile = Perfil
contact-name = Nombre
contact-phone = { $whatsapp ->
    [yes] Teléfono (WhatsApp)
   *[other] Teléfono
}
contact-form-phone = Indicado en un formulario
contact-language = Idioma
contact-whatsapp = WhatsApp
contact-visitor = Visitante del widget
contact-visitor-on = en { $site } desde { $time }
contact-since = Conocido desde
contact-labels = Etiquetas
contact-new-label = Nueva etiqueta
    .placeholder = añadir una etiqueta
contact-add = Añadir
contact-label-added = Etiqueta { $label } añadida
contact-label-removed = Etiqueta { $label } quitada
contact-remove-label = Quitar la etiqueta { $label }
    .title = Quitar
contact-no-labels = Sin etiquetas.
contact-previous = Otras conversaciones
contact-previous-none = Ninguna que puedas ver.
contact-attributes = Atributos
contact-site = Sitio del widget
contact-page = Página
contact-came-from = Procedencia
contact-call = Llamada
contact-not-call = No es una llamada desviada.
contact-flow = Flujo
contact-input = Entrada
contact-input-method = { $method ->
    [dtmf] marcado en el teclado
    [speech] dicho de viva voz
    [caller_number] el número desde el que llamó
   *[other] { $method }
}
contact-transcript = { $method ->
    [speech] Palabras
   *[other] Dígitos
}
contact-ivr-time = Tiempo en el IVR
contact-caller = Llamante
contact-dialled = Número marcado
contact-called = Hora de la llamada

phone-label = Teléfono
phone-open = Abrir conversación
phone-answer = Contestar
phone-decline = Rechazar
phone-mute = Silenciar
phone-hold = En espera
phone-hangup = Colgar
phone-keypad = Teclado
phone-from = { $caller } · cola { $queue } · { $channel }
phone-unknown-caller = Llamante desconocido
phone-ringing = Llamada entrante
phone-connecting = Conectando…
phone-on = En llamada { $time }
phone-held = En espera { $time }
phone-connected = Llamada conectada
phone-ended = Llamada finalizada
phone-failed = No se pudo contestar la llamada: { $error }
phone-to = Para { $caller } · { $channel }
phone-calling = Llamando…
phone-call-failed = No se pudo realizar la llamada: { $error }
phone-ended-why = Llamada finalizada: { $reason }
