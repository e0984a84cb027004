# deflect chat widget — Español. Ids and variables as in en/widget.ftl.

## shared

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
message-placeholder = ({ kind })
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB

## button

button-label = Chatea con nosotros

## window

chat-title = Chat
chat-close = Cerrar el chat
messages-label = Mensajes
message-input = Tu mensaje
    .placeholder = Escribe un mensaje…
send = Enviar
attach = Enviar una imagen o un documento
whatsapp-continue = Continuar en WhatsApp

## form

form-name = Tu nombre
form-name-optional = Tu nombre (opcional)
form-phone = Número de teléfono, con prefijo del país
form-phone-optional = Número de teléfono, con prefijo del país (opcional)
form-start = Iniciar chat
form-fill-in = { $field ->
    [name] Escribe tu nombre.
    [phone] Escribe tu número de teléfono.
   *[other] Rellena { $field }.
}

## bubbles

sr-you = Tú:
sr-agent = Agente:
sr-bot = Asistente:

## status

reconnecting = Reconectando…
agent-joined = Un agente se ha unido al chat.
waiting-for-agent = Esperando a un agente…
continued-on-whatsapp = Esta conversación continúa en WhatsApp.
continued-on-whatsapp-status = Continúa en WhatsApp — puedes cerrar esta ventana.
agent-typing = El agente está escribiendo…
answers-label = Respuestas

## end

ended = La conversación ha terminado.
new-chat = Iniciar un chat nuevo
rate-label = Valora esta conversación
thanks = ¡Gracias!

## whatsapp

whatsapp-chosen = Continúa este chat en WhatsApp:
whatsapp-no-agent = Ahora mismo no hay ningún agente libre. Continúa este chat en WhatsApp — tus mensajes te acompañan:
whatsapp-qr = Código QR que abre WhatsApp con tu referencia { $code }
whatsapp-open = Abrir WhatsApp
whatsapp-reference = Referencia { $code }
whatsapp-announce-closed = Ahora mismo estamos cerrados. Puedes continuar en WhatsApp con la referencia { $code }.
whatsapp-announce-no-agent = Aún no hay ningún agente. Puedes continuar en WhatsApp con la referencia { $code }.

## call

call-start = Llámanos
call-label = Llamada
call-keypad = Teclado
call-mute = Silenciar
call-hangup = Colgar
call-connecting = Llamando…
call-on = En llamada { $time }
call-connected = La llamada está conectada.
call-ended = Llamada finalizada
call-failed = No se pudo realizar la llamada: { $error }

## files

file-download-failed = No se pudo descargar el archivo: { $error }
file-not-loaded = (no se pudo cargar { $name })
file-sticker = Sticker
chat-unavailable = El chat no está disponible: { $error }

## continue

continue-title = Continúe su conversación
continue-intro = No pudimos contactarle por WhatsApp. Su referencia es { $reference }.
continue-here = Continuar aquí
continue-whatsapp = Continuar en WhatsApp
continue-expired = Este enlace ha caducado o no es válido. Responda a nuestro mensaje o vuelva a llamarnos.
continue-ended = Esta conversación ha terminado.
continue-unavailable = Esta página no está disponible; responda a nuestro mensaje o vuelva a llamarnos.
continue-later = Esta página no está disponible ahora; inténtelo de nuevo en un minuto.
